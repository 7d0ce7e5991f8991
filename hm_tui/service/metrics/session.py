"""`SessionMetrics`: a Prometheus collector for one session, read at each scrape.

It serves what the session knows (the roster, the platform link, the live feed, the webhook
receiver) under the `hm_tui_` prefix; docs/metrics.md lists every metric. It is registered in a
registry of its own (`metrics.server`), never in prometheus_client's global one, so nothing
leaks between sessions or tests. A scrape runs in the HTTP server's thread: everything read here
is either swapped whole by the session (roster data, health) or guarded by a lock (the feed's
state, the counts kept here), so the event loop is never waited on.

Never served: secrets, tokens, URLs, VINs (not even as label values: see metrics/fleet.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hm_tui import __version__
from hm_tui.domain.reasons import REASONS
from hm_tui.service.metrics.feed import ConnectionWatch
from hm_tui.service.metrics.fleet import (
    NO_REASON,
    OTHER,
    QUANTILES,
    fleet_figures,
    reason_label,
)
from hm_tui.service.roster.model import RosterChanges

if TYPE_CHECKING:  # (annotations only)
    from hm_tui.service.feed.client import FeedState
    from hm_tui.service.feed.health import FeedHealth
    from hm_tui.service.session import Session

log = logging.getLogger("hm_tui.metrics")

API_STATES = ("starting", "ok", "degraded", "down")
FEED_STATES = (
    "off",
    "waiting",
    "connecting",
    "connected",
    "unresponsive",
    "retrying",
    "taken over",
    "stopped",
)
#: Served at 0 from the start (a counter that appears with its first increment is missed by
#: `increase()`): every catalogue reason, and the error codes the example alerts watch.
REJECTION_REASONS = (*REASONS, OTHER, NO_REASON)
ERROR_CODES = ("401", "403", "429", "500", "502", "503", "504", "network")
WEBHOOK_RESULTS = {
    "accepted": "accepted",
    "rejected": "rejected",
    "duplicates": "duplicate",
    "pings": "ping",
    "ignored": "ignored",
}
WEBHOOK_REFUSALS = {"busy": "limit", "too_slow": "too_slow"}  # receiver stats → `reason`


class SessionMetrics(Collector):
    """Follows one session at a time (`follow`): the dashboard may switch profiles. Counts
    kept here (rejections seen) carry on across sessions, as counters must."""

    def __init__(self, *, drain_feed: bool = False) -> None:
        self._drain = drain_feed
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._watch: ConnectionWatch | None = None
        self._rejections: Counter[str] = Counter()
        self._errors = 0

    def follow(self, session: Session) -> None:
        """Serve `session` from now on (call on its event loop, before or after it starts)."""
        self.close()
        watch = None
        if session.feed is not None:
            watch = ConnectionWatch(session.feed, drain=self._drain)
            watch.start()
        with self._lock:
            self._session, self._watch = session, watch
        self._unsubscribe = session.subscribe(self._on_event)

    def close(self) -> None:
        """Stop following the current session (its numbers leave the endpoint)."""
        with self._lock:
            watch, self._watch, self._session = self._watch, None, None
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        if watch is not None:
            watch.stop()

    def _on_event(self, event: object) -> None:
        """Session events (its loop): count the clearances that turn rejected."""
        if not isinstance(event, RosterChanges):
            return
        turned = [c.reason for c in event.changed if c.new == "rejected" and c.old != "rejected"]
        if turned:
            with self._lock:
                self._rejections.update(map(reason_label, turned))

    # -- the scrape ------------------------------------------------------------------------
    def describe(self) -> list[Metric]:
        return []  # the metrics depend on the session: registered without a check

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            session, watch, rejections = self._session, self._watch, dict(self._rejections)
        build = GaugeMetricFamily(
            "hm_tui_build_info", "The hm-tui version serving these metrics.", labels=["version"]
        )
        build.add_metric([__version__], 1)
        yield build
        yield _counter_by(
            "hm_tui_rejections_total",
            "Clearances seen turning rejected since hm-tui started, by reason.",
            "reason",
            {**dict.fromkeys(REJECTION_REASONS, 0), **rejections},
        )
        yield _gauge("hm_tui_session_up", "1 while a session is served.", int(bool(session)))
        if session is not None:
            disconnects = watch.disconnects if watch else None
            for part in (
                lambda: [_session_info(session)],
                lambda: _fleet(session),
                lambda: _api(session),
                lambda: _feed(session, disconnects),
                lambda: _webhook(session),
            ):
                yield from self._guarded(part)
        yield _counter(
            "hm_tui_metrics_collect_errors_total",
            "Scrapes in which a part of these metrics failed to be read (see the log).",
            self._errors,
        )

    def _guarded(self, part: Callable[[], Iterable[Metric]]) -> list[Metric]:
        """A part's metrics, or none if reading it failed (the others are still served)."""
        try:
            return list(part())
        except Exception:
            log.exception("reading metrics failed")
            with self._lock:
                self._errors += 1
            return []


