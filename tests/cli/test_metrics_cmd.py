"""`hm-tui metrics --listen` (the real process) and `--metrics-listen` on the dashboard: serving,
a clean stop on SIGTERM, and bad addresses or taken ports said plainly (exit 2 / 1)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import RunCli
from tests.helpers import wait_for

URL = re.compile(r"on (http://127\.0\.0\.1:\d+/metrics)")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


async def test_metrics_serves_the_profile_until_sigterm(configured: Path, tmp_path: Path) -> None:
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hm_tui",
            "metrics",
            "--listen",
            "127.0.0.1:0",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
    try:
        found = await wait_for(lambda: URL.search(stderr.read_text()), timeout=30)
        url = found.group(1)

        async def clearances() -> str | None:
            async with httpx.AsyncClient(timeout=10) as http:
                text = (await http.get(url)).text
            return text if "hm_tui_clearances{" in text else None

        text = await wait_for(clearances, timeout=30, message="the roster in the metrics")
        assert "hm_tui_api_up 1.0" in text
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    said = stderr.read_text()
    assert "Traceback" not in said and "profile 'emu'" in said


@pytest.mark.parametrize(
    ("listen", "said"),
    [
        ("9464", "--listen must be HOST:PORT, for example 127.0.0.1:9464"),
        ("127.0.0.1:99999", "--listen must be HOST:PORT"),
        ("no-such-host.invalid:9464", "not an address or a known host name"),
    ],
)
async def test_a_bad_listen_value_is_a_usage_error(
    configured: Path, run_cli: RunCli, listen: str, said: str
) -> None:
    result = await run_cli("metrics", "--listen", listen)
    assert result.code == 2 and said in result.err and "Traceback" not in result.err


async def test_a_taken_port_fails_with_exit_1(
    configured: Path, run_cli: RunCli, taken_port: int
) -> None:
    result = await run_cli("metrics", "--listen", f"127.0.0.1:{taken_port}")
    assert result.code == 1
    assert f"127.0.0.1:{taken_port}: the port is in use" in result.err


async def test_the_dashboard_checks_metrics_listen_before_the_ui_starts(
    configured: Path, run_cli: RunCli, taken_port: int
) -> None:
    result = await run_cli("--metrics-listen", f"127.0.0.1:{taken_port}")
    assert result.code == 1 and "the port is in use" in result.err
    result = await run_cli("--metrics-listen", "nonsense")
    assert result.code == 2 and "--metrics-listen must be HOST:PORT" in result.err
    result = await run_cli("--metrics-listen", "127.0.0.1:0")
    assert result.code == 2 and "--metrics-listen needs a port number" in result.err


async def test_metrics_listen_is_refused_beside_a_command(run_cli: RunCli) -> None:
    result = await run_cli("--metrics-listen", "127.0.0.1:9464", "vins", "list")
    assert result.code == 2 and "hm-tui metrics --listen HOST:PORT" in result.err
