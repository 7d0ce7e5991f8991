"""A hostile platform on loopback (`fake_platform.FakePlatform`: it answers what each test says)
driving the real CLI and the real dashboard: JSON nested 5,000+ deep in every answer, dates out
of datetime's range or in the future, error bodies echoing the client secret with invisible
characters inside. Whatever it answers: a clear message or a result, never a traceback, never a
secret, and one bad item stays one item's problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import wait_for

from reliability.fake_platform import SECRET, Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_support import (
    VINS,
    body,
    hostile_app,
    iso,
    item,
    nested,
    run,
)
from reliability.test_inert_text import screen_text
from tests.ui.app_support import notifications

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
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: nested JSON through the CLI")
    route, answer = NESTED_ANSWERS[case]
    hostile.answer(route, answer)
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
    hostile: FakePlatform, figures: Figures
) -> None:
    figures.tried("hostile platform: nested JSON in the dashboard")
    hostile.answer("list", Answer(200, nested()))
    app = hostile_app(hostile)
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
    hostile: FakePlatform, hostile_cli: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    hostile.answer("list", Answer(200, body(dated_fleet(datetime.now(UTC)))))
    figures.tried("hostile platform: out-of-range and future dates", 4)
    code, out, err = await run(capsys, "vins", "list")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == set(VINS), out  # every row, whatever its date
    assert rows[VINS[3]][3] == "2h00m" and rows[VINS[5]][3] == "3d00h", "not skewed by 2030"
    assert rows[VINS[2]][3] == "?", "a clearance dated in the future: its age is unknown"
    for vin in VINS[:2]:
        hostile.answer(
            "one", Answer(200, json.dumps(item(vin, "9999-12-31T23:59:59-01:00")).encode())
        )
        code, out, err = await run(capsys, "vins", "show", vin)
        assert code == 0 and "status   approved for -" in out, (out, err)
    code, out, _ = await run(capsys, "vins", "export", "--json")
    assert code == 0 and len(json.loads(out)) == len(VINS)


async def test_out_of_range_data_timestamps_do_not_break_vins_data(
    hostile: FakePlatform, hostile_cli: Path, capsys: pytest.CaptureFixture[str], figures: Figures
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
    hostile.answer(
        "data", Answer(200, json.dumps({"vin": VINS[0], "diagnostics": points}).encode())
    )
    code, out, err = await run(capsys, "vins", "data", VINS[0])
    assert code == 0 and "diagnostics.speed" in out and "?" in out, (out, err)
    code, out, err = await run(capsys, "vins", "data", VINS[0], "--json")
    assert code == 0 and len(json.loads(out)["points"]) == 3


async def test_out_of_range_and_future_dates_leave_the_dashboard_roster_whole(
    hostile: FakePlatform, figures: Figures
) -> None:
    figures.tried("hostile platform: dates in the dashboard")
    hostile.answer("list", Answer(200, body(dated_fleet(datetime.now(UTC)))))
    app = hostile_app(hostile)
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
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    how: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: secret echoed with an invisible character (CLI)")
    hostile.answer("list", Answer(400, echo(SPLIT_SECRETS[how])))
    code, out, err = await run(capsys, "vins", "list")
    assert code == 1 and "[redacted]" in err and not leaked(out + err), ascii(err)
    hostile.answer("token", Answer(401, echo(SPLIT_SECRETS[how])))
    code, out, err = await run(capsys, "vins", "list", "-v")
    assert code == 1 and not leaked(out + err), ascii(err)


async def test_an_echoed_secret_never_shows_in_the_dashboards_toast(
    hostile: FakePlatform, figures: Figures
) -> None:
    for how, secret in SPLIT_SECRETS.items():
        figures.tried(f"hostile platform: secret echoed with {how} (dashboard)")
        hostile.answer("list", Answer(400, echo(secret)))
        app = hostile_app(hostile)
        async with app.run_test(size=(120, 30)):
            await wait_for(lambda a=app: any("refused" in n for n in notifications(a)), 10)
            shown = " ".join(notifications(app)) + screen_text(app)
            assert "[redacted]" in shown and not leaked(shown), ascii(shown)


# -- webhook bodies ----------------------------------------------------------------------------
async def test_a_signed_webhook_body_nested_5000_deep_is_a_400_that_changes_nothing(
    figures: Figures,
) -> None:
    from hm_tui.service.webhook.receiver import WebhookReceiver, signature

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
    hostile: FakePlatform, hostile_cli: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    figures.tried("hostile platform: secret in vehicle data values", 3)
    points = {
        "long": {"data": "x" * 70 + SECRET, "timestamp": "2025-01-01T00:00:00Z"},  # cut at 80
        "split": {"data": {"a": SPLIT_SECRETS["U+200B"]}, "timestamp": "2025-01-01T00:00:00Z"},
        "escaped": {"data": [SPLIT_SECRETS["ESC ["]], "timestamp": "2025-01-01T00:00:00Z"},
    }
    hostile.answer("data", Answer(200, json.dumps({"vin": VINS[0], "trip": points}).encode()))
    for argv in (["vins", "data", VINS[0]], ["vins", "data", VINS[0], "--json"]):
        code, out, err = await run(capsys, *argv)
        assert code == 0 and not leaked(out + err) and SECRET[:8] not in out, ascii(out)
        assert "trip.long" in out or "long" in out
