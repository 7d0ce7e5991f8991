"""The demo's emulator in a child process of its own, tied to the dashboard's life.

In a thread, the emulator's imports (aiohttp, amqtt, cryptography) and start-up compete with the
dashboard's for the GIL and start-up takes seconds; a forked child runs on another core. It forks
before the parent imports anything heavy, reports its credentials through a pipe as soon as REST
serves (the broker comes up right after; the feed client retries until it does), and stops on
SIGTERM or when the parent's end of a second pipe closes: if the parent died, the child also
removes the demo's temporary directory, so nothing is left behind.

The emulator's identity and certificates are copied from a cache dir when there is one and saved
there after the first start: generating them again on every demo start would cost time.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hm_tui import collector

LOG_FILE = "emulator.log"
LIST_ROUTE = "GET /v1/fleets/vehicles"  # as the emulator's stats name the list call
FIRST_LIST_WAIT_S = 1.5
KEY_FILES = ("identity.json", "private_key.pem", "mqtt")  # the state dir's reusable part


class EmulatorProcess:
    """`start()` forks; `credentials` resolves once REST serves; `stop()` ends the child."""

    def __init__(
        self, config: Any, *, cleanup: Path | None = None, key_cache: Path | None = None
    ) -> None:
        self.config = config  # an EmulatorConfig with a state_dir (imported by the caller)
        self.cleanup = cleanup
        self.key_cache = key_cache
        self.credentials: Future[dict[str, Any]] = Future()
        self.pid: int | None = None
        self._life: int | None = None  # our end of the pipe the child watches
        self._clock: tuple[float, float, float] | None = None  # virtual, monotonic, speed

    def start(self) -> None:
        report_r, report_w = os.pipe()
        life_r, life_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(report_r)
            os.close(life_w)
            _child_main(self, _Report(report_w), life_r)
        os.close(report_w)
        os.close(life_r)
        self.pid, self._life = pid, life_w
        threading.Thread(
            target=self._read_report, args=(report_r,), name="hm-demo-report", daemon=True
        ).start()

    def _read_report(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            line = pipe.readline()
        report: dict[str, Any]
        try:
            report = json.loads(line) if line else {"error": self._exit_reason()}
        except ValueError:
            report = {"error": "the emulator sent a report that is not JSON"}
        if "error" in report:
            self.credentials.set_exception(
                RuntimeError(f"the demo emulator did not start: {report['error']}")
            )
            return
        self._clock = tuple(report["clock"])
        self.credentials.set_result(report["credentials"])

    def _exit_reason(self) -> str:
        log = Path(self.config.state_dir) / LOG_FILE
        with contextlib.suppress(OSError):
            lines = log.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1][-300:]
        return "it exited before it was ready"

    def now(self) -> datetime:
        """The emulator's virtual time (time in state follows it); wall time until it runs."""
        if self._clock is None:
            return datetime.now(UTC)
        virtual, at, speed = self._clock
        return datetime.fromtimestamp(virtual + (time.monotonic() - at) * speed, UTC)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait, SIGKILL if it must; then close the pipe it watches."""
        pid, self.pid = self.pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _reaped(pid, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _reaped(pid, timeout)
        if self._life is not None:
            os.close(self._life)
            self._life = None


def _reaped(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


# -- the child -----------------------------------------------------------------------------


def _child_main(owner: EmulatorProcess, report: _Report, life_r: int) -> None:
    """Run the emulator until told to stop or orphaned; always leaves by os._exit."""
    code = 0
    # its start-up (aiohttp, cryptography, the fleet) allocates what lives on: walking that again
    # and again would only delay the credentials the dashboard waits for (see _serve)
    collector.rest()
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C and hang-ups are the parent's:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # it stops us when it goes
        state_dir = Path(owner.config.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        _quiet_stdio(state_dir / LOG_FILE)
        import asyncio

        asyncio.run(_serve(owner, report, life_r))
    except BaseException as error:  # reported, then gone: there is no caller to raise to
        code = 1
        report.send({"error": f"{type(error).__name__}: {error}"})
        with contextlib.suppress(Exception):
            print(f"demo emulator failed: {error!r}", file=sys.stderr, flush=True)
    finally:
        if _orphaned(life_r) and owner.cleanup is not None:
            shutil.rmtree(owner.cleanup, ignore_errors=True)
        os._exit(code)


def _quiet_stdio(log: Path) -> None:
    """Keep off the dashboard's terminal: stdin from /dev/null, stdout and stderr to a log."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)


async def _serve(owner: EmulatorProcess, report: _Report, life_r: int) -> None:
    import asyncio

    from hm_tui.emulator.server import Emulator

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(life_r, stop.set)  # readable only at EOF: the parent is gone
    _restore_keys(owner.key_cache, Path(owner.config.state_dir))
    emulator = Emulator(owner.config)
    try:
        await emulator.start_rest(reserve_mqtt_port=True)
        clock = (emulator.clock.now(), time.monotonic(), emulator.clock.speed)
        report.send({"credentials": emulator.credentials, "clock": clock})
        await _first_list_served(emulator, FIRST_LIST_WAIT_S)
        await emulator.start_mqtt()
        _save_keys(owner.key_cache, Path(owner.config.state_dir))
        collector.start_up_over()  # what exists lives as long as the emulator
        await stop.wait()
    finally:
        await emulator.stop()


async def _first_list_served(emulator: Any, timeout: float) -> None:
    """Wait (a little) until the dashboard has fetched its roster: bringing the broker up blocks
    this loop for a tenth of a second (amqtt's import), which the first frame should not wait on."""
    import asyncio

    stats = emulator.context.stats
    deadline = time.monotonic() + timeout
    while stats.requests[LIST_ROUTE] == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)  # counted on arrival: let the answer go out first


class _Report:
    """The child's one JSON line to the parent: credentials, or why it could not start."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def send(self, payload: dict[str, Any]) -> None:
        fd, self._fd = self._fd, None
        if fd is None:  # sent already; the parent has what it waited for
            return
        with contextlib.suppress(OSError):
            os.write(fd, json.dumps(payload).encode() + b"\n")
        os.close(fd)


def _orphaned(life_r: int) -> bool:
    """True when the parent's end of the life pipe is closed (it exited or was killed)."""
    with contextlib.suppress(OSError, ValueError):
        return bool(select.select([life_r], [], [], 0)[0])
    return True


def _restore_keys(cache: Path | None, state_dir: Path) -> None:
    if cache is None or not (cache / KEY_FILES[0]).is_file():
        return
    for name in KEY_FILES:
        source = cache / name
        if source.is_dir():
            shutil.copytree(source, state_dir / name, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, state_dir / name)


def _save_keys(cache: Path | None, state_dir: Path) -> None:
    """Keep the identity and certificates for the next demo (written aside, then renamed)."""
    if cache is None or cache.exists():
        return
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        staging.mkdir(mode=0o700)
        for name in KEY_FILES:
            source = state_dir / name
            if source.is_dir():
                shutil.copytree(source, staging / name)
            elif source.is_file():
                shutil.copy2(source, staging / name)
        try:
            os.rename(staging, cache)
        except OSError:  # another demo saved them first
            shutil.rmtree(staging, ignore_errors=True)
