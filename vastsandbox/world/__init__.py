"""The emulated Vast.ai account and marketplace: state, rules, billing, market, lifecycle. No HTTP here."""
