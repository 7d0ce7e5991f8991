"""What `hm-tui feed` says about the feed, and the JSON form of its data lines.

stdout carries data only, one line per data point, so `hm-tui feed --json | jq` sees nothing
else. The feed's state goes to stderr, one line each time it changes (connected, stalled, data
again, not connected, the broker not answering, stopped): as text, or with `--json` as one JSON
object per line, `{"event": "feed_status", ...}`, so that a script reads both streams the same
way. The state is the service's own judgement (service/feed/health.py), the one the dashboard's
header shows.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from hm_tui.cli import output as out
from hm_tui.cli.vins_show import point_json
from hm_tui.service.feed.health import FeedHealth
from hm_tui.service.models import DataPoint


def data_json(point: DataPoint, now: datetime) -> dict[str, Any]:
    """A data line of `feed --json`: the fields of `vins data --json`, plus when it arrived,
    how old its data is as it is printed (None without a timestamp) and whether the broker
    delivered it from the persistent session's backlog (`replayed`)."""
    age = None if point.timestamp is None else round((now - point.timestamp).total_seconds(), 3)
    return {
        **point_json(point),
        "received_at": point.received_at.isoformat(),
        "age_s": age,
        "replayed": point.replayed,
    }


def status_json(health: FeedHealth, now: datetime) -> dict[str, Any]:
    """A status line of `feed --json` (stderr)."""
    state = health.state
    return {
        "event": "feed_status",
        "at": now.isoformat(),
        "status": state.status,
        "level": health.level,
        "headline": health.headline,
        "error": out.shown(health.detail) if health.detail else None,
        "since_last_s": _rounded(health.since_last_s),
        "stall_after_s": _rounded(health.stall_after_s),
        "received": state.received,
        "duplicates": state.duplicates,
        "replayed": state.replayed,
    }


class StatusLines:
    """Writes a status line to stderr each time the feed's headline or error changes."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self._said: tuple[str, str | None] | None = None
        self._silent: float | None = None  # how long the last stall had lasted

    def update(self, health: FeedHealth) -> None:
        current = (health.headline, health.detail)
        if health.stalled:
            self._silent = health.since_last_s
        if current == self._said:
            return
        self._said = current
        now = datetime.now(UTC)
        if self.as_json:
            print(json.dumps(status_json(health, now), ensure_ascii=True), file=sys.stderr)
            sys.stderr.flush()
            return
        out.warn(f"feed {self._text(health)}")

    def _text(self, health: FeedHealth) -> str:
        if health.stalled:
            quiet, window = _span(health.since_last_s or 0), _span(health.stall_after_s)
            return f"stalled: no data for {quiet} (stall after {window})"
        text = out.shown(health.headline)
        silent, self._silent = self._silent, None
        last = health.since_last_s
        if health.level == "ok" and silent is not None and last is not None and last < silent:
            text += f": data again after {_span(silent)}"
        detail = health.detail
        return f"{text}: {out.shown(detail)}" if detail else text


def say_session(state: Any, as_json: bool) -> None:
    """Where this feed stands in the certificate's one MQTT session (docs/feed-sessions.md), on
    stderr: a line, or with `--json` a `{"event": "feed_session", ...}` object."""
    if as_json:
        fields = {"role": state.role, "holder_pid": state.holder_pid}
        why = out.shown(state.sharing_error) if state.sharing_error else None
        line = {"event": "feed_session", **fields, "sharing_error": why}
        print(json.dumps(line, ensure_ascii=True), file=sys.stderr, flush=True)
    elif state.role == "holder":
        out.warn("feed holds the MQTT session (other hm-tui on this profile attach to it)")
    elif state.role == "attached":
        pid = state.holder_pid
        out.warn(f"feed attached to hm-tui process {pid}, which holds the MQTT session")
    else:
        out.warn(f"feed cannot share the MQTT session: {out.shown(state.sharing_error or '')}")


def _span(seconds: float) -> str:
    now = datetime.now(UTC)
    return out.age(now - timedelta(seconds=seconds), now)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
