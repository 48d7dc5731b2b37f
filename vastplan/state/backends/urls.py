"""Backend URLs as they may be shown: without the password, which also is scrubbed from the
driver's messages. Text only, so that a malformed URL is redacted too."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^:@/]*):([^@/]*)@")


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db?x`` -> ``postgresql://user@host/db``: shown, never the password
    (nor the query, which may carry ``password=``). Text only, so a malformed URL is redacted too."""
    return _USERINFO.sub(r"\1\2@", url.split("?", 1)[0], count=1)


def password_of(url: str) -> str:
    """The password in ``url`` (userinfo or ``password=``), to scrub from the driver's messages."""
    found = _USERINFO.match(url) or re.search(r"[?&]password=([^&]*)", url)
    if found is None:
        return ""
    return found.group(3) if found.re is _USERINFO else found.group(1)
