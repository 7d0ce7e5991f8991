"""Placeholder: replaced by the module's owner."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("feed", help="(not yet implemented)")


def run(args: argparse.Namespace) -> int:
    print("not yet implemented")
    return 1
