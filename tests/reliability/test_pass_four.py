"""Fourth independent pass (issue 20): new cases of the hostile classes, through the real CLI
in-process (`main`) on the hostile platform and the real binary where an option is parsed.

- A `base_url` the URL parser cannot read (a broken IPv6 literal, a port out of range or not a
  number) ended every command in a traceback (from the parser, or from the socket at the first
  call); one with a `user:password@` part was accepted and `config show` printed it whole (a
  secret in it with it). Now each is refused when the file is read, naming the field, never
  repeating a user-info part, and nothing reaches the platform.
- An MQTT `port` of -1, 0 or 70000 passed the config check; `hm-tui feed` then died in paho's
  thread with a traceback and went on saying it held the session (a hang that looked alive).
- `--speed inf` (emulator, `--demo`) ended in a traceback, `nan` was taken, a `--broker` or
  `--webhook-url` whose port or host cannot be read ended the emulator in a traceback or was
  taken, and `--fleet 99999999999` was built until memory ran out.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import wait_for

from hm_tui.cli.main import build_parser
from hm_tui.service.errors import PlatformError
from hm_tui.service.platform.transport import new_http_client, send
from hm_tui.service.redact import known_secrets
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.fake_platform import SECRET, TOKEN, Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_support import CONTROL, VINS, body, hostile_app, iso, item, run
from reliability.support import HM_TUI, vins
from reliability.test_inert_text import screen_text
from tests.ui.app_support import notifications

NOW = datetime.now(UTC) - timedelta(hours=1)

PROFILE = """default_profile = "p"
[profiles.p]
environment = "sandbox"
base_url = "{base_url}"
client_id = "fake-client"
client_secret = "{secret}"
app_id = "a1b2c3d4e5f6a1b2c3d4e5f6"
"""
MQTT = """[profiles.p.mqtt]
host = "127.0.0.1"
port = {port}
client_id = "feed-client"
ca_file = "ca.pem"
cert_file = "cert.pem"
key_file = "key.pem"
"""


def config(path: Path, base_url: str, mqtt_port: int | None = None) -> Path:
    text = PROFILE.format(base_url=base_url, secret=SECRET)
    if mqtt_port is not None:
        text += MQTT.format(port=mqtt_port)
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("http://[::1:{port}/v1", "base_url is not a valid URL (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999/v1", "base_url is not a valid URL (Port out of range"),
        ("http://127.0.0.1:port/v1", "base_url is not a valid URL (Port could not be cast"),
        ("http://127.0.0.1:0/v1", "base_url's port must be between 1 and 65535, not 0"),
        ("http://{secret}@127.0.0.1:{port}/v1", "must not carry a user name or password"),
        ("http://fleet:{secret}@127.0.0.1:{port}/v1", "must not carry a user name or password"),
    ],
)
async def test_a_base_url_that_cannot_be_read_or_names_a_user_is_refused_when_read(
    hostile: FakePlatform,
    hostile_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
    base_url: str,
    words: str,
) -> None:
    url = base_url.format(port=hostile.port, secret=SECRET)
    monkeypatch.setenv("HM_TUI_CONFIG", str(config(hostile_cli / "url.toml", url)))
    for argv in (["vins", "list"], ["vins", "show", "WBA00000000000001"], ["feed"]):
        code, out, err = await run(capsys, *argv)
        assert code == 2 and words in err and SECRET not in out + err, err
    code, out, err = await run(capsys, "config", "show")
    assert code == 0 and "# unusable: " in out and words in out, out
    assert SECRET not in out + err and SECRET[:12] not in out + err
    assert hostile.hits == {}  # (nothing was sent: not even a token request)
    figures.tried("hostile file: base_url unreadable or with user-info")


@pytest.mark.parametrize("port", [-1, 0, 70000])
async def test_an_mqtt_port_out_of_range_is_refused_when_read(
    hostile_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
    port: int,
) -> None:
    path = config(hostile_cli / "mqtt.toml", "http://127.0.0.1:9/v1", mqtt_port=port)
    monkeypatch.setenv("HM_TUI_CONFIG", str(path))
    code, _, err = await run(capsys, "feed")
    assert code == 2 and f"[mqtt]: port must be between 1 and 65535, not {port}" in err, err
    figures.tried("hostile file: MQTT port out of range")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--demo", "--speed", "inf"], "argument --speed: must be a number from 0 to"),
        (["--demo", "--speed", "nan"], "argument --speed: must be a number from 0 to"),
        (["--demo", "--fleet", "99999999999"], "argument --fleet: must be from 0 to 10,000,000"),
        (["emulator", "--speed", "1e308"], "argument --speed: must be a number from 0 to"),
        (["emulator", "--speed=-inf"], "argument --speed: must be a number from 0 to"),
        (["emulator", "--fleet", "-1"], "argument --fleet: must be from 0 to 10,000,000"),
        (["emulator", "--broker", "mqtts://127.0.0.1:99999"], "(Port out of range 0-65535)"),
        (["emulator", "--broker", "mqtts://[::1"], "--broker must be an mqtt:// or mqtts://"),
        (["emulator", "--webhook-url", "http://[::1/hook"], "(Invalid IPv6 URL)"),
        (["emulator", "--webhook-url", "http://127.0.0.1:0/"], "not 0"),
    ],
)
def test_emulator_and_demo_options_out_of_range_are_usage_errors(
    tmp_path: Path, figures: Figures, argv: list[str], words: str
) -> None:
    if argv[0] == "emulator":
        argv = [*argv, "--state-dir", str(tmp_path / "emu"), "--port", "0", "--mqtt-port", "0"]
    result = subprocess.run(
        [*HM_TUI, *argv], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "emu").exists()  # (refused before anything started)
    figures.tried("hostile option: emulator/demo numbers and URLs")


def test_speed_and_fleet_in_range_still_parse() -> None:
    args = build_parser().parse_args(["--demo", "--speed", "0", "--fleet", "10000000"])
    assert args.speed == 0.0 and args.fleet == 10_000_000
    args = build_parser().parse_args(["emulator", "--speed", "36000", "--fleet", "0"])
    assert args.emulator_speed == 36_000.0 and args.emulator_fleet == 0


# -- a status the platform made up, in the summaries -----------------------------------------------
MADE_UP = ["[/]", "[b]x[/b]", "x\nbmw  9999  0  0\u2028total  0", "\u202eok\x1b]52;c;eA==\x07"]


def made_up_fleet() -> bytes:
    return body([item(vin, iso(NOW), status) for vin, status in zip(VINS, MADE_UP, strict=False)])


async def test_a_made_up_status_in_the_cli_summary_is_one_cleaned_column_head(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    hostile.answer("list", Answer(200, made_up_fleet()))
    code, out, _ = await run(capsys, "vins", "summary")
    lines = out.splitlines()
    assert code == 0 and len([line for line in lines if line.startswith("brand ")]) == 1, out
    assert not any(line.startswith(("bmw  9999", "total  0")) for line in lines), out
    head = next(line for line in lines if line.startswith("brand "))
    assert "[/]" in head and "[b]x[/b]" in head and len(head) < 160, head
    figures.tried("hostile platform: made-up statuses in the CLI summary", len(MADE_UP))


async def test_a_made_up_status_in_the_dashboard_summary_is_shown_not_parsed(
    hostile: FakePlatform, figures: Figures
) -> None:
    hostile.answer("list", Answer(200, made_up_fleet()))
    app = hostile_app(hostile)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.roster_screen.table.row_count == len(MADE_UP), 10)
        await pilot.press("g")  # `[/]` as a column head was a MarkupError: the app ended
        await wait_for(lambda: "brand × status" in screen_text(app), 10, message="the summary")
        text = screen_text(app)
        assert app.is_running and "[/]" in text and "[b]x[/b]" in text, text
        assert not CONTROL.search(text), ascii(text)
    figures.tried("hostile platform: made-up statuses in the dashboard summary", len(MADE_UP))


# -- a token the platform echoes, in a roster drawn from the cache before the login ---------------
async def test_a_token_echoed_in_a_cached_reason_is_masked_once_the_login_gives_it(
    hostile: FakePlatform, figures: Figures
) -> None:
    token = json.loads(TOKEN)["access_token"]
    assert token not in known_secrets()[1]  # (each test starts with the registry it found)
    echoed = item(VINS[0], iso(NOW), "rejected")
    echoed["changelog"][-1]["reason"] = token
    one = json.dumps(echoed).encode()
    store = Store.memory()
    store.save_roster_slices(1, [[one]])  # what the last run saw, byte for byte
    hostile.answer("list", Answer(200, b"[" + one + b"]"))  # (unchanged: the entry is kept)
    hostile.answer("token", Answer(200, TOKEN, trickle_s=0.03))  # the login takes ~2 s

    def session_for(_name: str | None) -> Session:
        return Session(hostile.profile(), store=store)

    app = HmTuiApp(session_for, profile="fake")
    async with app.run_test(size=(160, 24)):
        await wait_for(lambda: VINS[0] in screen_text(app), 10, message="the cached row")
        assert hostile.hits.get("list") is None  # (drawn before the login)
        await wait_for(lambda: hostile.hits.get("list"), 20, message="logged in and listed")
        await wait_for(lambda: "[redacted]" in screen_text(app), 10, message="the row drawn again")
        text = screen_text(app)
        assert token not in text and token[:12] not in text, text
    figures.tried("hostile platform: token echoed in a reason the cache showed before login")


# -- a revoke of thousands of VINs -----------------------------------------------------------------
async def test_a_revoke_of_3000_vins_reads_them_back_in_batches_not_one_url(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    many = vins(3000, wmi="WBA", start=20_000)
    hostile.answer("list", Answer(200, body([item(v, iso(NOW)) for v in many])))
    hostile.answer("delete", Answer(200, b'{"vin": "{vin}", "status": "revoking"}', per_vin=True))
    code, _, err = await run(capsys, "vins", "revoke", *many, "--yes")
    # (all 3,000 in one filter made a URL httpx refuses: "URL component 'query' too long",
    # a traceback, nothing revoked)
    assert code == 0, err[-2000:]
    assert hostile.hits["list"] == 30 and hostile.hits["delete"] == 3000
    figures.tried("hostile size: a revoke of 3,000 VINs")


async def test_a_request_the_http_client_cannot_form_is_an_error_not_a_traceback(
    hostile: FakePlatform,
) -> None:
    async with new_http_client() as http:
        with pytest.raises(PlatformError, match="Request not sent: hm-tui could not form it"):
            await send(
                http,
                "GET",
                f"http://127.0.0.1:{hostile.port}/v1/fleets/vehicles",
                params={"filter": "x" * 70_000},
            )
    assert hostile.hits == {}


# -- `--watch` with an odd number of seconds -------------------------------------------------------
@pytest.mark.parametrize("seconds", ["nan", "1e-300", "0.05", "inf", "1e308", "-1", "0"])
async def test_watch_with_an_odd_number_is_refused_before_any_call(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
    seconds: str,
) -> None:
    hostile.answer("list", Answer(200, body([item(VINS[0], iso(NOW))])))
    # (`nan` and `1e-300` were taken: ~90 list calls a second until interrupted; `inf` and
    # `1e308` listed once and slept for ever)
    code, _, err = await run(capsys, "vins", "list", "--watch", seconds)
    assert code == 2 and "--watch needs a number of seconds from 0.1 to 86,400" in err, err
    assert hostile.hits == {}
    figures.tried("hostile option: --watch")


# -- a list whose items cannot be read -------------------------------------------------------------
@pytest.mark.parametrize("readable", [0, 1])
async def test_unreadable_list_items_are_said_in_the_dashboard_not_shown_as_an_empty_fleet(
    hostile: FakePlatform, figures: Figures, readable: int
) -> None:
    good = [item(vin, iso(NOW)) for vin in VINS[:3]]
    broken = [{**c, "status": 5} for c in good[readable:]]  # (a status that is not text)
    hostile.answer("list", Answer(200, body(good[:readable] + broken)))
    app = hostile_app(hostile)
    async with app.run_test(size=(80, 24)):
        # (before: "No clearances yet: press a to add VINs." under "API ok", nothing said)
        await wait_for(
            lambda: any("could not be read" in n for n in notifications(app)), 10, message="said"
        )
        [said] = [n for n in notifications(app) if "could not be read" in n]
        assert f"{3 - readable} clearance(s) in the platform's list" in said, said
        assert app.roster_screen.table.row_count == readable
        hostile.answer("list", Answer(200, body(good)))  # the platform mends them
        await app.session.fleet.refresh_now()
        assert app.session.fleet.unreadable == 0
        await wait_for(lambda: app.roster_screen.table.row_count == 3, 10)
    figures.tried("hostile platform: unreadable list items in the dashboard")


# -- an answer about another VIN than the one asked ----------------------------------------------
async def test_an_answer_about_another_vin_is_refused_not_shown_as_the_one_asked(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    asked, other = VINS[0], VINS[1]
    hostile.answer("list", Answer(200, body([item(asked, iso(NOW))])))
    hostile.answer("one", Answer(200, json.dumps(item(other, iso(NOW), "revoked")).encode()))
    data = {"vin": other, "charging": {"battery_level": {"data": {"value": 0.5}}}}
    hostile.answer("data", Answer(200, json.dumps(data).encode()))
    hostile.answer("delete", Answer(200, json.dumps({"vin": other, "status": "revoking"}).encode()))
    # (before: `vins show A` printed B's clearance, `vins data A` B's data with no VIN said, and
    # `vins revoke A` reported "B revoking", each with exit 0)
    for argv, what in (
        (["vins", "show", asked], "Unexpected clearance"),
        (["vins", "data", asked], "Unexpected vehicle data"),
        (["vins", "revoke", asked, "--yes"], "Unexpected removal answer"),
    ):
        code, out, err = await run(capsys, *argv)
        assert code == 1 and what in err and f"answered about {other}" in err, err
        assert other not in out and "battery" not in out, out
    figures.tried("hostile platform: an answer about another VIN", 3)
