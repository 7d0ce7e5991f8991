"""The hostile platform, new cases (issue 20, the independent pass), through the real CLI: a
chunked answer that never ends, enormous response headers, a clearance with 1,000,000 tags or a
10 MB tag value. Each ends within its deadline with one clear line, or is shown: never a
traceback, a hang, or memory without bound."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reliability.fake_platform import Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_checks import run_cli
from reliability.hostile_support import VINS, body, iso, item

GOOD_LIST = body([item(VINS[0], iso(datetime.now(UTC) - timedelta(hours=1)))])
HANG_S = 60.0  # a run past this is a hang (each case's own deadline is a few seconds)


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> float:
    """One exchange's deadline (45 s in use) and its ceiling however fast bytes come (120 s,
    600 s for the fleet's list in use), made short."""
    from hm_tui.service.platform import transport

    monkeypatch.setattr(transport, "DEADLINE_S", 1.5)
    monkeypatch.setattr(transport, "DEADLINE_MAX_S", 3.0)
    monkeypatch.setattr(transport, "LARGE_DEADLINE_MAX_S", 3.0)
    return 3.0


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code, out, err = await asyncio.wait_for(run_cli(capsys, *argv), HANG_S)
    return code, out, err, time.monotonic() - started


async def test_a_chunked_answer_that_never_ends_is_ended_by_the_deadline(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    short_deadlines: float,
    figures: Figures,
) -> None:
    hostile.answer("list", Answer(200, b"[", endless=b" " * 32768))
    hostile.answer("one", Answer(200, b'{"vin": "' + VINS[0].encode() + b'"', endless=b" " * 32768))
    for argv in (["vins", "list"], ["vins", "show", VINS[0]]):
        figures.tried("hostile platform: a chunked answer that never ends")
        code, _, err, took = await cli(capsys, *argv)
        assert code == 1 and "did not answer in time" in err, (argv, err)
        assert took < short_deadlines + 10, f"{argv}: {took:.0f} s"  # not the size cap's minutes
    assert hostile.hits["list"] == 1, "an answer that never ends is not asked for again"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Huge": "a" * 1_000_000},
        {f"X-Many-{n}": "b" * 40 for n in range(30_000)},
    ],
    ids=["one 1 MB header", "30,000 headers"],
)
async def test_enormous_response_headers_are_a_clear_error(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    headers: dict[str, str],
    figures: Figures,
) -> None:
    figures.tried("hostile platform: enormous response headers")
    hostile.answer("list", Answer(200, GOOD_LIST, headers=headers))
    code, out, err, _ = await cli(capsys, "vins", "list")
    assert code == 1 and out == "", err
    assert err.startswith("hm-tui: ") and len(err) < 600, err
    assert "headers are larger than any platform sends" in err and "try again later" in err, err
    assert hostile.hits["list"] == 1, "asked again for an answer whose headers cannot be read"


@pytest.mark.parametrize("shape", ["1,000,000 tags", "a 10 MB tag value"])
async def test_a_clearance_with_a_million_tags_or_a_huge_tag_value_is_shown_bounded(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    shape: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: a clearance with 1,000,000 tags or a 10 MB tag value")
    if shape == "1,000,000 tags":
        tags: dict[str, Any] = {f"k{n}": "v" for n in range(1_000_000)}
    else:
        tags = {"note": "\u202ex" * 5_000_000}
    when = iso(datetime.now(UTC) - timedelta(hours=1))
    hostile.answer("list", Answer(200, body([item(VINS[0], when, tags=tags), item(VINS[1], when)])))
    hostile.answer("one", Answer(200, json.dumps(item(VINS[0], when, tags=tags)).encode()))
    runs = [["vins", "list"], ["vins", "show", VINS[0]]]
    if shape != "1,000,000 tags":  # (a CSV of a million columns: minutes of a shared CPU)
        runs.append(["vins", "list", "--csv"])
    for argv in runs:
        code, out, err, _ = await cli(capsys, *argv)
        assert code in (0, 1), (argv, err[-500:])
        if code == 0:
            assert VINS[0] in out, argv
            if "--csv" not in argv:  # (a CSV carries them all: it is data, for a file)
                assert len(out) < 5_000, f"{argv}: {len(out):,} characters printed"
        else:
            assert err.startswith("hm-tui: ") and len(err) < 600, err[-600:]
        if argv[-1] != VINS[0]:
            assert VINS[1] in out, f"{argv}: the other clearance lost: {err[-300:]}"
