"""The sandbox's one error: a refusal the HTTP layer turns into a Vast.ai error body.

The world (what the marketplace does) must not depend on the HTTP layer, so every rule that says no
raises ``Refusal`` with the status, error code and message Vast.ai answers with; the route modules
raise it too, and ``vastsandbox.http.router.error_body`` is the one place it becomes a wire body.
"""

from __future__ import annotations

from vastsandbox.world import JSON


class Refusal(Exception):
    """The world says no: ``status`` and ``error`` as Vast.ai answers, ``msg`` for the user, and any
    ``extra`` fields the body carries (``ask_id``)."""

    def __init__(self, status: int, error: str, msg: str, **extra: JSON) -> None:
        super().__init__(f"{status} {error}: {msg}")
        self.status = status
        self.error = error
        self.msg = msg
        self.extra = extra
