"""The verbose request log (`hm-tui -v`): one line per platform call on stderr, secrets masked.

Everything goes through the `logging` module under the `hm_tui` logger; `enable_verbose` attaches
a stderr handler whose filter redacts every record, so even a careless log call cannot leak.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from hm_tui.service.redact import RedactingFilter, redact

log = logging.getLogger("hm_tui.http")


def enable_verbose(stream: TextIO | None = None, level: int = logging.DEBUG) -> logging.Handler:
    """Log requests (and other hm_tui debug lines) to `stream` (stderr), redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("hm_tui")
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def log_exchange(
    method: str, url: str, status: int | None, elapsed_s: float, attempt: int, note: str = ""
) -> None:
    """One request line; the URL is redacted (filters may carry tags, never credentials)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    answer = str(status) if status is not None else "no answer"
    retry = f" (try {attempt + 1})" if attempt else ""
    extra = f" {note}" if note else ""
    log.debug(
        "%s %s -> %s in %.0f ms%s%s", method, redact(url), answer, elapsed_s * 1000, retry, extra
    )
