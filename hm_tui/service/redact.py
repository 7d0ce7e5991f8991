"""Keep secrets out of logs, exceptions and screens.

Two layers: every secret the process knows (client secret, webhook secret, each access token) is
registered here and replaced wherever it appears, in any case and in the encoded forms an echo
takes (percent-encoded, character references, base64 inside a longer value: `secret_forms`);
patterns catch what was never registered (a `Bearer ...` header, a JWT, `client_secret=...`).

`shown` is what every output uses for text from outside (tables, CSV, toasts, the clipboard):
the text made inert first and redacted after, so a secret echoed back with an invisible
character or an escape sequence inside is still recognised and masked; text that is not plain
ASCII is also read as a person would read it (`secret_forms.skeleton`: a combining mark inside,
fullwidth or look-alike letters), and what reads as a secret there is masked where it stands.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import deque
from typing import Any

from hm_tui.domain.inert import ELLIPSIS, cut, inert, loose
from hm_tui.service.config.secret_forms import encodings, rough_skeleton, skeleton

MASK = "[redacted]"
# Access tokens are short-lived (renewed at least every 5 minutes): the last few are kept so a
# late log line about an old one is still masked. Lasting secrets (client and webhook secrets)
# are never forgotten, however many tokens come after them.
_MAX_TOKENS = 8
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
_lasting: dict[str, None] = {}  # (ordered) the client and webhook secrets
_tokens: deque[str] = deque(maxlen=_MAX_TOKENS)
_forms_of: dict[str, frozenset[str]] = {}  # each remembered secret's forms, computed once
# Snapshots, read without the lock: every form of every secret, lower-cased, longest first; and
# how each secret reads (its skeleton). No regular expression is compiled when a secret is
# registered (an alternation of a token's forms took ~12 ms to compile, and rebuilding one for
# 64 remembered tokens blocked the event loop for over a second at each renewal).
_needles: tuple[str, ...] = ()
_any_prefix = re.compile("(?!)")  # the forms' first characters: one search clears a text
_skeletons: tuple[str, ...] = ()
#: Runs of this many characters of a known secret are masked in text that carried invisible
#: characters or escape sequences (one placed inside a secret may eat a character of it).
FRAGMENT = 8
_SHORT = 4096  # a text longer than this is searched for each form on its own
_fragments: frozenset[str] = frozenset()
_generation = 0  # bumped whenever the set of secrets changes: see `generation`


def register_secret(value: str | None, *, lasting: bool = True) -> None:
    """Remember a secret so that `redact` masks it everywhere from now on. `lasting=False` for
    an access token: only the last few tokens are kept."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _lasting or value in _tokens:
            return
        if lasting:
            _lasting[value] = None
        else:
            _tokens.append(value)
        _rebuild()


def generation() -> int:
    """A number that changes whenever a secret is learnt or forgotten. Text made `shown` and
    kept (a drawn roster row) was redacted with the secrets known then: one drawn before the
    login (the roster cache is shown first) would keep a token the platform echoed, in full,
    until its clearance changed. A cache of shown text keys on this, so it is redrawn."""
    return _generation


def _rebuild() -> None:
    """The snapshots from the secrets known now (call holding the lock)."""
    global _needles, _any_prefix, _skeletons, _fragments, _generation
    _generation += 1
    known = [*_lasting, *_tokens]
    _forms_of.update({s: _forms(s) for s in known if s not in _forms_of})
    for gone in set(_forms_of) - set(known):
        del _forms_of[gone]
    forms = {form for s in known for form in _forms_of[s]}
    _needles = tuple(sorted(forms, key=len, reverse=True))
    prefixes = sorted({form[:FRAGMENT] for form in forms}, key=len, reverse=True)
    # (short literals: ~1 ms to build; none at all: a pattern that never matches)
    _any_prefix = re.compile("|".join(map(re.escape, prefixes)) or "(?!)")
    _skeletons = tuple({read for s in known if len(read := skeleton(s)[0]) >= 6})
    _fragments = frozenset(
        s[at : at + FRAGMENT] for s in known for at in range(len(s) - FRAGMENT + 1)
    )


