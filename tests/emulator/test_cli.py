"""`hm-tui emulator` as a real process, driven with the platform's documented curl calls."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for

SANDBOX = "2HM12345678901234"


async def curl(*args: str) -> tuple[int, Any]:
    """Run curl; returns (HTTP status, parsed JSON body)."""
    proc = await asyncio.create_subprocess_exec(
        "curl",
        "-s",
        "-w",
        "\n%{http_code}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    body, _, code = out.decode().rpartition("\n")
    return int(code), json.loads(body) if body else None


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hm_tui",
        "emulator",
        "--state-dir",
        str(tmp_path),
        "--fleet",
        "5",
        "--speed",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    creds_file = tmp_path / "credentials.json"
    try:
        await wait_for(creds_file.exists, timeout=20, message="credentials.json")
        yield proc, json.loads(creds_file.read_text())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_documented_curl_calls_work_against_the_emulator(running: Any) -> None:
    _, creds = running
    base = creds["base_url"]
    status, token = await curl(
        "-X",
        "POST",
        f"{base}/access_tokens",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(
            {
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            }
        ),
    )
    assert status == 200
    auth = ["-H", f"Authorization: Bearer {token['access_token']}"]
    json_type = ["-H", "Content-Type: application/json"]
    status, added = await curl(
        "-X",
        "POST",
        f"{base}/fleets/vehicles",
        *auth,
        *json_type,
        "-d",
        json.dumps({"vehicles": [{"vin": SANDBOX, "brand": "sandbox"}]}),
    )
    assert (status, added["vehicles"][0]["status"]) == (200, "pending")
    status, listed = await curl(f"{base}/fleets/vehicles", *auth)
    assert status == 200 and len(listed) == 9
    root = base.removesuffix("/v1")
    await curl("-X", "POST", f"{root}/_emulator/clock", "-d", '{"advance_seconds": 60}')
    status, one = await curl(f"{base}/fleets/vehicles/{SANDBOX}", *auth)
    assert (status, one["status"]) == (200, "approved")
    status, data = await curl(f"{base}/vehicle-data/autoapi-13/{SANDBOX}", *auth)
    assert status == 200 and data["vin"] == SANDBOX
    status, removed = await curl("-X", "DELETE", f"{base}/fleets/vehicles/{SANDBOX}", *auth)
    assert (status, removed["status"]) == (200, "revoking")


async def test_banner_credentials_and_clean_stop_on_sigterm(running: Any, tmp_path: Path) -> None:
    proc, creds = running
    banner = (await proc.stdout.readuntil(b"Stop with Ctrl+C.")).decode()
    assert creds["base_url"] in banner and "mosquitto_sub --disable-clean-session" in banner
    assert creds["client_secret"] not in banner
    token_request = tmp_path / "token_request.json"
    assert f"-d @{token_request}" in banner
    status, _ = await curl(
        "-X",
        "POST",
        f"{creds['base_url']}/access_tokens",
        "-H",
        "Content-Type: application/json",
        "-d",
        f"@{token_request}",
    )
    assert status == 200
    mode = stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode)
    assert mode == 0o600
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert set(creds) >= {
        "environment",
        "base_url",
        "client_id",
        "client_secret",
        "private_key_id",
        "private_key_file",
        "app_id",
        "webhook_secret",
        "mqtt",
    }
    assert set(creds["mqtt"]) >= {
        "host",
        "port",
        "client_id",
        "topic",
        "ca_file",
        "cert_file",
        "key_file",
    }


async def test_bad_options_are_usage_errors() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hm_tui",
        "emulator",
        "--fleet",
        "-1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2 and b"--fleet" in err and b"Traceback" not in err
