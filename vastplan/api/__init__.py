"""The Vast.ai API: one client, its errors, and the key it carries."""