def known_secrets() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The lasting secrets and the tokens remembered now (for `remember_only`)."""
    with _lock:
        return tuple(_lasting), tuple(_tokens)


def remember_only(known: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
    """Forget every secret registered since `known_secrets()` gave `known`. A process serves
    one profile's handful of secrets; the test suite, which starts hundreds of emulators, hands
    each test the registry it found, so that redaction costs what it costs in the app."""
    lasting, tokens = known
    with _lock:
        _lasting.clear()
        _lasting.update(dict.fromkeys(lasting))
        _tokens.clear()
        _tokens.extend(tokens)
        _rebuild()


def _forms(secret: str) -> frozenset[str]:
    return frozenset(encodings(secret) | {secret.lower()})


@functools.lru_cache(maxsize=256)
def _form_pattern(form: str) -> re.Pattern[str]:
    """The case-insensitive pattern replacing one form: compiled only once the form is found."""
    return re.compile(re.escape(form), re.IGNORECASE)


def redact(text: str, *, patterns: bool = True) -> str:
    """`text` with every registered secret (in any of its forms, in any case) and (unless
    `patterns` is False: text we composed ourselves, such as `client_secret = (set, hidden)`)
    every secret-looking pattern masked."""
    needles = _needles
    if needles:
        lower = text.lower()
        if _holds_form(lower):
            for form in needles:
                if form in lower:
                    text = _form_pattern(form).sub(MASK, text)
                    lower = text.lower()
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
    if not text.isascii():  # (a secret in disguise: `shown` reads it as a person would)
        return False
    return not _holds_form(text.lower()) and not _may_hold_secret(text)


def _holds_form(lower: str) -> bool:
    """Whether lower-cased text holds any form of a known secret (the forms' beginnings first,
    all at once: most text has none of them)."""
    if len(lower) > _SHORT:  # (a long text: each form's own substring search is faster)
        return any(form in lower for form in _needles)
    return _any_prefix.search(lower) is not None and any(form in lower for form in _needles)


#: What `shown` reads past what it shows, at least: room for any secret (in any of its forms)
#: that begins within what is shown to end within what was read, so redaction sees it whole.
READ_PAST = 16_384
READ_AT_MOST = 262_144  # characters read of a text with a limit, unless the limit needs more


def shown(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """Text from outside as it may be shown anywhere: made inert, then redacted, then cut to
    `limit` characters (cutting last, so no part of a secret survives a cut).

    With a `limit`, a long text (a 10 MB tag value: seconds of work whole) is read from its
    start only as far as needed: a part of it is made inert and redacted, and is enough once it
    yields `limit` characters and `READ_PAST` (or eight times the longest form of a secret)
    more; otherwise a part four times as long is tried, up to the whole text. What is shown is
    what the whole text would show, cut the same way ("…"). A text that is still mostly
    invisible after `READ_AT_MOST` characters (controls, bidi, zero-width: megabytes of them
    would take seconds) is shown as far as it was read, ending in "…"; a secret it might split
    there shows no run of `FRAGMENT` of its characters (`_mask_fragments`)."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if limit is not None:
        room = limit + max(READ_PAST, 8 * len(_needles[0]) if _needles else 0)
        part = 4 * room
        most = max(READ_AT_MOST, part)
        while part < len(text):
            safe = _shown(text[:part], multiline)
            if len(safe) >= room:
                return cut(safe, limit)  # (longer than `limit`: cut, as the whole would be)
            if part >= most:  # mostly invisible: what is left is not read ("…" says so)
                return cut(safe, limit) if len(safe) > limit else safe + ELLIPSIS
            part = min(part * 4, most)
    return cut(_shown(text, multiline), limit)


def _shown(text: str, multiline: bool) -> str:
    """`text` made inert, then redacted: what `shown` shows before it cuts."""
    safe = redact(inert(text, multiline=multiline))
    if not text.isprintable():  # a secret split by a control or an escape sequence?
        hidden = redact(loose(text))
        if hidden.count(MASK) > safe.count(MASK):
            safe = hidden  # (no control left in it; a sequence's parameters may show)
        safe = _mask_fragments(safe)
    if not safe.isascii():  # a secret in disguise?
        safe = _mask_skeletons(safe)
    return safe


def _mask_skeletons(text: str) -> str:
    """`text` with whatever reads as a known secret (`secret_forms.skeleton`) masked where it
    stands: the characters from its first to its last, whatever lies between."""
    forms = _skeletons
    if not forms:
        return text
    rough = rough_skeleton(text)
    if not any(form in rough for form in forms):
        return text
    read, origin = skeleton(text)
    spans: list[tuple[int, int]] = []
    for form in forms:
        at = read.find(form)
        while at != -1:
            spans.append((origin[at], origin[at + len(form) - 1] + 1))
            at = read.find(form, at + 1)
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):  # (from the end: the earlier spans stay where they are)
        text = text[:start] + MASK + text[end:]
    return text


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
