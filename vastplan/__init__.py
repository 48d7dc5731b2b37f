"""vastplan: desired-state plan/apply/destroy for Vast.ai GPU rentals."""

__version__ = "0.1.0"
