"""How long something lasted, in one form everywhere: the roster's "In state" column, the
detail screen, the campaign summary (screen and `vins summary`), `vins list` and `vins show`.

The compact form fits an 8-cell column and reads the same at every size: "42s", "3m", "2h05m",
"4d03h", "120d" (from 100 days on, the hours say nothing).
"""

from __future__ import annotations


def compact(seconds: float) -> str:
    """A duration: "42s", "3m", "2h05m", "4d03h", "120d" (negative counts as 0)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if days < 100 else f"{days}d"


def compact_or_dash(seconds: float | None) -> str:
    """`compact`, or "-" when the duration is unknown."""
    return "-" if seconds is None else compact(seconds)
