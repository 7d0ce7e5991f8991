"""Secrets never leak: a full flow (config import, every CLI command with -v, the feed, the
dashboard with a screenshot, the journal, errors) is run against an emulator whose client secret,
private key and every issued access token are known; every artefact is searched for them.
Config, key and store files are owner-only; TLS is always verified; http only to loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from helpers import wait_for

from hm_tui.cli.main import main
from hm_tui.emulator.server import Emulator
from hm_tui.service.config.profiles import ConfigError, check_base_url, load_config
from hm_tui.service.errors import PlatformError
from hm_tui.service.feed.client import FeedClient
from hm_tui.service.platform.client import PlatformClient
from hm_tui.service.platform.transport import new_http_client
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.service.webhook.receiver import WebhookReceiver, signature
from hm_tui.ui.app import HmTuiApp
from reliability.figures import Figures
from tests.service.platform_helpers import Control


class Artefacts:
    """Everything a run produced that a person or another program could read."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        self.texts[where] = self.texts.get(where, "") + text

    def add_files(self, root: Path, skip: tuple[Path, ...] = ()) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path not in skip:
                self.add(str(path), path.read_bytes())

    def leaks(self, secrets: dict[str, str]) -> list[str]:
        return [
            f"{name} in {where}"
            for where, text in self.texts.items()
            for name, secret in secrets.items()
            if secret in text
        ]


def known_secrets(emulator: Emulator, tokens: list[str]) -> dict[str, str]:
    creds = emulator.credentials
    pem = Path(creds["private_key_file"]).read_text().splitlines()
    body = [line for line in pem if line and not line.startswith("-----")]
    secrets = {
        "client secret": creds["client_secret"],
        "webhook secret": creds["webhook_secret"],
        "private key PEM body": "".join(body),
    }
    secrets.update(
        {f"private key PEM line {i}": line for i, line in enumerate(body) if len(line) >= 16}
    )
    secrets.update({f"access token {i}": token for i, token in enumerate(tokens)})
    return secrets


def record_tokens(emulator: Emulator) -> list[str]:
    """Every access token the emulator issues from now on (read off its token store)."""
    issued: list[str] = []
    issuer = emulator.context.tokens  # type: ignore[union-attr]
    original = issuer.issue

    def issue() -> dict[str, Any]:
        answer = original()
        issued.append(answer["access_token"])
        return answer

    issuer.issue = issue  # type: ignore[method-assign]
    return issued


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HM_TUI_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for var in (
        "HM_TUI_PROFILE",
        "HM_TUI_CLIENT_SECRET",
        "HM_TUI_CLIENT_ID",
        "HM_TUI_PRIVATE_KEY_FILE",
        "HM_TUI_PRIVATE_KEY_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("hm_tui")
    handlers, level = list(logger.handlers), logger.level
    yield caplog
    logger.handlers[:] = handlers  # -v attaches a stderr handler
    logger.setLevel(level)


async def cli(capsys: pytest.CaptureFixture[str], artefacts: Artefacts, *argv: str) -> int:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    artefacts.add(f"stdout of {' '.join(argv)}", out)
    artefacts.add(f"stderr of {' '.join(argv)}", err)
    assert "Traceback" not in err, err
    return code


async def cli_flow(emulator: Emulator, isolated: Path, capsys: Any, artefacts: Artefacts) -> None:
    creds = isolated / "credentials.json"
    creds.write_text(json.dumps(emulator.credentials))
    assert (
        await cli(
            capsys, artefacts, "config", "import", str(creds), "--profile", "emu", "--default"
        )
        == 0
    )
    control = Control(emulator)
    approved = next(v for v, c in emulator.state.clearances.items() if c.status == "approved")
    new_vin = "WBA00000400000001"
    for argv in (
        ["config", "show"],
        ["config", "path"],
        ["-v", "vins", "list"],
        ["-v", "vins", "list", "--json"],
        ["-v", "vins", "add", new_vin, "--brand", "bmw"],
        ["-v", "vins", "show", approved],
        ["-v", "vins", "data", approved],
        ["-v", "vins", "revoke", approved, "--yes"],
        ["-v", "vins", "export", "--json"],
    ):
        if argv[-1] == "list":
            await control.faults(invalidate_tokens=True)  # a 401 and a renewal, verbosely
        assert await cli(capsys, artefacts, *argv) == 0, argv
    # a refused login (a wrong secret in the environment, a key file that is not there)
    wrong = {
        "HM_TUI_CLIENT_SECRET": "wrong-secret-but-long-enough",
        "HM_TUI_PRIVATE_KEY_FILE": str(isolated / "missing.pem"),
    }
    os.environ.update(wrong)
    try:
        code = await cli(capsys, artefacts, "-v", "vins", "list")
    finally:
        for name in wrong:
            os.environ.pop(name)
    assert code == 1


async def feed_flow(emulator: Emulator, artefacts: Artefacts) -> None:
    profile = load_config().profile()
    assert profile.mqtt is not None
    feed = FeedClient(profile.mqtt, profile.environment, profile.app_id)
    feed.start()
    try:
        await wait_for(lambda: feed.state.status == "connected", 10)
        artefacts.add("feed state", repr(feed.state) + repr(feed.drain()))
    finally:
        feed.stop()


async def dashboard_flow(emulator: Emulator, isolated: Path, artefacts: Artefacts) -> None:
    profile = load_config().profile()
    sessions: list[Session] = []

    def session_for(_name: str | None) -> Session:
        sessions.append(Session(profile, store=Store.for_profile(profile.name)))
        return sessions[-1]

    app = HmTuiApp(session_for, profile=profile.name, clock=emulator.clock.now_datetime)
    (isolated / "shots").mkdir()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: sessions and len(sessions[0].roster.visible) > 10, 15)
        await pilot.press("enter")
        await pilot.press("question_mark")
        app.save_screenshot("dashboard.svg", str(isolated / "shots"))
        await pilot.press("escape", "escape", "f")
        app.save_screenshot("feed.svg", str(isolated / "shots"))
        artefacts.add("session repr", repr(sessions[0]) + repr(sessions[0].health))
        artefacts.add("client repr", repr(sessions[0].client) + repr(sessions[0].client.tokens))


