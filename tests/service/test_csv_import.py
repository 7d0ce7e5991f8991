"""The add preview's counts: a line with several errors is one line skipped."""

from __future__ import annotations

from hm_tui.service.files.pasted import parse_lines

GOOD = "1M8GDM9AXKP042788"


def test_rows_skipped_counts_lines_not_errors() -> None:
    preview = parse_lines(f"{GOOD},bmw\nSHORT,nosuchbrand\nXX\n{GOOD},bmw,oops\n")
    assert len(preview.errors) == 5  # two on line 2, two on line 3, one on line 4
    assert preview.rows_skipped == 3
    assert len(preview.items) == 1
