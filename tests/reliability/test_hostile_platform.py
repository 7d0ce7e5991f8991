"""A hostile platform on loopback (`fake_platform.FakePlatform`: it answers what each test says)
driving the real CLI and the real dashboard: JSON nested 5,000+ deep in every answer, dates out
of datetime's range or in the future, error bodies echoing the client secret with invisible
characters inside. Whatever it answers: a clear message or a result, never a traceback, never a
secret, and one bad item stays one item's problem."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import wait_for

from hm_tui.cli.main import main
from hm_tui.service.session import Session
from hm_tui.service.store import Store
from hm_tui.ui.app import HmTuiApp
from reliability.fake_platform import SECRET, Answer, FakePlatform
from reliability.figures import Figures
from reliability.support import vins, write_config
from reliability.test_inert_text import screen_text
from tests.ui.app_support import notifications

DEEP = 5_000
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
VINS = vins(6, wmi="WBA", start=900)


def item(vin: str, when: str | None, status: str = "approved", **extra: Any) -> dict[str, Any]:
    changelog = [{"timestamp": when, "status": status}] if when is not None else []
    return {
        "vin": vin,
        "status": status,
        "brand": "bmw",
        "tags": {},
        "changelog": changelog,
        **extra,
    }


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def nested(depth: int = DEEP) -> bytes:
    return b"[" * depth + b"]" * depth


def body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(items).encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    platform = FakePlatform()
    await platform.start()
    yield platform
    await platform.stop()


@pytest.fixture
def cli_env(fake: FakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HM_TUI_CONFIG", str(write_config(tmp_path / "c.toml", fake.profile())))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    logger = logging.getLogger("hm_tui")
    handlers, level = list(logger.handlers), logger.level
    yield tmp_path
    logger.handlers[:] = handlers  # `-v` attaches a handler on the (captured) stderr
    logger.setLevel(level)


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Error:" not in err.split(":", 1)[0], err
    assert not CONTROL.search(out + err), ascii(out + err)
    return code, out, err


def hostile_app(fake: FakePlatform) -> HmTuiApp:
    def session_for(_name: str | None) -> Session:
        return Session(fake.profile(), store=Store.memory())

    return HmTuiApp(session_for, profile="fake")


# -- nesting ---------------------------------------------------------------------------------------
NESTED_ANSWERS = {
    "a list nested 5,000 deep": ("list", Answer(200, nested())),
    "a list item with a field nested 5,000 deep": (
        "list",
        Answer(
            200,
            b'[{"vin": "'
            + VINS[0].encode()
            + b'", "status": "approved", "junk": '
            + nested()
            + b"}]",
        ),
    ),
    "an error body nested 5,000 deep": ("list", Answer(400, b'{"errors": ' + nested() + b"}")),
    "a token answer nested 5,000 deep": ("token", Answer(200, b'{"a": ' + nested() + b"}")),
    "vehicle data nested 5,000 deep": ("data", Answer(200, b'{"doors": {"x": ' + nested() + b"}}")),
    "vehicle data nested 900 deep (under the interpreter's limit)": (
        "data",
        Answer(200, b'{"doors": {"locks": {"data": ' + nested(900) + b"}}}"),
    ),
    "an add answer nested 5,000 deep": ("add", Answer(200, b'{"vehicles": ' + nested() + b"}")),
    "one clearance with a field nested 5,000 deep": (
        "one",
        Answer(200, b'{"vin": "' + VINS[0].encode() + b'", "status": "x", "a": ' + nested() + b"}"),
    ),
}


@pytest.mark.parametrize("case", NESTED_ANSWERS, ids=list(NESTED_ANSWERS))
async def test_deeply_nested_answers_give_one_clear_line_through_the_cli(
    fake: FakePlatform,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: nested JSON through the CLI")
    route, answer = NESTED_ANSWERS[case]
    fake.answer(route, answer)
    argv = {
        "data": ["vins", "data", VINS[0]],
        "add": ["vins", "add", VINS[0], "--brand", "bmw"],
        "one": ["vins", "show", VINS[0]],
    }.get(route, ["vins", "list"])
    code, out, err = await run(capsys, *argv)
    assert code == 1, (case, out, err)
    assert err.startswith("hm-tui: ") and len(err) < 800, err
    assert "nested too deeply" in err or "add" in argv, err
    if "add" in argv:  # the add's answer is unreadable: said per VIN, nothing lost
        assert "nested too deeply" in out + err


async def test_a_deeply_nested_list_leaves_the_dashboard_running_and_says_why(
    fake: FakePlatform, figures: Figures
) -> None:
    figures.tried("hostile platform: nested JSON in the dashboard")
    fake.answer("list", Answer(200, nested()))
    app = hostile_app(fake)
    async with app.run_test(size=(80, 24)):
        await wait_for(lambda: any("nested too deeply" in n for n in notifications(app)), 10)
        assert app.is_running


# -- dates ---------------------------------------------------------------------------------------
def dated_fleet(now: datetime) -> list[dict[str, Any]]:
    return [
        item(VINS[0], "9999-12-31T23:59:59-01:00"),  # year 10000 in UTC
        item(VINS[1], "0001-01-01T00:00:00+01:00"),  # year 0 in UTC
        item(VINS[2], "2030-01-01T00:00:00Z", "pending"),  # from the future
        item(VINS[3], iso(now - timedelta(hours=2)), "rejected"),
        item(VINS[4], "not a date"),
        item(VINS[5], iso(now - timedelta(days=3))),
    ]


async def test_out_of_range_and_future_dates_stay_one_items_problem_in_the_cli(
    fake: FakePlatform, cli_env: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    fake.answer("list", Answer(200, body(dated_fleet(datetime.now(UTC)))))
    figures.tried("hostile platform: out-of-range and future dates", 4)
    code, out, err = await run(capsys, "vins", "list")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == set(VINS), out  # every row, whatever its date
    assert rows[VINS[3]][3] == "2h" and rows[VINS[5]][3] == "3d", "not skewed by 2030"
    assert rows[VINS[2]][3] == "?", "a clearance dated in the future: its age is unknown"
    for vin in VINS[:2]:
        fake.answer("one", Answer(200, json.dumps(item(vin, "9999-12-31T23:59:59-01:00")).encode()))
        code, out, err = await run(capsys, "vins", "show", vin)
        assert code == 0 and "status   approved for -" in out, (out, err)
    code, out, _ = await run(capsys, "vins", "export", "--json")
    assert code == 0 and len(json.loads(out)) == len(VINS)


async def test_out_of_range_data_timestamps_do_not_break_vins_data(
    fake: FakePlatform, cli_env: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("hostile platform: out-of-range data timestamps")
    points = {
        "odometer": {
            "data": {"value": 1, "unit": "kilometers"},
            "timestamp": "9999-12-31T23:59:59-01:00",
        },
        "fuel_level": {"data": 0.5, "timestamp": "0001-01-01T00:00:00+01:00"},
        "speed": {"data": 3, "timestamp": "2030-01-01T00:00:00Z"},
    }
    fake.answer("data", Answer(200, json.dumps({"vin": VINS[0], "diagnostics": points}).encode()))
    code, out, err = await run(capsys, "vins", "data", VINS[0])
    assert code == 0 and "diagnostics.speed" in out and "?" in out, (out, err)
    code, out, err = await run(capsys, "vins", "data", VINS[0], "--json")
    assert code == 0 and len(json.loads(out)["points"]) == 3


async def test_out_of_range_and_future_dates_leave_the_dashboard_roster_whole(
    fake: FakePlatform, figures: Figures
) -> None:
    figures.tried("hostile platform: dates in the dashboard")
    fake.answer("list", Answer(200, body(dated_fleet(datetime.now(UTC)))))
    app = hostile_app(fake)
    async with app.run_test(size=(120, 30)):
        await wait_for(
            lambda: app.roster_screen.table.row_count == len(VINS),
            10,
            message="every row, whatever its date",
        )
        await wait_for(lambda: VINS[5] in screen_text(app), 5)
        text = screen_text(app)
        rows = {
            line.split()[0]: line
            for line in text.splitlines()
            if line.split()[:1] in ([v] for v in VINS)
        }
        assert " 3d" in rows[VINS[5]] and " 2h" in rows[VINS[3]], text  # not skewed by 2030
        assert " ? " in rows[VINS[2]], rows[VINS[2]]
        assert app.session.fleet.health.api == "ok"


# -- secrets echoed with invisible characters inside --------------------------------------------
SPLIT_SECRETS = {
    "U+200B": SECRET[:9] + "\u200b" + SECRET[9:],
    "NUL": SECRET[:4] + "\x00" + SECRET[4:],
    "U+202E": SECRET[:12] + "\u202e" + SECRET[12:],
    "ESC": SECRET[:7] + "\x1b" + SECRET[7:],
    "ESC [": SECRET[:7] + "\x1b[" + SECRET[7:],
}


def echo(secret: str) -> bytes:
    return json.dumps(
        {"errors": [{"title": "Bad request", "detail": f"client_id x with {secret} refused"}]}
    ).encode()


def leaked(text: str) -> bool:
    half = len(SECRET) // 2
    return SECRET in text or SECRET[:half] in text or SECRET[half:] in text


@pytest.mark.parametrize("how", SPLIT_SECRETS, ids=list(SPLIT_SECRETS))
async def test_an_echoed_secret_with_an_invisible_character_inside_never_shows_in_the_cli(
    fake: FakePlatform,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: secret echoed with an invisible character (CLI)")
    fake.answer("list", Answer(400, echo(SPLIT_SECRETS[how])))
    code, out, err = await run(capsys, "vins", "list")
    assert code == 1 and "[redacted]" in err and not leaked(out + err), ascii(err)
    fake.answer("token", Answer(401, echo(SPLIT_SECRETS[how])))
    code, out, err = await run(capsys, "vins", "list", "-v")
    assert code == 1 and not leaked(out + err), ascii(err)


async def test_an_echoed_secret_never_shows_in_the_dashboards_toast(
    fake: FakePlatform, figures: Figures
) -> None:
    for how, secret in SPLIT_SECRETS.items():
        figures.tried(f"hostile platform: secret echoed with {how} (dashboard)")
        fake.answer("list", Answer(400, echo(secret)))
        app = hostile_app(fake)
        async with app.run_test(size=(120, 30)):
            await wait_for(lambda a=app: any("refused" in n for n in notifications(a)), 10)
            shown = " ".join(notifications(app)) + screen_text(app)
            assert "[redacted]" in shown and not leaked(shown), ascii(shown)


# -- slow answers and imposed waits --------------------------------------------------------
TEN_YEARS = str(10 * 365 * 24 * 3600)
GOOD_LIST = body([item(VINS[0], iso(datetime.now(UTC) - timedelta(hours=1)))])


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    """The exchange deadline (45 s in use) and the header's "waiting" threshold, made short."""
    from hm_tui.service import session, transport

    monkeypatch.setattr(transport, "DEADLINE_S", 1.5)
    monkeypatch.setattr(session, "WAITING_SHOWN_S", 0.5)
    return 1.5


