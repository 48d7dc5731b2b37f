"""What vastplan made, by address: the state model and file, and the lock that guards it."""