async def error_flow(emulator: Emulator, artefacts: Artefacts) -> None:
    """Exceptions from a refused login and from a revoked token, as text and repr."""
    profile = load_config().profile()
    bad = replace(
        profile,
        private_key_file=None,
        private_key_id=None,
        client_secret=profile.client_secret[::-1] if profile.client_secret else "x",
    )
    async with PlatformClient(bad) as client:
        with pytest.raises(PlatformError) as refused:
            await client.list_clearances()
    artefacts.add("exception (bad secret)", f"{refused.value} {refused.value!r}")
    artefacts.add("profile repr", repr(profile) + str(profile) + repr(bad))


async def test_no_secret_or_token_in_any_artefact_of_a_full_run(
    emulator: Emulator,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    all_logs: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    tokens = record_tokens(emulator)
    artefacts = Artefacts()
    await cli_flow(emulator, isolated, capsys, artefacts)
    await feed_flow(emulator, artefacts)
    await dashboard_flow(emulator, isolated, artefacts)
    await error_flow(emulator, artefacts)

    config = isolated / "config" / "config.toml"
    artefacts.add_files(isolated / "data")  # the journal and roster cache (SQLite, WAL)
    artefacts.add_files(isolated / "shots")
    artefacts.add_files(config.parent, skip=(config,))
    artefacts.add(
        "log records",
        "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in all_logs.records),
    )
    secrets = known_secrets(emulator, tokens)
    assert len(tokens) >= 3 and list((isolated / "shots").glob("*.svg"))
    assert list((isolated / "data").rglob("*.db")), "the journal was written"
    figures.tried("artefacts searched for secrets", len(artefacts.texts))
    assert artefacts.leaks(secrets) == []
    control = Artefacts()  # the search itself works: the config file does hold the secret
    control.add_files(config.parent)
    assert "client secret in " + str(config) in control.leaks(secrets)

    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) & 0o077 == 0
    for db in (isolated / "data").rglob("*.db"):
        assert stat.S_IMODE(db.stat().st_mode) & 0o077 == 0, db
    for key in (emulator.credentials["private_key_file"], emulator.credentials["mqtt"]["key_file"]):
        assert stat.S_IMODE(Path(key).stat().st_mode) == 0o600, key


@pytest.mark.parametrize(
    "url",
    [
        "http://api.high-mobility.com/v1",
        "http://10.0.0.5:8080/v1",
        "ftp://127.0.0.1/v1",
        "http:///v1",
    ],
)
def test_plain_http_is_refused_for_anything_but_loopback(url: str) -> None:
    with pytest.raises(ConfigError, match=r"https|http"):
        check_base_url(url, "profile 'x'")


def test_the_http_client_always_verifies_certificates_and_never_follows_redirects() -> None:
    http = new_http_client()
    context = http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert http.follow_redirects is False


async def test_a_platform_with_an_untrusted_certificate_is_never_talked_to(
    tmp_path: Path, isolated: Path
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"access_token": "should-never-be-asked-for"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        config = load_config(missing_ok=True)
        from hm_tui.service.config.profiles import Profile

        profile = Profile(
            name="tls",
            environment="sandbox",
            base_url=f"https://127.0.0.1:{port}/v1",
            client_id="c",
            client_secret="a-secret-for-tls-test",
        )
        async with PlatformClient(profile) as client:
            client.retry = replace(client.retry, attempts=1)
            with pytest.raises(PlatformError, match=r"(?i)certificate|ssl|tls|connect"):
                await client.list_clearances()
    finally:
        await runner.cleanup()
    assert hits == [] and config is not None


async def test_webhook_deliveries_are_verified_over_the_raw_body() -> None:
    received: list[Any] = []
    receiver = WebhookReceiver("127.0.0.1:0", "hook-secret-1234", received.append)
    await receiver.start()
    body = json.dumps(
        {
            "vehicle": {"vin": "WBA00000400000001"},
            "event": {"type": "fleet_clearance_changed", "action": "approved"},
        }
    ).encode()
    import httpx

    try:
        async with httpx.AsyncClient() as http:

            def post(sig: str | None, payload: bytes = body) -> Any:
                headers = {"X-HM-Event": "fleet_clearance_changed", "X-HM-Delivery": sig or "n"}
                if sig is not None:
                    headers["X-HM-Signature-256"] = sig
                return http.post(receiver.url, content=payload, headers=headers)

            good = signature("hook-secret-1234", body)
            assert (await post(None)).status_code == 401
            assert (await post("sha256=" + "0" * 64)).status_code == 401
            assert (await post(good, body + b" ")).status_code == 401  # the raw bytes count
            assert (await post(good)).status_code == 200
    finally:
        await receiver.stop()
    assert len(received) == 1 and receiver.stats["rejected"] == 3
