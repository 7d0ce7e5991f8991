"""Independent pass (issue 20), decoding: new cases of the classes "tracebacks and hangs" and
"stale shown as current", from a hostile platform on loopback through the real CLI and the
dashboard. Numbers JSON allows but no float holds, strings JSON allows but no UTF-8 holds (a lone
surrogate escape), bytes that are not UTF-8 inside one item, a byte order mark, a gzip bomb,
dates in every odd form, arrays where objects belong."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import wait_for

from hm_tui.service.platform import transport
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.fake_platform import Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_checks import assert_inert, run_cli
from reliability.support import vins
from reliability.test_inert_text import screen_text
from tests.ui.app_support import notifications

VINS = vins(8, wmi="WBA", start=700)
HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def item(vin: str, **extra: Any) -> bytes:
    fields = {"vin": vin, "status": "approved", "brand": "bmw", "tags": {}}
    fields["changelog"] = [{"timestamp": HOUR_AGO, "status": "approved"}]
    return json.dumps({**fields, **extra}).encode()


def array(*items: bytes) -> bytes:
    return b"[" + b",".join(items) + b"]"


def app_on(hostile: FakePlatform) -> HmTuiApp:
    def session_for(_name: str | None) -> Session:
        return Session(hostile.profile(), store=Store.memory())

    return HmTuiApp(session_for, profile="fake")


# -- strings JSON allows and bytes it does not ------------------------------------------------
ODD_LIST = b"\xef\xbb\xbf" + array(  # a byte order mark first
    item(VINS[0]),
    item(VINS[1]).replace(b'"tags": {}', b'"tags": {"driver": "x\\ud800y"}'),  # lone surrogate
    item(VINS[2]).replace(b'"tags": {}', b'"tags": {"a": "\\udfff", "b": "\\ud83d\\ude00"}'),
    item(VINS[3]).replace(b'"brand": "bmw"', b'"brand": "b\xff\xfemw"'),  # not UTF-8
    item(VINS[4]).replace(b'"tags": {}', b'"tags": {"k": "a\\\\ud800"}'),  # escaped backslash
)


async def test_one_odd_string_in_one_item_never_makes_the_list_unreadable_cli(
    hostile: FakePlatform, hostile_cli: Any, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("independent pass: BOM, lone surrogates, bytes not UTF-8 in a list", 5)
    hostile.answer("list", Answer(200, ODD_LIST))
    for argv in (["vins", "list"], ["vins", "list", "--csv"], ["vins", "export", "--json"]):
        code, out, err = await run_cli(capsys, *argv)
        assert code == 0, (argv, err)  # was: "not JSON" for all, or a traceback (not UTF-8)
        for vin in VINS[:3] + VINS[4:5]:
            assert vin in out, (argv, out)
        assert VINS[3] not in out
    code, out, _ = await run_cli(capsys, "vins", "list", "--csv")
    assert "x\ufffdy" in out and "a\\ud800" in out, out  # an escaped backslash stays text


async def test_one_odd_string_in_one_item_never_blanks_the_dashboards_roster(
    hostile: FakePlatform, figures: Figures
) -> None:
    figures.tried("independent pass: BOM, lone surrogates, bytes not UTF-8 (dashboard)")
    hostile.answer("list", Answer(200, ODD_LIST))
    app = app_on(hostile)
    async with app.run_test(size=(120, 30)):
        await wait_for(lambda: app.roster_screen.table.row_count == 4, 10, message="4 rows")
        assert app.header_state().api == "ok"
        assert_inert(screen_text(app), "roster")


# -- numbers ------------------------------------------------------------------------------
BIG = "1" + "0" * 400  # an integer no float can hold


async def test_a_token_lifetime_of_400_digits_is_a_lifetime_not_a_traceback(
    hostile: FakePlatform, hostile_cli: Any, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("independent pass: expires_in of 400 digits")
    token = b'{"access_token": "fake-access-token-0123456789", "expires_in": ' + BIG.encode()
    hostile.answer("token", Answer(200, token + b"}"))
    hostile.answer("list", Answer(200, array(item(VINS[0]))))
    code, out, err = await run_cli(capsys, "vins", "list")
    assert code == 0 and VINS[0] in out, err  # was: OverflowError, a traceback


async def test_numbers_no_float_holds_are_shown_not_crashed_on(
    hostile: FakePlatform, hostile_cli: Any, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("independent pass: vehicle data numbers of 400-4,000 digits, 1e308", 5)
    charging = b'"charging": {"battery_level": {"data": ' + BIG.encode() + b"}, "
    charging += b'"estimated_range": {"data": {"value": 1e308, "unit": "kilometers"}}}'
    odometer = b'"odometer": {"data": {"value": -' + b"9" * 4000 + b', "unit": "kilometers"}}'
    speed = b'"speed": {"data": {"value": 0.5e-320, "unit": "kilometers_per_hour"}}'
    diagnostics = b'"diagnostics": {' + odometer + b', "fuel_level": {"data": 1.7e308}, '
    data = b'{"vin": "' + VINS[0].encode() + b'", ' + charging + b", " + diagnostics + speed
    data += b"}}"
    hostile.answer("data", Answer(200, data))
    code, out, err = await run_cli(capsys, "vins", "data", VINS[0])
    assert code == 0, err  # was: OverflowError for the percentage, a traceback
    assert "1.0e+402 %" in out and "1.0e+308 km" in out and "-9.9e+3999 km" in out, out
    assert max(map(len, out.splitlines())) < 200, "no 4,000-digit column"
    code, out, err = await run_cli(capsys, "vins", "data", VINS[0], "--json")
    assert code == 0 and json.loads(out)["points"], err


# -- a compression bomb ---------------------------------------------------------------------
def bomb(decoded: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # (31: the gzip format)
    block = b" " * 2**20
    return b"".join(
        [packer.compress(b"[")]
        + [packer.compress(block)] * (decoded >> 20)
        + [packer.compress(b"]"), packer.flush()]
    )


@pytest.mark.parametrize("route", ["list", "one"])
async def test_a_gzip_bomb_is_refused_early_and_said(
    hostile: FakePlatform,
    hostile_cli: Any,
    capsys: pytest.CaptureFixture[str],
    route: str,
    figures: Figures,
) -> None:
    figures.tried("independent pass: a gzip bomb (256 MB from 256 KB)")
    hostile.answer(route, Answer(200, bomb(256 * 2**20), headers={"Content-Encoding": "gzip"}))
    argv = ["vins", "list"] if route == "list" else ["vins", "show", VINS[0]]
    started = time.monotonic()
    code, _, err = await run_cli(capsys, *argv)
    assert code == 1 and "compression bomb" in err, err  # was: decoded whole (1 GB: 49 s)
    assert time.monotonic() - started < 20


async def test_an_answer_past_the_size_limit_is_refused(
    hostile: FakePlatform,
    hostile_cli: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    figures.tried("independent pass: an answer past the size limit, plain and gzip")
    assert transport.MAX_BODY_BYTES == 16 * 2**20 and transport.MAX_LARGE_BODY_BYTES == 2**29
    monkeypatch.setattr(transport, "MAX_LARGE_BODY_BYTES", 2**20)  # (the test sends less)
    honest = array(*[item(v) for v in vins(10_000, "WF0")])  # 1.3 MB; gzip: 30 times smaller
    hostile.answer("list", Answer(200, honest))
    code, _, err = await run_cli(capsys, "vins", "list")
    assert code == 1 and "larger than 1 MB" in err, err
    packed = Answer(200, gzip.compress(honest), headers={"Content-Encoding": "gzip"})
    monkeypatch.setattr(transport, "MAX_LARGE_BODY_BYTES", 2**22)
    hostile.answer("list", packed)
    code, out, err = await run_cli(capsys, "vins", "list")
    assert code == 0 and len(out.splitlines()) == 10_001, err  # honest gzip: read whole


# -- dates and shapes ------------------------------------------------------------------------
ODD_DATES = {
    VINS[0]: "2024-01-01T24:00:00Z",  # 24:00 (ISO allows it; datetime does not)
    VINS[1]: "2016-12-31T23:59:60Z",  # a leap second
    VINS[2]: "2024-01-01T00:00:00." + "9" * 400 + "Z",  # a huge fraction
    VINS[3]: "1969-12-31T23:59:59-12:00",  # before the epoch, far west
    VINS[4]: "2999-12-31T23:59:59-12:00",  # the last year taken, far west: 3000 in UTC
}


async def test_odd_dates_stay_one_items_problem(
    hostile: FakePlatform, hostile_cli: Any, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("independent pass: 24:00, leap second, huge fraction, -12:00, epoch ints", 8)
    when = {**ODD_DATES, VINS[5]: (datetime.now(UTC) - timedelta(hours=3)).isoformat()}
    items = [item(v, changelog=[{"timestamp": t, "status": "approved"}]) for v, t in when.items()]
    items.append(item(VINS[6], changelog=[{"timestamp": -1, "status": "approved"}]))
    items.append(item(VINS[7], changelog=[{"timestamp": 1e308, "status": "approved"}]))
    hostile.answer("list", Answer(200, array(*items)))
    code, out, err = await run_cli(capsys, "vins", "list")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == set(VINS[:6]), out
    assert " 3h" in rows[VINS[5]], rows[VINS[5]]  # not skewed by the others
    code, out, err = await run_cli(capsys, "vins", "export", "--json")
    assert code == 0 and len(json.loads(out)) == 6


SHAPES = {
    "items that are arrays": array(b"[]", b"[[]]", item(VINS[0])),
    "fields that are arrays": array(
        b'{"vin": [], "status": [], "brand": [], "tags": [], "changelog": [[]]}', item(VINS[0])
    ),
    "changelog entries that are arrays": array(item(VINS[1], changelog=[[]]), item(VINS[0])),
    "tags an array of pairs": array(item(VINS[1], tags=[["a", "b"]]), item(VINS[0])),
    "duplicate keys, the last carrying escapes": array(
        item(VINS[0])[:-1] + b', "brand": "\\u001b]52;c;cm0=\\u0007\\u009b2J"}'
    ),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
async def test_arrays_where_objects_belong_are_counted_never_crash(
    hostile: FakePlatform,
    hostile_cli: Any,
    capsys: pytest.CaptureFixture[str],
    shape: str,
    figures: Figures,
) -> None:
    figures.tried("independent pass: arrays where objects belong, duplicate keys")
    hostile.answer("list", Answer(200, SHAPES[shape]))
    code, out, err = await run_cli(capsys, "vins", "list")
    assert code == 0 and VINS[0] in out, err
    hostile.answer("one", Answer(200, SHAPES[shape]))
    code, _, err = await run_cli(capsys, "vins", "show", VINS[0])
    assert code in (0, 1) and (code == 0 or err.startswith("hm-tui: ")), err
    hostile.answer("data", Answer(200, SHAPES[shape]))
    code, _, err = await run_cli(capsys, "vins", "data", VINS[0])
    assert code == 1 and "expected a JSON object" in err, err


async def test_the_dashboard_says_a_bomb_and_keeps_the_roster(
    hostile: FakePlatform, figures: Figures
) -> None:
    figures.tried("independent pass: a gzip bomb (dashboard)")
    hostile.queue(
        "list",
        Answer(200, array(item(VINS[0]))),
        Answer(200, bomb(64 * 2**20), headers={"Content-Encoding": "gzip"}),
    )
    app = app_on(hostile)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(lambda: app.roster_screen.table.row_count == 1, 10)
        await pilot.press("r")
        await wait_for(lambda: any("compression bomb" in n for n in notifications(app)), 15)
        assert app.roster_screen.table.row_count == 1 and app.is_running
