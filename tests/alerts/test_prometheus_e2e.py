"""End to end: a real Prometheus server (Debian's `prometheus`) scrapes a running `hm-tui metrics`
against the emulator (each a real process, on loopback) with the shipped alert rules, and the
stall alert fires when the emulator's broker stops publishing, and clears when data returns.

The stall rule is the shipped one with its threshold and `for:` made short (seconds, not
minutes), so the test takes seconds; everything else is as shipped. Prometheus keeps its data in
the test's temp dir (never /var/lib) and scrapes and evaluates every second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from helpers import wait_until

from hm_tui.service.config.profiles import Config, profile_from_credentials

RULES = Path(__file__).resolve().parents[2] / "docs" / "alerts" / "hm-tui-rules.yml"
STALL = "HmTuiFeedStalled"
STALL_AFTER_S = 3  # the test's threshold (the shipped rule says 600)
STALL_FOR = "2s"  # the test's `for:` (the shipped rule says 2m)
URL = re.compile(r"on (http://127\.0\.0\.1:(\d+)/metrics)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Every process the test starts, stopped at the end (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop_all()


def shipped_rules_with_a_short_stall(path: Path) -> Path:
    """The shipped rules, the stall rule's threshold and `for:` shortened for the test."""
    rules = yaml.safe_load(RULES.read_text())
    stall = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == STALL)
    assert "> 600" in stall["expr"], "the shipped stall rule changed: update this test"
    stall["expr"] = stall["expr"].replace("> 600", f"> {STALL_AFTER_S}")
    stall["for"] = STALL_FOR
    path.write_text(yaml.safe_dump(rules))
    return path


def prometheus_config(tmp_path: Path, target: str) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(shipped_rules_with_a_short_stall(tmp_path / "rules.yml"))],
        "scrape_configs": [{"job_name": "hm-tui", "static_configs": [{"targets": [target]}]}],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_emulator(processes: Processes, tmp_path: Path) -> dict[str, Any]:
    """`hm-tui emulator` at 60x: each approved car reports every second."""
    state = tmp_path / "emulator"
    argv = [sys.executable, "-m", "hm_tui", "emulator", "--state-dir", str(state)]
    processes.start([*argv, "--fleet", "20", "--speed", "60"], tmp_path / "emulator.log")
    creds = state / "credentials.json"
    wait_until(creds.exists, 60, "the emulator's credentials.json")
    return dict(json.loads(creds.read_text()))


def start_metrics(processes: Processes, tmp_path: Path, creds: dict[str, Any]) -> str:
    """`hm-tui metrics` on a profile for the emulator; returns its HOST:PORT."""
    config = tmp_path / "config.toml"
    Config(config).with_profile(profile_from_credentials(creds, "emu")).save()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HM_TUI_")}
    env.update(HM_TUI_CONFIG=str(config), XDG_DATA_HOME=str(tmp_path / "data"))
    log = tmp_path / "metrics.log"
    argv = [sys.executable, "-m", "hm_tui", "metrics", "--listen", "127.0.0.1:0"]
    processes.start(argv, log, env=env)
    found = wait_until(lambda: URL.search(log.read_text()), 60, "hm-tui metrics serving")
    return f"127.0.0.1:{found.group(2)}"


def start_prometheus(processes: Processes, tmp_path: Path, target: str) -> str:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is needed: scripts/system-packages installs it (Debian package)"
    listen = f"127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={prometheus_config(tmp_path, target)}",
        f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
        f"--web.listen-address={listen}",
        "--log.level=warn",
    ]
    proc = processes.start(argv, tmp_path / "prometheus.log", cwd=tmp_path)
    base = f"http://{listen}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
        response = get(f"{base}/-/ready")
        return response is not None and response.status_code == 200

    wait_until(ready, 60, "Prometheus ready")
    return base


def get(url: str, **params: str) -> httpx.Response | None:
    """The answer to a GET, None when nothing answered (not up yet)."""
    try:
        return httpx.get(url, params=params, timeout=5)
    except httpx.TransportError:
        return None


def api(base: str, path: str, **params: str) -> Any:
    """The `data` of a Prometheus API answer (None until it answers)."""
    response = get(f"{base}/api/v1/{path}", **params)
    if response is None or response.status_code != 200:
        return None
    return response.json()["data"]


def query(base: str, expr: str) -> list[Any]:
    data = api(base, "query", query=expr)
    return data["result"] if data else []


def stall_alerts(base: str, state: str) -> list[Any]:
    data = api(base, "alerts")
    alerts = data["alerts"] if data else []
    return [a for a in alerts if a["labels"]["alertname"] == STALL and a["state"] == state]


@pytest.mark.timeout(300)
def test_prometheus_fires_the_stall_alert_when_the_broker_goes_quiet(
    processes: Processes, tmp_path: Path
) -> None:
    creds = start_emulator(processes, tmp_path)
    target = start_metrics(processes, tmp_path, creds)
    base = start_prometheus(processes, tmp_path, target)
    wait_until(
        lambda: (
            query(base, 'up{job="hm-tui"} == 1')
            and query(base, "hm_tui_feed_connected == 1")
            and query(base, "rate(hm_tui_feed_messages_total[5s]) > 0")
        ),
        90,
        "Prometheus scraping hm-tui metrics with data flowing",
    )
    assert not stall_alerts(base, "firing") and not stall_alerts(base, "pending")
    control = creds["base_url"].rsplit("/v1", 1)[0] + "/_emulator/faults"
    assert httpx.post(control, json={"publish_paused": True}, timeout=10).status_code == 200
    firing = wait_until(lambda: stall_alerts(base, "firing"), 90, "the stall alert firing")
    assert firing[0]["labels"]["severity"] == "warning"
    assert "No vehicle data for" in firing[0]["annotations"]["description"]
    assert query(base, "hm_tui_feed_connected == 1"), "stalled, not disconnected"
    assert httpx.post(control, json={}, timeout=10).status_code == 200
    wait_until(lambda: not stall_alerts(base, "firing"), 90, "the stall alert to clear")
    metrics = processes.started[1]
    metrics.send_signal(signal.SIGTERM)
    assert metrics.wait(30) == 0