async def test_a_trickling_answer_fails_at_its_deadline_through_the_cli_not_minutes_later(
    fake: FakePlatform,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    short_deadline: float,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: an answer trickled a byte at a time (CLI)")
    fake.answer("list", Answer(200, GOOD_LIST, trickle_s=0.05))  # ~10 s for the whole body
    started = time.monotonic()
    code, _, err = await run(capsys, "vins", "list")
    took = time.monotonic() - started
    assert code == 1 and "did not answer in time" in err and "too slowly" in err, err
    assert took < short_deadline + 3, f"took {took:.1f} s"
    assert fake.hits["list"] == 1, "a trickling server is not asked again at once"


async def test_a_trickling_answer_shows_as_waiting_then_failing_and_polling_goes_on(
    fake: FakePlatform, short_deadline: float, figures: Figures
) -> None:
    figures.fault("hostile platform: trickled answers in the dashboard")
    fake.answer("list", Answer(200, GOOD_LIST, trickle_s=0.05))
    app = hostile_app(fake)
    async with app.run_test(size=(120, 30)):
        await wait_for(lambda: app.header_state().api == "waiting", 5, message="API waiting")
        assert "API ok" not in screen_text(app)
        await wait_for(lambda: app.header_state().api in ("degraded", "down"), 10)
        fake.answer("list", Answer(200, GOOD_LIST))
        await wait_for(lambda: app.header_state().api == "ok", 20, message="polling went on")
        await wait_for(lambda: app.roster_screen.table.row_count == 1, 10)


async def test_a_retry_after_of_ten_years_is_capped_in_the_cli(
    fake: FakePlatform,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    from hm_tui.service import retry
    from hm_tui.service.errors import retry_after_seconds

    figures.tried("hostile platform: Retry-After of ten years (CLI)")
    assert retry_after_seconds({"retry-after": TEN_YEARS}) == retry.MAX_SERVER_WAIT_S == 60
    assert retry_after_seconds({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}) == 60
    monkeypatch.setattr(retry, "MAX_SERVER_WAIT_S", 0.2)  # (60 s in use: the test waits less)
    limited = Answer(
        429, b'{"errors": [{"title": "Too many"}]}', headers={"Retry-After": TEN_YEARS}
    )
    fake.answer("list", limited)
    started = time.monotonic()
    code, _, err = await run(capsys, "vins", "list")
    assert code == 1 and "Too many" in err and time.monotonic() - started < 15, err
    fake.queue("list", limited, limited, Answer(200, GOOD_LIST))
    code, out, err = await run(capsys, "vins", "list")
    assert code == 0 and VINS[0] in out, err


async def test_a_retry_after_of_ten_years_never_parks_the_dashboards_poller(
    fake: FakePlatform, short_deadline: float, monkeypatch: pytest.MonkeyPatch, figures: Figures
) -> None:
    from hm_tui.service import retry

    figures.fault("hostile platform: Retry-After of ten years (dashboard)")
    monkeypatch.setattr(retry, "MAX_SERVER_WAIT_S", 0.4)  # (60 s in use: the test waits less)
    limited = Answer(
        429, b'{"errors": [{"title": "Too many"}]}', headers={"Retry-After": TEN_YEARS}
    )
    fake.queue("list", *[limited] * 7, Answer(200, GOOD_LIST))
    app = hostile_app(fake)
    seen: set[str] = set()

    def api_now() -> str:
        seen.add(app.header_state().api)
        return app.header_state().api

    async with app.run_test(size=(120, 30)):
        await wait_for(
            lambda: api_now() == "ok", 30, message="the poller, not parked, got the list"
        )
    assert "waiting" in seen and "ok" in seen, seen  # never "ok" while it was kept waiting
    assert fake.hits["list"] >= 8


async def test_a_token_with_non_ascii_characters_is_a_clear_error(
    fake: FakePlatform, cli_env: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    for token in ("tökén-0123456789", "abc\u202edef-0123456789", "has space 0123456789"):
        figures.tried("hostile platform: a token no header can carry")
        fake.answer("token", Answer(200, json.dumps({"access_token": token}).encode()))
        code, _, err = await run(capsys, "vins", "list")
        assert code == 1 and "cannot carry" in err and "UnicodeEncodeError" not in err, err
    app = hostile_app(fake)
    async with app.run_test(size=(120, 30)):
        await wait_for(lambda: any("cannot carry" in n for n in notifications(app)), 10)


# -- memory --------------------------------------------------------------------------------------
PEAK_REPORT = (
    "import resource, sys; from hm_tui.cli.main import main; code = main(sys.argv[1:]); "
    "print('peak-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def fleet_body(size: int) -> tuple[bytes, int]:
    """A clearance list of about `size` bytes: two changelog entries and two tags per car."""
    template = (
        '{"vin": "WBA%014d", "status": "approved", "brand": "bmw", "tags": {"fleet": "north", '
        '"cost-centre": "CC-%03d"}, "changelog": [{"timestamp": "2025-11-21T10:00:00Z", '
        '"status": "pending"}, {"timestamp": "2025-11-22T10:00:00Z", "status": "approved"}]}'
    )
    count = size // len(template % (0, 0))
    items = ",".join(template % (i, i % 1000) for i in range(count))
    return f"[{items}]".encode(), count


async def test_vins_list_json_of_a_50_mb_list_streams_its_output_in_bounded_memory(
    fake: FakePlatform, cli_env: Path, figures: Figures
) -> None:
    figures.tried("hostile platform: a 50 MB list through vins list --json")
    raw, count = fleet_body(50 * 2**20)
    fake.answer("list", Answer(200, raw))
    del raw
    out = cli_env / "out.json"
    with out.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PEAK_REPORT,
            "vins",
            "list",
            "--json",
            stdout=sink,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        _, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, err.decode()
    peak_mb = int(err.decode().split("peak-kb")[1].split()[0]) / 1024
    figures.peak("vins list --json of a 50 MB list", peak_mb)
    assert peak_mb < 550, f"peak {peak_mb:.0f} MB (it was 770 MB when the output was built whole)"
    assert len(json.loads(out.read_bytes())) == count


# -- webhook bodies ----------------------------------------------------------------------------
async def test_a_signed_webhook_body_nested_5000_deep_is_a_400_that_changes_nothing(
    figures: Figures,
) -> None:
    from hm_tui.service.webhook import WebhookReceiver, signature

    figures.tried("hostile platform: a signed webhook body nested 5,000 deep")
    events: list[Any] = []
    hook = WebhookReceiver("127.0.0.1:0", SECRET, events.append)
    await hook.start()
    try:
        raw = b'{"vehicle": {"vin": "' + VINS[0].encode() + b'"}, "event": ' + nested() + b"}"
        headers = {
            "X-HM-Signature-256": signature(SECRET, raw),
            "X-HM-Delivery": "deep-1",
            "X-HM-Event": "fleet_clearance_changed",
            "Content-Type": "application/json",
        }
        async with httpx.AsyncClient() as http:
            answer = await http.post(hook.url + "hooks", content=raw, headers=headers)
    finally:
        await hook.stop()
    assert answer.status_code == 400 and "nested too deeply" in answer.text, answer.text
    assert events == []


async def test_a_secret_in_vehicle_data_never_shows_in_part_where_values_are_cut(
    fake: FakePlatform, cli_env: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("hostile platform: secret in vehicle data values", 3)
    points = {
        "long": {"data": "x" * 70 + SECRET, "timestamp": "2025-01-01T00:00:00Z"},  # cut at 80
        "split": {"data": {"a": SPLIT_SECRETS["U+200B"]}, "timestamp": "2025-01-01T00:00:00Z"},
        "escaped": {"data": [SPLIT_SECRETS["ESC ["]], "timestamp": "2025-01-01T00:00:00Z"},
    }
    fake.answer("data", Answer(200, json.dumps({"vin": VINS[0], "trip": points}).encode()))
    for argv in (["vins", "data", VINS[0]], ["vins", "data", VINS[0], "--json"]):
        code, out, err = await run(capsys, *argv)
        assert code == 0 and not leaked(out + err) and SECRET[:8] not in out, ascii(out)
        assert "trip.long" in out or "long" in out
