"""The one error tree of vastplan.

    VastplanError                 anything the CLI reports as one clear message, exit code 1
     ├── StackError               the stack file is invalid; carries every Diagnostic found
     │    └── BudgetExceeded       the plan would cost more per hour than the stack allows
     ├── ApiError                 the Vast.ai API (or the path to it) failed; status, code, message, address
     │    └── AuthError           the API rejected or was not given a key (exit 4)
     │         └── MissingKey      no key anywhere vastplan looks; names each place
     ├── StateError               the state file is unreadable, foreign, or cannot be written
     │    └── StateWriteFailed     apply could not record a change; the errored state file has it
     ├── LockError                another process holds the state lock; carries its LockInfo, exit code 3
     ├── PlanStaleError           a saved plan no longer matches the state, stack or account
     ├── ProtectedError           the plan would destroy an object under lifecycle.prevent_destroy
     ├── ApplyError               some changes failed; the state holds what was done
     ├── NotReady                 an instance exists but never became usable (it is recorded as tainted)
     ├── CycleError               a dependency cycle among graph nodes; carries the cycle
     ├── UnreadableFile           a file the user named is no regular file, too large, or unreadable;
     │                            each reader catches it and names the file in its own error
     ├── ConfirmationRequired     apply/destroy without a TTY and without --auto-approve
     │    └── Cancelled            the user did not answer 'yes' (exit 5)
     └── UsageError               a flag or argument that makes no sense

Foreign exceptions (aiohttp, OSError, yaml, json) are translated into this tree at the
boundary that meets them, keeping the original as ``__cause__``. Anything else that escapes is a bug:
the CLI prints it as one ``internal error`` line (exit 1), and its traceback with ``-v``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vastplan.diagnostics import Diagnostic
    from vastplan.state.lock import LockInfo


class VastplanError(Exception):
    """An error the user can act on; printed as one message, never as a traceback."""

    exit_code = 1


class StackError(VastplanError):
    """The stack file has problems; ``diagnostics`` holds all of them, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class ApiError(VastplanError):
    """A failed call to the Vast.ai API.

    ``status`` is the HTTP status (None when no response arrived), ``code`` the API's
    ``error`` field, ``message`` the API's ``msg``, ``address`` the resource being worked on.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str = "",
        path: str = "",
        address: str | None = None,
    ):
        self.message = message
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        self.address = address
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f"{self.address}: " if self.address else ""
        call = f"{self.method} {self.path}".strip()
        status = f"{self.status} " if self.status is not None else ""
        code = f"{self.code}: " if self.code and self.code not in self.message else ""
        return f"{where}{call} failed ({status}{code}{self.message})"

    @property
    def uncertain(self) -> bool:
        """The request may have taken effect: no answer came back, or the server failed mid-way."""
        return self.status is None or self.status >= 500

    def for_address(self, address: str) -> ApiError:
        """The same error, attributed to the resource it happened to."""
        return type(self)(
            self.message,
            status=self.status,
            code=self.code,
            method=self.method,
            path=self.path,
            address=address,
        )


class AuthError(ApiError):
    """The API refused the key, or no key was given."""

    exit_code = 4

    def describe(self) -> str:
        status = f"{self.status} " if self.status is not None else ""
        return (
            f"the Vast.ai API rejected the key ({status}{self.message}). "
            "Set VAST_API_KEY or --api-key-file."
        )


class MissingKey(AuthError):
    """No API key was found: ``looked`` names every place, in the order they are read."""

    def __init__(self, looked: Sequence[str]):
        self.looked = tuple(looked)
        super().__init__("no API key was found")

    def describe(self) -> str:
        return (f"no Vast.ai API key was found (looked at {', '.join(self.looked)}). "
                "Set VAST_API_KEY, pass --api-key-file FILE, or save it with the official CLI: "
                "vastai set api-key KEY")


class StateError(VastplanError):
    """The state file cannot be read, belongs to another stack, or cannot be written."""


class LockError(VastplanError):
    """The state lock is held by another process (``info`` says who, when known), or cannot be freed."""

    exit_code = 3

    def __init__(self, message: str, *, info: LockInfo | None = None):
        self.info = info
        super().__init__(message)


class StateWriteFailed(StateError):
    """Apply could not write the state; ``saved_to`` holds what the state should say, ``advice``
    what to do about it (see ``journal.recovery_advice``)."""

    def __init__(self, cause: StateError, saved_to: str, state: Any, advice: str):
        self.saved_to = saved_to
        made = [f"{addr} (id {e.id})" for addr, e in sorted(state.resources.items()) if e.id is not None]
        super().__init__(
            f"{cause}. The state as it should be was written to {saved_to}; objects in it: "
            f"{', '.join(made) or 'none'}. {advice}"
        )


class PlanStaleError(VastplanError):
    """A saved plan was made against another state, stack file or account."""


class ProtectedError(VastplanError):
    """A plan would destroy an object protected by lifecycle.prevent_destroy."""


class ApplyError(VastplanError):
    """One or more changes failed during apply; what succeeded is saved in state."""


class BudgetExceeded(StackError):
    """The plan costs more per hour than the stack (or one resource) allows; a diagnostic per budget."""


class NotReady(VastplanError):
    """The instance exists but did not become usable."""


class CycleError(VastplanError):
    """A dependency cycle; ``cycle`` lists its nodes, the first repeated at the end."""

    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(cycle))


class UnreadableFile(VastplanError):
    """Why a file cannot be read; ``reason`` completes "FILE ..." (``is a directory, not a file``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConfirmationRequired(VastplanError):
    """apply/destroy needs a 'yes' that cannot be asked for."""


class Cancelled(ConfirmationRequired):
    """Asked for 'yes', got something else: nothing was changed."""

    exit_code = 5


class UsageError(VastplanError):
    """Flags or arguments that do not make sense together."""
