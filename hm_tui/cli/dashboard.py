"""Placeholder: the dashboard entry (`hm-tui`, `hm-tui --demo`), replaced by the UI owner."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    print("dashboard not yet implemented")
    return 1
