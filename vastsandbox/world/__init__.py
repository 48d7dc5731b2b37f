"""The emulated Vast.ai account and marketplace: state, rules, billing, market, lifecycle.

Nothing here knows HTTP: a rule that says no raises :class:`vastsandbox.world.errors.Refusal`, and
the HTTP layer (``vastsandbox.http``) turns it into Vast.ai's error body.
"""

from typing import Any

JSON = Any
"""A decoded JSON value (records stay plain dicts, shaped close to the wire)."""
