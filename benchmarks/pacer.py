"""The C publisher at a steady rate: several `mosquitto_pub -l` processes fed lines on a clock."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from benchmarks.broker import ClientTls
from benchmarks.messages import Stream, iso_ms, make_stream, message_id

TICK = 0.002


@dataclass(slots=True)
class Paced:
    """What was published: count, wall-clock start and end, and the rate actually reached."""

    sent: int
    started_at: float
    ended_at: float
    acked_at: float

    @property
    def rate(self) -> float:
        return self.sent / max(1e-9, self.ended_at - self.started_at)


def mosquitto_pub(
    port: int, tls: ClientTls, topic: str, client_id: str, message: str | None = None
) -> subprocess.Popen[bytes]:
    """One `mosquitto_pub`: from stdin lines (`-l`) unless a single message is given."""
    cmd = [
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--cafile",
        str(tls.ca_file),
        "--cert",
        str(tls.cert_file),
        "--key",
        str(tls.key_file),
        "-q",
        "1",
        "-t",
        topic,
        "-i",
        client_id,
        "-M",
        "1000",
    ]
    cmd += ["-m", message] if message is not None else ["-l"]
    return subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if message is None else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def publish_one(port: int, tls: ClientTls, stream: Stream, mid: str) -> None:
    """A single message (warm-up probes); waits for the publisher to exit."""
    mosquitto_pub(
        port, tls, stream.topic, f"bench-probe-{mid[-6:]}", stream.payload(mid, iso_ms(time.time()))
    ).wait(timeout=10)


def publish_paced(
    port: int, tls: ClientTls, *, rate: float, seconds: float, run_tag: int, publishers: int = 4
) -> Paced:
    """Publish rate×seconds messages evenly over `seconds`, round-robin over the publishers."""
    streams = [make_stream(i) for i in range(publishers)]
    procs = [
        mosquitto_pub(port, tls, s.topic, f"bench-pub-{run_tag:x}-{i}")
        for i, s in enumerate(streams)
    ]
    time.sleep(0.3)  # let every publisher finish its TLS handshake before the clock starts
    total, sent = round(rate * seconds), 0
    started = time.time()
    while sent < total:
        now = time.time()
        due = min(total, int((now - started) * rate) + 1)
        if due > sent:
            _write_batch(procs, streams, run_tag, sent, due, iso_ms(now))
            sent = due
        time.sleep(TICK)
    ended = time.time()
    _close(procs)
    return Paced(sent, started, ended, time.time())


def _write_batch(
    procs: list[subprocess.Popen[bytes]],
    streams: list[Stream],
    run_tag: int,
    first: int,
    end: int,
    timestamp: str,
) -> None:
    batches: list[list[str]] = [[] for _ in procs]
    for seq in range(first, end):
        slot = seq % len(procs)
        batches[slot].append(streams[slot].payload(message_id(run_tag, seq), timestamp))
    for proc, lines in zip(procs, batches, strict=True):
        if lines and proc.stdin is not None:
            proc.stdin.write(("\n".join(lines) + "\n").encode())
            proc.stdin.flush()


def _close(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.stdin is not None:
            proc.stdin.close()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
