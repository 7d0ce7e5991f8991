"""Feed benchmark: a C publisher into mosquitto at rising rates, measured at every consumer.

One step = one rate for `seconds`: consumers connect (persistent session, QoS 1, mutual TLS),
warm-up probes until each has seen one, the paced publish, then wait until every consumer has
gone quiet. "Kept up" = every message_id seen and the last one within 1 s of the last publish.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.broker import Mosquitto
from benchmarks.consumers import BarePaho, Consumer, MosquittoSub, MqttJs, Unavailable
from benchmarks.feed_app import AppFeed
from benchmarks.messages import PROBE_TAG, make_stream, message_id
from benchmarks.pacer import Paced, publish_one, publish_paced
from benchmarks.received import tally

TARGET_RATE = 5000
FULL_RATES = (1000, 2500, 5000, 10000, 20000)
CLIMB_TO = 80000  # the full run goes on past FULL_RATES with whoever still keeps up
CAUGHT_UP_S = 1.0
WARM_UP_S = 30.0
QUIET_S = 0.5

ConsumerFactory = Callable[[Path], Consumer]
CONSUMERS: dict[str, ConsumerFactory] = {
    "app": AppFeed,
    "mosquitto_sub": MosquittoSub,
    "bare_paho": BarePaho,
    "mqttjs": MqttJs,
}


@dataclass(slots=True)
class Step:
    """One rate, one or more consumers: what was published and what each consumer saw."""

    rate: float
    seconds: float
    paced: Paced | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def kept_up(self, name: str) -> bool:
        result = self.results.get(name)
        return bool(result and result["lost"] == 0 and (result["catch_up_s"] or 0.0) <= CAUGHT_UP_S)


def warm_up(broker: Mosquitto, consumers: Sequence[Consumer], timeout: float) -> list[Consumer]:
    """Publish probes until every consumer has one; returns those that never did."""
    assert broker.tls is not None
    stream = make_stream(0)
    deadline = time.monotonic() + timeout
    waiting = list(consumers)
    sequence = 0
    while waiting and time.monotonic() < deadline:
        publish_one(broker.port, broker.tls, stream, message_id(PROBE_TAG, sequence))
        sequence += 1
        end = time.monotonic() + 0.3
        while waiting and time.monotonic() < end:
            waiting = [c for c in waiting if not c.ready() and not c.failed()]
            time.sleep(0.02)
        waiting = [c for c in waiting if not c.failed()]
    return [c for c in consumers if not c.ready()]


def wait_quiet(consumers: Sequence[Consumer], published_at: float, limit: float) -> None:
    """Until no consumer's output has grown for QUIET_S, or `limit` seconds after publishing."""
    sizes = [c.size() for c in consumers]
    quiet_since = time.monotonic()
    while time.time() < published_at + limit:
        time.sleep(0.2)
        now = [c.size() for c in consumers]
        if now != sizes:
            sizes, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S:
            return


def run_step(
    broker: Mosquitto,
    names: Sequence[str],
    rate: float,
    seconds: float,
    run_tag: int,
    directory: Path,
) -> Step:
    step = Step(rate, seconds)
    started: list[Consumer] = []
    try:
        _measure(step, broker, names, run_tag, directory, started)
    except BaseException:
        for consumer in started:  # never leave a subscriber behind (Ctrl+C, a test timeout)
            consumer.stop()
        raise
    return step


