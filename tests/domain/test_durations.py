"""One duration form everywhere: the roster's "In state", the detail screen, the campaign summary
(screen and `vins summary`), `vins list` and `vins show` all write a time as the roster does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hm_tui.cli import output
from hm_tui.domain.campaign import duration_text
from hm_tui.domain.durations import compact, compact_or_dash
from hm_tui.ui.format import format_age, format_duration
from hm_tui.ui.widgets.roster_columns import compact_age

CASES = [
    (0, "0s"),
    (42, "42s"),
    (3 * 60 + 5, "3m"),
    (2 * 3600 + 5 * 60, "2h05m"),
    (29 * 86400 + 21 * 3600, "29d21h"),
    (120 * 86400, "120d"),
]


@pytest.mark.parametrize(("seconds", "text"), CASES)
def test_every_surface_writes_a_duration_the_same_way(seconds: int, text: str) -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assert compact(seconds) == text
    assert compact_age(seconds) == text  # the roster
    assert format_duration(seconds) == text  # the detail screen, its timeline
    assert duration_text(seconds) == text  # the summary screen and `vins summary`
    assert output.age(now - timedelta(seconds=seconds), now) == text  # `vins list`/`show`
    if seconds >= 2:
        assert format_age(now - timedelta(seconds=seconds), now) == f"{text} ago"


def test_unknown_is_a_dash() -> None:
    assert compact_or_dash(None) == duration_text(None) == "-"
    assert compact(-5) == "0s"
