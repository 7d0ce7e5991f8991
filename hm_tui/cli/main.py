"""`hm-tui`: argument parsing and dispatch. Exit codes: 0 ok, 1 operation failed, 2 usage error.

Each sub-command lives in its own module exposing `add_parser(subparsers)` and `run(args) -> int`;
modules are imported only when needed so that `hm-tui vins list` never pays for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Sequence
from typing import NoReturn

from hm_tui import __version__

# sub-command name -> module under hm_tui.cli
COMMANDS = {
    "emulator": "emulator_cmd",
    "config": "config_cmd",
    "vins": "vins_cmd",
    "feed": "feed_cmd",
    "metrics": "metrics_cmd",
}


class UsageError(Exception):
    """Bad command-line input: printed without a traceback, exit code 2."""


class OperationError(Exception):
    """An operation failed for a reason the user can read: printed, exit code 1."""


def common_options(*, profile: bool = True) -> argparse.ArgumentParser:
    """`-v` and `--profile` as a parent of every sub-command's parser, so they work after the
    command too (`hm-tui vins data VIN -v`). Their default is SUPPRESS: given before the command
    only, the value parsed there is kept."""
    parent = Parser(add_help=False)
    if profile:
        parent.add_argument(
            "--profile",
            metavar="NAME",
            default=argparse.SUPPRESS,
            help="profile from the config file",
        )
    parent.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log requests to stderr (secrets and tokens redacted)",
    )
    return parent


class Parser(argparse.ArgumentParser):
    """argparse's parser, its error made inert: it quotes the arguments it could not use, and
    an argument may be a file name that came from anywhere (`hm-tui vins add --file *.csv`)."""

    def error(self, message: str) -> NoReturn:
        from hm_tui.domain.inert import inert

        super().error(inert(message, multiline=True))


#: The fastest an emulator's clock may run: at this speed a real month is some 2,500 virtual
#: years, still inside the dates its timestamps can hold (`inf` used to end in a traceback).
MAX_SPEED = 1_000_000.0


#: The most simulated cars: ten times the largest fleet the dashboard is measured with (a
#: hundred billion used to be accepted, and the emulator built them until memory ran out).
MAX_FLEET = 10_000_000


def fleet_value(text: str) -> int:
    """`--fleet` (dashboard demo and emulator): a whole number from 0 to `MAX_FLEET`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_FLEET:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_FLEET:,}, not {text!r}")
    return value


def speed_value(text: str) -> float:
    """`--speed` (dashboard demo and emulator): a finite number from 0 to `MAX_SPEED`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(
            f"must be a number from 0 to {MAX_SPEED:,.0f}, not {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="hm-tui",
        description="Terminal dashboard for High Mobility fleet clearances.",
        epilog="Without a command, opens the dashboard. Try `hm-tui --demo` (no account needed).",
    )
    parser.add_argument("--version", action="version", version=f"hm-tui {__version__}")
    parser.add_argument("--profile", metavar="NAME", help="profile from the config file")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log requests to stderr (secrets and tokens redacted)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="dashboard: disable every action that changes clearances",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="dashboard on an embedded emulator: nothing to configure",
    )
    parser.add_argument(
        "--fleet",
        type=fleet_value,
        default=None,
        metavar="N",
        help="with --demo: number of simulated cars (default 300)",
    )
    parser.add_argument(
        "--speed",
        type=speed_value,
        default=None,
        metavar="X",
        help="with --demo: virtual seconds per real second",
    )
    parser.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help="dashboard: also serve Prometheus metrics there (as `hm-tui metrics` does)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(f"hm_tui.cli.{module}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is not None and args.metrics_listen:
            raise UsageError(
                "--metrics-listen is for the dashboard; for the metrics alone run "
                "hm-tui metrics --listen HOST:PORT"
            )
        if args.command is None:
            from hm_tui.cli import dashboard

            return dashboard.run(args)
        command = importlib.import_module(f"hm_tui.cli.{COMMANDS[args.command]}")
        code: int = command.run(args)
        return code
    except UsageError as exc:
        _report(exc)
        return 2
    except OperationError as exc:
        _report(exc)
        return 1
    except KeyboardInterrupt:
        return 130


def _report(exc: Exception) -> None:
    """The one message of a failed command, on stderr (wrapped between words on a terminal)."""
    from hm_tui.cli.output import warn

    warn(str(exc))
