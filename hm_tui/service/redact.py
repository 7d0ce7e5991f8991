"""Keep secrets out of logs, exceptions and screens.

Two layers: every secret the process knows (client secret, webhook secret, each access token) is
registered here and replaced wherever it appears; patterns catch what was never registered
(a `Bearer ...` header, a JWT, `client_secret=...` in a body).

`shown` is what every output uses for text from outside (tables, CSV, toasts, the clipboard):
the text made inert first and redacted after, so a secret echoed back with an invisible
character or an escape sequence inside is still recognised and masked.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from typing import Any

from hm_tui.domain.inert import cut, inert, loose

MASK = "[redacted]"
# A token lives 300 s; keep the last few so a late log line about an old one is still masked.
_MAX_REMEMBERED = 64
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

# Words one of the patterns below needs: text without any of them skips the patterns (the fast
# path; a case-insensitive regex alternation is 20 times slower than these substring tests).
_HINTS = ("bearer", "secret", "token", "assertion", "private", "authori")
_PATTERNS = (
    re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    re.compile(
        r"(?i)((?:client_secret|access_token|client_assertion|webhook_secret|private_key|"
        r"authorization)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
    ),
)

_lock = threading.Lock()
_secrets: deque[str] = deque(maxlen=_MAX_REMEMBERED)
_known: tuple[str, ...] = ()  # the secrets, longest first (a snapshot: read without the lock)
#: Runs of this many characters of a known secret are masked in text that carried invisible
#: characters or escape sequences (one placed inside a secret may eat a character of it).
FRAGMENT = 8
_fragments: frozenset[str] = frozenset()


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact` masks it everywhere from now on."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    global _known, _fragments
    with _lock:
        if value not in _secrets:
            _secrets.append(value)
            _known = tuple(sorted(_secrets, key=len, reverse=True))
            _fragments = frozenset(
                s[at : at + FRAGMENT] for s in _secrets for at in range(len(s) - FRAGMENT + 1)
            )


def redact(text: str, *, patterns: bool = True) -> str:
    """`text` with every registered secret and (unless `patterns` is False: text we composed
    ourselves, such as `client_secret = (set, hidden)`) every secret-looking pattern masked."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    if not patterns or not _may_hold_secret(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(_mask_match, text)
    return text


def _may_hold_secret(text: str) -> bool:
    if "eyJ" in text:  # a JWT
        return True
    lower = text.lower()
    return any(hint in lower for hint in _HINTS)


def plainly_clean(text: str) -> bool:
    """True when `redact(text)` is certainly `text` itself: no known secret in it and none of
    the words the patterns need. Meant for a large text (a fleet's CSV or JSON a chunk at a
    time, each item of which would otherwise be redacted on its own); False says only that a
    closer look is needed."""
    return not any(secret in text for secret in _known) and not _may_hold_secret(text)


def shown(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """Text from outside as it may be shown anywhere: made inert, then redacted, then cut to
    `limit` characters (cutting last, so no part of a secret survives a cut)."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    safe = redact(inert(text, multiline=multiline))
    if not text.isprintable():  # a secret split by a control or an escape sequence?
        hidden = redact(loose(text))
        if hidden.count(MASK) > safe.count(MASK):
            safe = hidden  # (no control left in it; a sequence's parameters may show)
        safe = _mask_fragments(safe)
    return cut(safe, limit)


def _mask_fragments(text: str) -> str:
    """`text` with every run of `FRAGMENT`+ characters of a known secret masked: what is left
    of a secret once a sequence inside it took a character along."""
    fragments = _fragments
    if not fragments or len(text) < FRAGMENT:
        return text
    hidden = [False] * len(text)
    for at in range(len(text) - FRAGMENT + 1):
        if text[at : at + FRAGMENT] in fragments:
            hidden[at : at + FRAGMENT] = [True] * FRAGMENT
    if not any(hidden):
        return text
    out: list[str] = []
    for at, char in enumerate(text):
        if not hidden[at]:
            out.append(char)
        elif at == 0 or not hidden[at - 1]:
            out.append(MASK)
    return "".join(out)


def unmasked(text: str) -> str:
    """`text` exactly as it is (for JSON, which escapes what a terminal would act on), unless
    some reading of it carries a secret: then its `shown` form, masked."""
    masked = shown(text, multiline=True)
    return text if masked == inert(text, multiline=True) else masked


def masked(data: Any) -> Any:
    """JSON-like `data` with every string (keys too) that carries a secret replaced by its
    masked form, the rest as it is: for values formatted (or cut) before they are shown."""
    if isinstance(data, str):
        return unmasked(data)
    if isinstance(data, dict):
        return {unmasked(str(k)): masked(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [masked(v) for v in data]
    return data


def _mask_match(match: re.Match[str]) -> str:
    prefix = match.group(1) if match.re.groups else ""
    if match.group(0).lower().startswith("bearer"):
        return "Bearer " + MASK
    return f"{prefix}{MASK}"


def mask(value: str | None) -> str:
    """How a secret is shown to a person: whether it is set, never any part of it."""
    return "(set, hidden)" if value else "(not set)"


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = shown(message, multiline=True)  # (it goes to a terminal: inert, then redacted)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are not shown to users; keep only the redacted exception text.
            cleaned = f"{cleaned} ({shown(str(record.exc_info[1]))})"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, None
        return True
