"""`hm-tui emulator`: run the platform emulator alone, for curl, mosquitto_sub and other clients."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hm_tui.cli.main import OperationError, UsageError, fleet_value, speed_value

DEFAULT_FLEET = 300
DEFAULT_SPEED = 60.0
TOKEN_REQUEST_FILE = "token_request.json"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emulator",
        help="run the local platform emulator (REST + MQTT + webhooks)",
        description="Run a local stand-in for the High Mobility platform. It writes "
        "credentials.json into the state dir once it serves; stop it with Ctrl+C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="REST port (0 = a free one)")
    parser.add_argument("--mqtt-port", type=int, default=0, help="MQTT TLS port (0 = a free one)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where credentials, keys and certificates live",
    )
    # own dests: the global --fleet/--speed share these names (`hm-tui --fleet 5 emulator`)
    parser.add_argument(
        "--fleet",
        dest="emulator_fleet",
        type=fleet_value,
        default=None,
        metavar="N",
        help=f"simulated cars (default {DEFAULT_FLEET})",
    )
    parser.add_argument(
        "--speed",
        dest="emulator_speed",
        type=speed_value,
        default=None,
        metavar="X",
        help=f"virtual seconds per real second (default {DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=300, metavar="S", help="access token lifetime in seconds"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated fleet")
    parser.add_argument(
        "--mqtt-format", choices=("v1", "v2"), default="v1", help="MQTT message format"
    )
    parser.add_argument(
        "--broker",
        metavar="URL",
        default=None,
        help="publish to this broker (mqtts://host:port), not the embedded one",
    )
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        default=None,
        help="deliver fleet_clearance_changed webhooks here",
    )
    parser.add_argument(
        "--activity",
        action="store_true",
        help="simulate colleagues at work: every few seconds VINs are added "
        "(then approved or rejected) or a car is revoked",
    )


def _config(args: argparse.Namespace) -> Any:
    from hm_tui.emulator.config import EmulatorConfig

    fleet = _first(args.emulator_fleet, getattr(args, "fleet", None), DEFAULT_FLEET)
    speed = _first(args.emulator_speed, getattr(args, "speed", None), DEFAULT_SPEED)
    for name, port in (("--port", args.port), ("--mqtt-port", args.mqtt_port)):
        if not 0 <= port <= 65535:
            raise UsageError(f"{name} must be between 0 and 65535")
    if fleet < 0:
        raise UsageError("--fleet must be 0 or more")
    if speed < 0:
        raise UsageError("--speed must be 0 or more")
    if args.token_ttl < 1:
        raise UsageError("--token-ttl must be at least 1 second")
    if args.webhook_url:
        _check_url("--webhook-url", args.webhook_url, ("http", "https"))
    if args.broker:
        _check_url("--broker", args.broker, ("mqtt", "mqtts"))
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        mqtt_port=args.mqtt_port,
        state_dir=args.state_dir,
        fleet=fleet,
        speed=speed,
        token_ttl=args.token_ttl,
        seed=args.seed,
        mqtt_format=args.mqtt_format,
        broker_url=args.broker,
        webhook_url=args.webhook_url,
        activity=args.activity,
    )


def _check_url(option: str, url: str, schemes: tuple[str, str]) -> None:
    """A URL option that names its scheme, a host and a port that can be read (a port out of
    range used to end the emulator in a traceback once it first connected)."""
    wanted = f"{option} must be an {schemes[0]}:// or {schemes[1]}:// URL with a host"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{wanted} ({exc})") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise UsageError(wanted)
    if port == 0:
        raise UsageError(f"{option}: the port must be between 1 and 65535, not 0")


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        asyncio.run(_serve(config))
    except OSError as exc:
        raise OperationError(f"the emulator could not start: {exc.strerror or exc}") from None
    return 0


async def _serve(config: Any) -> None:
    from hm_tui.emulator.server import Emulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    emulator = Emulator(config)
    try:
        await emulator.start()
        _write_token_request(emulator)
        print(banner(emulator), flush=True)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await emulator.stop()
    print("hm-tui emulator: stopped", file=sys.stderr)


def _write_token_request(emulator: Any) -> None:
    """The token request body beside credentials.json, so the banner's curl shows no secret."""
    from hm_tui.emulator.tokens import write_private_json

    creds = emulator.credentials
    write_private_json(
        emulator.state_dir / TOKEN_REQUEST_FILE,
        {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )


def banner(emulator: Any) -> str:
    """How to reach the emulator: URL, files, and the platform's own commands adapted."""
    creds = emulator.credentials
    body_file = shlex.quote(str(emulator.state_dir / TOKEN_REQUEST_FILE))
    lines = [
        f"hm-tui emulator ({creds['environment']}): "
        f"{len(emulator.state.clearances)} clearances, speed x{emulator.config.speed:g}",
        f"  REST         {creds['base_url']}",
        f"  credentials  {emulator.state_dir / 'credentials.json'}",
        f"  control      {emulator.url}/_emulator/stats",
        f"  OpenAPI      {emulator.url}/_emulator/openapi.json (what the REST API serves)",
        "  token:",
        f"    curl -s -X POST {creds['base_url']}/access_tokens "
        f"-H 'Content-Type: application/json' -d @{body_file}",
    ]
    mqtt = creds.get("mqtt")
    if mqtt:
        lines += [
            f"  MQTT         {mqtt['host']}:{mqtt['port']} (mutual TLS)",
            "  stream:",
            "    mosquitto_sub --disable-clean-session"
            f" --cafile {shlex.quote(mqtt['ca_file'])} --cert {shlex.quote(mqtt['cert_file'])}"
            f" --key {shlex.quote(mqtt['key_file'])} -h {mqtt['host']} -p {mqtt['port']}"
            f" -q 1 -t {shlex.quote(mqtt['topic'])} -i {shlex.quote(mqtt['client_id'])}",
        ]
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines)
