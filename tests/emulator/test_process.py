"""The demo's emulator in a forked child: credentials as soon as REST serves, the broker right
after, a clean stop, and no orphan (nor its temp dir) when the parent dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from helpers import wait_until

from hm_tui.emulator.config import EmulatorConfig
from hm_tui.emulator.process import EmulatorProcess

TIMEOUT = 30.0  # the child imports aiohttp and friends: seconds on a busy machine


def gone(pid: int) -> bool:
    """True when `pid` has exited (a zombie nobody reaps counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def broker_listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_credentials_come_as_rest_serves_then_the_broker_and_stop_ends_the_child(
    tmp_path: Path,
) -> None:
    child = EmulatorProcess(
        EmulatorConfig(state_dir=tmp_path / "emu", fleet=5, speed=1.0), key_cache=tmp_path / "cache"
    )
    child.start()
    try:
        creds = child.credentials.result(TIMEOUT)
        stats_url = creds["base_url"].removesuffix("/v1") + "/_emulator/stats"
        with urllib.request.urlopen(stats_url, timeout=5) as answer:
            assert answer.status == 200
        wait_until(lambda: broker_listens(creds["mqtt"]["port"]), TIMEOUT, "the broker")
        assert abs((child.now() - child.now()).total_seconds()) < 1
        wait_until(
            lambda: (tmp_path / "cache" / "identity.json").is_file(),
            TIMEOUT,
            "identity and certificates kept for the next demo",
        )
    finally:
        pid = child.pid
        child.stop()
    assert pid is not None and gone(pid)


def test_the_next_start_reuses_the_cached_identity(tmp_path: Path) -> None:
    ids = []
    for run in range(2):
        child = EmulatorProcess(
            EmulatorConfig(state_dir=tmp_path / f"emu{run}", fleet=1, speed=1.0),
            key_cache=tmp_path / "cache",
        )
        child.start()
        try:
            creds = child.credentials.result(TIMEOUT)
            ids.append((creds["client_id"], creds["mqtt"]["client_id"]))
            wait_until(lambda: (tmp_path / "cache").is_dir(), TIMEOUT, "the key cache")
        finally:
            child.stop()
    assert ids[0] == ids[1]


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        child = EmulatorProcess(EmulatorConfig(state_dir=tmp_path / "emu", fleet=1, port=port))
        child.start()
        try:
            with pytest.raises(RuntimeError, match="did not start"):
                child.credentials.result(TIMEOUT)
        finally:
            child.stop()


PARENT = textwrap.dedent("""
    import signal, sys
    from pathlib import Path
    from hm_tui.emulator.config import EmulatorConfig
    from hm_tui.emulator.process import EmulatorProcess
    top = Path(sys.argv[1])
    child = EmulatorProcess(EmulatorConfig(state_dir=top / "emu", fleet=1), cleanup=top)
    child.start()
    child.credentials.result(60)
    print(child.pid, flush=True)
    signal.pause()
""")


def test_when_the_parent_dies_the_child_exits_and_removes_the_temp_dir(tmp_path: Path) -> None:
    top = tmp_path / "hm-tui-demo-x"
    top.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(top)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert not gone(child_pid) and top.exists()
        os.kill(parent.pid, signal.SIGKILL)  # no clean-up code runs in the parent
        parent.wait(10)
        wait_until(lambda: gone(child_pid), TIMEOUT, "the orphaned emulator to exit")
        wait_until(lambda: not top.exists(), TIMEOUT, "the demo's temp dir to be removed")
    finally:
        parent.kill()
        parent.wait()
