"""Carrying out a plan: the executor walks the dependency graph (``dag``) and reports an outcome."""
