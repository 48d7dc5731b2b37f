"""The editable part of an account (``vastai set user``): names, billing address, thresholds.

Only the fields the CLI documents may be set; an unknown one is refused as Vast.ai does
(``nonexistent_key``), and so is an empty request or a value over ``MAX_LENGTH``. The API key and
password are not editable here.
"""

from __future__ import annotations

from vastsandbox.world import JSON
from vastsandbox.world.errors import Refusal

MAX_LENGTH = 256
FIELDS = frozenset({
    "ssh_key", "paypal_email", "wise_email", "email", "normalized_email", "username", "fullname",
    "billaddress_line1", "billaddress_line2", "billaddress_city", "billaddress_zip", "billaddress_country",
    "billaddress_taxinfo", "balance_threshold_enabled", "balance_threshold", "autobill_threshold",
    "phone_number",
})


def update(user: dict[str, JSON], changes: dict[str, JSON]) -> dict[str, JSON]:
    """Apply ``changes`` to the user's profile; all are checked before any is applied."""
    if not changes:
        raise Refusal(400, "missing_input", "No user fields given.")
    unknown = sorted(set(changes) - FIELDS)
    if unknown:
        raise Refusal(400, "nonexistent_key", f"Unknown user field(s): {', '.join(unknown)}.")
    for name, value in changes.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Refusal(400, "empty_input", f"{name} is empty.")
        if not isinstance(value, (str, int, float, bool)):
            raise Refusal(400, "invalid_characters", f"{name} must be text, a number or true/false.")
        if len(str(value)) > MAX_LENGTH:
            raise Refusal(400, "input_too_long", f"{name} is longer than {MAX_LENGTH} characters.")
    profile = dict(user.get("profile") or {})
    profile.update(changes)
    user["profile"] = profile
    return profile
