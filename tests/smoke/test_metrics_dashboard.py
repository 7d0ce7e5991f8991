"""The real dashboard (`hm-tui --demo --metrics-listen`) in a real terminal (tmux): it serves
the session it shows, nothing of the server reaches the screen, and the port closes with it."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import process_gone, wait_until
from tmux_helpers import Tmux, tmux_server

VIN_ROW = re.compile(r"\b[0-9A-HJ-NPR-Z]{17}\b.*\b(pending|approved|rejected)\b")
MESSAGES = re.compile(r"^hm_tui_feed_messages_total ([0-9.e+]+)$", re.M)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    yield from tmux_server(tmp_path, "metrics")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return None


def test_the_dashboard_serves_its_session_and_closes_the_port_on_quit(
    tmux: Tmux, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    hm_tui = str(Path(sys.executable).with_name("hm-tui"))
    pid = tmux.start(
        [hm_tui, "--demo", "--fleet", "40", "--metrics-listen", f"127.0.0.1:{port}"],
        {
            "TMPDIR": str(tmp_path),
            "TERM": "xterm-256color",
            "HM_TUI_CONFIG": str(tmp_path / "none.toml"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
        tmp_path / "pid",
    )

    def streaming() -> str | None:
        text = scrape(url) or ""
        found = MESSAGES.search(text)
        return (
            text if found and float(found.group(1)) > 0 and "hm_tui_clearances{" in text else None
        )

    text = wait_until(streaming, 60, "the demo's roster and feed in the metrics")
    assert 'hm_tui_session_info{environment="sandbox",profile="demo"} 1.0' in text
    screen = wait_until(lambda: VIN_ROW.search(tmux.screen()) and tmux.screen(), 30, "a row")
    assert "metrics" not in screen.lower() and "Traceback" not in screen
    tmux.keys("q")
    wait_until(lambda: process_gone(pid), 30, "the dashboard to exit")
    assert scrape(url) is None, "the metrics port outlived the dashboard"
