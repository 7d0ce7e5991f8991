"""`hm-tui feed [--vin V] [--json]`: pushed vehicle data (MQTT) streamed to stdout.

One line per data point: a readable line, or with `--json` one JSON object per line (the fields
of `vins data --json` plus `received_at`, `age_s` and `replayed`). The feed's state (connected,
stalled, not connected) goes to stderr when it changes, as text or JSON (feed_status.py). Ends
on Ctrl-C (exit 0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from hm_tui.cli import output as out
from hm_tui.cli.connect import resolve_profile, start_logging
from hm_tui.cli.feed_status import StatusLines, data_json, say_session
from hm_tui.cli.main import OperationError, common_options
from hm_tui.cli.vins_cmd import checked_vin
from hm_tui.cli.vins_show import value_text

DRAIN_INTERVAL_S = 0.1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feed = sub.add_parser(
        "feed",
        help="stream vehicle data (MQTT) to stdout",
        parents=[common_options()],
        description="Stream pushed vehicle data to stdout until Ctrl-C.",
        epilog="examples:\n  hm-tui feed --json | jq .\n"
        "  hm-tui --profile emulator feed --vin 2HM00000000000001",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    feed.add_argument("--vin", help="only this car")
    feed.add_argument("--json", action="store_true", help="one JSON object per line")


@out.pipe_safe
def run(args: argparse.Namespace) -> int:
    vin = checked_vin(args.vin) if args.vin else None
    profile = resolve_profile(args)
    start_logging(args)
    if profile.mqtt is None:
        raise OperationError(
            f"profile {out.shown(profile.name)!r} has no [mqtt] settings: "
            "add them to the config file (see `hm-tui config --help`)"
        )
    from hm_tui.service.feed.client import FeedClient

    client = FeedClient(profile.mqtt, profile.environment, profile.app_id)
    # `kill` and a lost terminal (SIGHUP: SSH drop, tmux killed) end the stream as cleanly as
    # Ctrl-C: the MQTT session is closed with a DISCONNECT, not dropped
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)
    client.start()
    try:
        _stream(client, vin, args.json)
    except KeyboardInterrupt:
        return 0
    finally:
        client.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stream(client: Any, vin: str | None, as_json: bool) -> None:
    status = StatusLines(as_json)
    said: tuple[str, int | None] = ("", None)
    while True:
        health = client.health()
        if health.state.status == "stopped":  # after start(): it cannot run (its TLS files)
            why = out.shown(health.state.last_error or "?")
            raise OperationError(f"the feed cannot run: {why}")
        status.update(health)
        session = (health.state.role, health.state.holder_pid)
        if session != said and session[0]:
            say_session(health.state, as_json)
            said = session
        for point in client.drain():
            if vin is None or point.vin == vin:
                _emit(point, as_json)
        time.sleep(DRAIN_INTERVAL_S)


def _emit(point: Any, as_json: bool) -> None:
    if as_json:
        line = out.json_text(data_json(point, datetime.now(UTC)), pretty=False)
        print(line, flush=True)  # ASCII-escaped: no raw control byte gets out; secrets masked
        return
    stamp = point.timestamp.strftime("%H:%M:%S") if point.timestamp else "-"
    if point.replayed:  # delivered from the persistent session's backlog, not live
        stamp += " queued"
    line = f"{stamp}  {out.shown(point.vin)}  {out.shown(point.key)} = {value_text(point)}"
    width = out.terminal_width(sys.stdout)  # a log line per point: cut, never wrapped
    print(out.cut(line, width, out.ellipsis(sys.stdout)) if width else line, flush=True)
