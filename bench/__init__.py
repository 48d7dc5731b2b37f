"""Benchmarks of vastplan against the built-in Vast.ai sandbox; ``python -m bench`` runs them."""
