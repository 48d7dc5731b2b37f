"""The plan: the change model, the diff that makes it, targeting, the budget, outputs and saved plan files."""
