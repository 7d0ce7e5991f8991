"""Shared pieces of the hostile-platform tests: clearance items and bodies, deep nesting, the
CLI run that fails on any traceback or control byte, the dashboard on a `FakePlatform`."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any

import pytest

from hm_tui.cli.main import main
from hm_tui.service.session import Session
from hm_tui.service.store.db import Store
from hm_tui.ui.app import HmTuiApp
from reliability.fake_platform import FakePlatform
from reliability.support import vins

DEEP = 5_000
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
VINS = vins(6, wmi="WBA", start=900)


def item(vin: str, when: str | None, status: str = "approved", **extra: Any) -> dict[str, Any]:
    changelog = [{"timestamp": when, "status": status}] if when is not None else []
    return {
        "vin": vin,
        "status": status,
        "brand": "bmw",
        "tags": {},
        "changelog": changelog,
        **extra,
    }


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def nested(depth: int = DEEP) -> bytes:
    return b"[" * depth + b"]" * depth


def body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(items).encode()


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Error:" not in err.split(":", 1)[0], err
    assert not CONTROL.search(out + err), ascii(out + err)
    return code, out, err


def hostile_app(fake: FakePlatform) -> HmTuiApp:
    def session_for(_name: str | None) -> Session:
        return Session(fake.profile(), store=Store.memory())

    return HmTuiApp(session_for, profile="fake")
