"""Support for the UI-SCREENS tests: a host app for one screen or widget, and text readers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from textual.app import App, ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from hm_tui.service.feed.health import STALL_FLOOR_S, FeedHealth, FeedWatch
from hm_tui.service.models import ChangelogEntry, Clearance, DataPoint
from hm_tui.service.platform.clock import platform_now
from hm_tui.service.roster.model import Roster

STYLES = Path(__file__).resolve().parents[2] / "hm_tui" / "ui" / "styles" / "screens.tcss"


class ScreenHost(App[None]):
    """Pushes the screen `make_screen()` builds, or composes `widget`; records dismiss results."""

    CSS_PATH = STYLES

    def __init__(
        self, make_screen: Callable[[], Screen[Any]] | None = None, widget: Widget | None = None
    ) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.widget = widget
        self.results: list[Any] = []
        self.messages: list[Any] = []
        self.clipboard_copies: list[str] = []

    def compose(self) -> ComposeResult:
        if self.widget is not None:
            yield self.widget

    def on_mount(self) -> None:
        if self.make_screen is not None:
            self.push_screen(self.make_screen(), self.results.append)

    def on_feed_panel_open_vin(self, message: Any) -> None:
        self.messages.append(message)

    def copy_to_clipboard(self, text: str) -> None:
        self.clipboard_copies.append(text)
        super().copy_to_clipboard(text)


def plain(widget: Static) -> str:
    """What a Static shows, as plain text."""
    visual = widget.visual
    return visual.plain if isinstance(visual, Content) else str(visual)


def styles_of(widget: Static) -> list[str]:
    visual = widget.visual
    return [str(span.style) for span in visual.spans] if isinstance(visual, Content) else []


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def clearance(
    vin: str,
    status: str,
    brand: str = "bmw",
    *,
    reason: str | None = None,
    tags: dict[str, str] | None = None,
    hours_in_state: float = 2.0,
    created_hours_ago: float = 48.0,
) -> Clearance:
    """A clearance that went pending → `status` (with `reason`), as the platform lists it."""
    now = datetime.now(UTC)
    log = [ChangelogEntry(iso(now - timedelta(hours=created_hours_ago)), "pending")]
    if status != "pending":
        log.append(ChangelogEntry(iso(now - timedelta(hours=hours_in_state)), status, reason))
    elif reason:
        log[0] = ChangelogEntry(log[0].timestamp, "pending", reason)
    return Clearance(vin=vin, status=status, brand=brand, tags=tags or {}, changelog=log)


@dataclass
class Profile:
    environment: str = "sandbox"


@dataclass
class RosterSession:
    """The Session's read side over a real Roster, for screens that only read (no IO at all)."""

    roster: Roster = field(default_factory=Roster)
    feed: Any = None
    profile: Profile = field(default_factory=Profile)
    read_only: bool = False

    def platform_now(self) -> datetime:
        """As `Session.platform_now` before any answer: our clock, or the roster's newest change."""
        return platform_now(self.roster.latest_timestamp)

    @classmethod
    def of(cls, *clearances: Clearance, **kwargs: Any) -> RosterSession:
        session = cls(**kwargs)
        session.roster.apply(clearances, complete=True)
        return session


@dataclass
class FeedCounters:
    """The FeedClient's `state` shape (hm_tui.service.feed.client.FeedState)."""

    status: str = "connected"
    last_error: str | None = None
    received: int = 0
    duplicates: int = 0
    bad_payloads: int = 0
    rate: float = 0.0
    replayed: int = 0


class BufferFeed:
    """An in-process feed with FeedClient's read side (drain / state / latest / health): the
    panel's contract, fed directly by a test instead of an MQTT thread. Its health is judged by
    the service's own `FeedWatch`, on arrivals as `push` makes them."""

    def __init__(self, stall_floor: float = STALL_FLOOR_S) -> None:
        self.buffer: list[DataPoint] = []
        self.state = FeedCounters()
        self.drains = 0
        self._latest: dict[str, dict[str, DataPoint]] = {}
        self.watch = FeedWatch(stall_floor)

    def push(self, points: list[DataPoint]) -> None:
        self.buffer.extend(points)
        self.state.received += len(points)
        self.state.replayed += sum(point.replayed for point in points)
        for point in points:
            self._latest.setdefault(point.vin, {})[point.key] = point
        if points:
            self.watch.arrived(time.monotonic())

    def health(self) -> FeedHealth:
        return self.watch.health(self.state, time.monotonic())  # type: ignore[arg-type]

    def drain(self, max_items: int = 5000) -> list[DataPoint]:
        self.drains += 1
        batch, self.buffer = self.buffer[:max_items], self.buffer[max_items:]
        return batch

    def latest(self, vin: str) -> dict[str, DataPoint]:
        return dict(self._latest.get(vin, {}))


def point(
    vin: str,
    capability: str = "charging",
    prop: str = "battery_level",
    value: Any = 0.5,
    unit: str | None = None,
    age_s: float = 3.0,
) -> DataPoint:
    now = datetime.now(UTC)
    return DataPoint(
        vin=vin,
        capability=capability,
        property=prop,
        value=value,
        unit=unit,
        timestamp=now - timedelta(seconds=age_s),
        message_id=None,
        received_at=now,
    )


@asynccontextmanager
async def started_session(
    credentials: dict[str, Any], *, read_only: bool = False
) -> AsyncIterator[Any]:
    """A real Session on the emulator's credentials, started (first roster loaded) and stopped."""
    from hm_tui.service.config.profiles import profile_from_credentials
    from hm_tui.service.session import Session

    session = Session(
        profile_from_credentials(credentials, "test"), store=None, read_only=read_only
    )
    await session.start()
    try:
        yield session
    finally:
        await session.stop()


async def control(emu: Any, path: str, body: dict[str, Any]) -> None:
    """POST to the emulator's `/_emulator/` control API (force a state, inject faults)."""
    root = emu.base_url.removesuffix("/v1")
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{root}/_emulator/{path}", json=body)
        answer.raise_for_status()