def _measure(
    step: Step,
    broker: Mosquitto,
    names: Sequence[str],
    run_tag: int,
    directory: Path,
    started: list[Consumer],
) -> None:
    for name in names:
        consumer = CONSUMERS[name](directory)
        try:
            consumer.start(broker, f"bench-{name}-{run_tag:08x}")
            started.append(consumer)
        except (Unavailable, OSError) as exc:
            step.errors[name] = str(exc)
    for consumer in warm_up(broker, started, WARM_UP_S):
        step.errors[consumer.name] = consumer.failed() or f"saw no message in {WARM_UP_S:.0f} s"
        consumer.stop()
        started.remove(consumer)
    if not started:
        return
    assert broker.tls is not None
    step.paced = publish_paced(
        broker.port, broker.tls, rate=step.rate, seconds=step.seconds, run_tag=run_tag
    )
    wait_quiet(started, step.paced.ended_at, limit=max(5.0, step.seconds))
    while started:
        consumer = started.pop(0)
        extra = consumer.stop()
        received = tally(consumer.receipts(), run_tag, step.paced.sent)
        step.results[consumer.name] = {
            **received.as_dict(step.paced.started_at, step.paced.ended_at),
            **extra,
        }


Plan = Sequence[tuple[float, Sequence[str], float]]  # (rate, consumers, seconds) per step


def run_steps(
    plan: Plan, log: Callable[[str], None], climb_to: float | None = None
) -> tuple[list[Step], str | None]:
    """Every (rate, consumers) of the plan on one broker; a consumer that fell behind at one
    rate is not run at higher ones. With `climb_to`, consumers still keeping up after the plan
    go on at twice the last rate, and twice again, up to `climb_to` (or until the publisher
    falls short): a peer ratio of two clients that both kept up with everything says nothing.
    Returns the steps and, if the broker failed, why."""
    steps: list[Step] = []
    behind: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="hm-bench-feed-") as tmp:
        broker = Mosquitto(Path(tmp) / "broker")
        try:
            broker.start()
        except (RuntimeError, OSError) as exc:
            return steps, str(exc)
        try:
            for index, (rate, names, seconds) in enumerate(plan):
                todo = [n for n in names if n not in behind]
                if not todo:
                    continue
                log(f"feed: {rate:,.0f} msg/s for {seconds:.0f} s → {', '.join(todo)}")
                step = run_step(broker, todo, rate, seconds, index + 1, Path(tmp))
                behind.update(n for n in step.results if not step.kept_up(n))
                steps.append(step)
            for rate, todo, seconds in _climb(steps, behind, climb_to):
                log(f"feed: {rate:,.0f} msg/s for {seconds:.0f} s → {todo} (climbing)")
                step = run_step(broker, [todo], rate, seconds, len(steps) + 1, Path(tmp))
                behind.update(n for n in step.results if not step.kept_up(n))
                steps.append(step)
        finally:
            broker.stop()
    return steps, None


def _climb(
    steps: list[Step], behind: set[str], climb_to: float | None
) -> Iterator[tuple[float, str, float]]:
    """(rate, consumer, seconds) past the plan: each consumer that kept up with the plan's
    highest rate, alone, at doubling rates; it stops at `climb_to`, when nobody keeps up, or when
    the publisher cannot reach the rate (then the publisher is the limit, not the consumers)."""
    if climb_to is None or not steps:
        return
    rate = max(s.rate for s in steps)
    at_top = [s for s in steps if s.rate == rate]
    seconds = at_top[0].seconds
    climbing = [n for s in at_top for n in s.results if n not in behind]
    while climbing and rate * 2 <= climb_to:
        rate *= 2
        first = len(steps)
        for name in climbing:
            yield rate, name, seconds
        ran = steps[first:]
        if any(s.paced is not None and s.paced.rate < 0.95 * rate for s in ran):
            return
        climbing = [n for n in climbing if n not in behind]


def plan_for(quick: bool, seconds: float = 10.0, peer_seconds: float = 2.0) -> Plan:
    """Every consumer runs alone (two cores shared by four clients would measure the sharing).
    Quick: the app for `seconds` at the target rate, then each peer for `peer_seconds` at the
    same rate. Full: every rate for every consumer, `seconds` each."""
    if quick:
        return [
            (TARGET_RATE, ["app"], seconds),
            *((TARGET_RATE, [peer], peer_seconds) for peer in CONSUMERS if peer != "app"),
        ]
    return [(rate, [name], seconds) for rate in FULL_RATES for name in CONSUMERS]