def _counter_by(name: str, doc: str, label: str, values: dict[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _gauge(name: str, doc: str, value: float) -> Metric:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> Metric:
    return CounterMetricFamily(name, doc, value=value)


def _one_hot(name: str, doc: str, label: str, states: tuple[str, ...], now: str) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for state in states:
        family.add_metric([state], 1 if state == now else 0)
    return family


def _session_info(session: Session) -> Metric:
    info = GaugeMetricFamily(
        "hm_tui_session_info",
        "The profile served and its environment (live or sandbox).",
        labels=["profile", "environment"],
    )
    info.add_metric([session.profile.name, session.profile.environment], 1)
    return info


def _fleet(session: Session) -> Iterator[Metric]:
    try:
        now = session.platform_now().timestamp()
    except RuntimeError:  # not started: no platform clock known yet
        now = time.time()
    figures = fleet_figures(session.roster.entries_now(), now)
    clearances = GaugeMetricFamily(
        "hm_tui_clearances",
        "Clearances in the roster now, by status and brand.",
        labels=["status", "brand"],
    )
    for (status, brand), count in sorted(figures.clearances.items()):
        clearances.add_metric([status, brand], count)
    yield clearances
    rejected = GaugeMetricFamily(
        "hm_tui_rejected_clearances",
        "Rejected clearances in the roster now, by reason.",
        labels=["reason"],
    )
    for reason, count in sorted(figures.rejected.items()):
        rejected.add_metric([reason], count)
    yield rejected
    ages = GaugeMetricFamily(
        "hm_tui_pending_age_seconds",
        "How long pending clearances have waited, by brand: median (0.5), 90th percentile "
        "(0.9) and oldest (1), on the platform's clock.",
        labels=["brand", "quantile"],
    )
    for brand, pending in sorted(figures.pending.items()):
        for q in QUANTILES:
            ages.add_metric([brand, f"{q:g}"], round(pending.quantiles[q], 3))
    yield ages


def _api(session: Session) -> Iterator[Metric]:
    health = session.health
    yield _one_hot(
        "hm_tui_api_state",
        "The platform link: starting, ok, degraded or down.",
        "state",
        API_STATES,
        health.api,
    )
    yield _gauge(
        "hm_tui_api_up", "1 when the last poll of the platform succeeded.", int(health.api == "ok")
    )
    yield _gauge("hm_tui_roster_stale", "1 when the roster may be out of date.", int(health.stale))
    yield _gauge(
        "hm_tui_poll_consecutive_failures",
        "Failed polls of the platform in a row.",
        health.consecutive_failures,
    )
    if health.last_refresh is not None:
        yield _gauge(
            "hm_tui_roster_last_refresh_timestamp_seconds",
            "When the roster was last read from the platform (Unix time).",
            health.last_refresh.timestamp(),
        )
    if health.token_age_s is not None:
        yield _gauge(
            "hm_tui_token_age_seconds",
            "Age of the access token in use.",
            round(health.token_age_s, 3),
        )
    try:
        client = session.client
    except RuntimeError:  # not started yet: nothing sent
        return
    counts = client.api_counts
    requests, errors = counts.snapshot()
    yield _counter(
        "hm_tui_api_requests_total",
        "Requests sent to the platform (every attempt, token requests too).",
        requests,
    )
    yield _counter_by(
        "hm_tui_api_errors_total",
        "Failed platform requests by HTTP status code (network: no answer).",
        "code",
        {**dict.fromkeys(ERROR_CODES, 0), **errors},
    )
    tokens = getattr(client, "tokens", None)
    if tokens is not None:
        yield _counter("hm_tui_token_renewals_total", "Access tokens obtained.", tokens.renewals)


def _feed(session: Session, disconnects: int | None) -> Iterator[Metric]:
    status = session.feed_status
    yield _one_hot(
        "hm_tui_feed_state",
        "The live feed (MQTT): off, waiting, connecting, connected, unresponsive, retrying, "
        "taken over or stopped.",
        "state",
        FEED_STATES,
        status,
    )
    if session.feed is None:
        return
    state = session.feed.state
    yield _gauge(
        "hm_tui_feed_connected",
        "1 while the feed's MQTT connection is up and the broker answers.",
        int(status == "connected"),
    )
    yield from _feed_counts(state)
    health = session.feed_health()
    if health is not None:
        yield from _feed_health(health)
    if disconnects is not None:
        yield _counter(
            "hm_tui_feed_disconnects_total",
            "Times the feed's MQTT connection was lost after it was up.",
            disconnects,
        )


def _feed_counts(state: FeedState) -> Iterator[Metric]:
    yield _counter(
        "hm_tui_feed_messages_total",
        "Messages received (after removing duplicates).",
        state.received,
    )
    yield _gauge(
        "hm_tui_feed_messages_per_second", "Messages received per second, recently.", state.rate
    )
    yield _counter(
        "hm_tui_feed_duplicate_messages_total",
        "Messages received again (same message id) and dropped.",
        state.duplicates,
    )
    yield _counter(
        "hm_tui_feed_replayed_messages_total",
        "Messages the broker delivered from the persistent session's queue at a (re)connect.",
        state.replayed,
    )
    yield _counter(
        "hm_tui_feed_session_takeovers_total",
        "Times another client using the same certificate took the MQTT session.",
        state.takeovers,
    )
    yield _counter(
        "hm_tui_feed_bad_payloads_total", "Messages that could not be read.", state.bad_payloads
    )
    yield _counter(
        "hm_tui_feed_dropped_points_total",
        "Data points dropped because the buffer was full.",
        state.dropped,
    )


def _feed_health(health: FeedHealth) -> Iterator[Metric]:
    """The feed's own judgement (service/feed/health.py): silence, and whether it is a stall."""
    silence = health.since_last_s if health.since_last_s is not None else health.silent_s
    if silence is not None:
        yield _gauge(
            "hm_tui_feed_seconds_since_last_message",
            "Seconds without a message: since the last one, or since the connection came up "
            "when none came yet.",
            round(silence, 3),
        )
        if health.since_last_s is not None:
            yield _gauge(
                "hm_tui_feed_last_message_timestamp_seconds",
                "When the last message arrived (Unix time).",
                round(time.time() - health.since_last_s, 3),
            )
    yield _gauge(
        "hm_tui_feed_stalled",
        "1 while the feed is connected but silent for longer than its own cadence.",
        int(health.stalled),
    )
    yield _gauge(
        "hm_tui_feed_stall_threshold_seconds",
        "The silence the feed counts as a stall now (learned from the stream's cadence).",
        round(health.stall_after_s, 3),
    )


def _webhook(session: Session) -> Iterator[Metric]:
    if not session.profile.webhook_listen:
        return
    receiver = session.webhook
    yield _gauge(
        "hm_tui_webhook_receiver_up",
        "1 while the webhook receiver listens.",
        int(receiver is not None),
    )
    stats = dict(receiver.stats) if receiver is not None else {}
    yield _counter_by(
        "hm_tui_webhook_deliveries_total",
        "Webhook deliveries by result: accepted, rejected (bad signature), duplicate, ping, "
        "ignored (another event).",
        "result",
        {result: stats.get(key, 0) for key, result in WEBHOOK_RESULTS.items()},
    )
    yield _counter_by(
        "hm_tui_webhook_refused_total",
        "Webhook connections and requests the receiver turned away before reading a delivery: "
        "limit (all its connections in use: 503), too_slow (the body took longer than its "
        "deadline: 408).",
        "reason",
        {reason: stats.get(key, 0) for key, reason in WEBHOOK_REFUSALS.items()},
    )
