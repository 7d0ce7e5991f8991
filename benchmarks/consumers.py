"""The feed's consumers on one broker: mosquitto_sub (C), bare paho, MQTT.js, and the app.

Each writes what it receives to its own file; `ready()` says it has seen a warm-up probe,
`size()` shows progress, `receipts()` reads back (arrival, message_id, publish time) triples.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.broker import Mosquitto
from benchmarks.messages import subscription
from benchmarks.proc import REPO, last_error
from benchmarks.received import Receipt, read_stamped_file

HERE = Path(__file__).resolve().parent
MQTTJS_BIN = HERE / "node_modules" / "mqtt" / "build" / "bin" / "mqtt.js"


class Unavailable(Exception):
    """This consumer cannot run here; the message says why."""


def tls_args(broker: Mosquitto) -> dict[str, str]:
    assert broker.tls is not None
    return {
        "ca": str(broker.tls.ca_file),
        "cert": str(broker.tls.cert_file),
        "key": str(broker.tls.key_file),
    }


class Consumer:
    """A subscriber process writing "<arrival epoch> <payload>" lines to `out`."""

    name = "consumer"

    def __init__(self, directory: Path) -> None:
        self.out = directory / f"{self.name}.txt"
        self.procs: list[subprocess.Popen[bytes]] = []

    def command(self, broker: Mosquitto, client_id: str) -> list[str]:
        raise NotImplementedError

    def start(self, broker: Mosquitto, client_id: str) -> None:
        self.out.unlink(missing_ok=True)
        with self.out.open("wb") as sink:
            self.procs = [
                subprocess.Popen(
                    self.command(broker, client_id), stdout=sink, stderr=subprocess.PIPE, cwd=REPO
                )
            ]

    def ready(self) -> bool:
        return self.out.exists() and self.out.stat().st_size > 0

    def failed(self) -> str | None:
        """Why the consumer died before it was stopped (None while it runs)."""
        for proc in self.procs:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                return f"{self.name} exited {proc.returncode}: {last_error(err)}"
        return None

    def size(self) -> int:
        return self.out.stat().st_size if self.out.exists() else 0

    def stop(self) -> dict[str, Any]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {}

    def receipts(self) -> list[Receipt]:
        return read_stamped_file(self.out)


class MosquittoSub(Consumer):
    name = "mosquitto_sub"

    def command(self, broker: Mosquitto, client_id: str) -> list[str]:
        tls = tls_args(broker)
        # mosquitto_sub flushes after every message, so the warm-up probe shows up at once
        return [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "--cafile",
            tls["ca"],
            "--cert",
            tls["cert"],
            "--key",
            tls["key"],
            "-q",
            "1",
            "-c",
            "-i",
            client_id,
            "-t",
            subscription(),
            "-F",
            "%U %p",
        ]


class BarePaho(Consumer):
    name = "bare_paho"

    def command(self, broker: Mosquitto, client_id: str) -> list[str]:
        tls = tls_args(broker)
        return [
            sys.executable,
            "-m",
            "benchmarks.bare_paho",
            "--port",
            str(broker.port),
            "--ca",
            tls["ca"],
            "--cert",
            tls["cert"],
            "--key",
            tls["key"],
            "--client-id",
            client_id,
            "--topic",
            subscription(),
            "--out",
            str(self.out),
        ]

    def start(self, broker: Mosquitto, client_id: str) -> None:
        self.out.unlink(missing_ok=True)
        self.procs = [
            subprocess.Popen(
                self.command(broker, client_id),
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        ]


def ensure_mqttjs(timeout: float = 180) -> Path:
    """MQTT.js's CLI, installed into benchmarks/node_modules on first use."""
    if MQTTJS_BIN.exists():
        return MQTTJS_BIN
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Unavailable("node/npm not installed (Debian packages nodejs, npm)")
    try:
        done = subprocess.run(
            ["npm", "install", "--prefix", str(HERE), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"npm install did not finish in {timeout:.0f} s") from exc
    if done.returncode != 0 or not MQTTJS_BIN.exists():
        raise Unavailable(f"npm install mqtt failed: {last_error(done.stderr)}")
    return MQTTJS_BIN


class MqttJs(Consumer):
    """`mqtt sub` piped through `benchmarks.stamp`, which adds arrival times."""

    name = "mqttjs"

    def command(self, broker: Mosquitto, client_id: str) -> list[str]:
        tls = tls_args(broker)
        return [
            "node",
            str(ensure_mqttjs()),
            "sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-l",
            "mqtts",
            "--ca",
            tls["ca"],
            "--cert",
            tls["cert"],
            "--key",
            tls["key"],
            "-q",
            "1",
            "--no-clean",
            "-i",
            client_id,
            "-t",
            subscription(),
        ]

    def start(self, broker: Mosquitto, client_id: str) -> None:
        self.out.unlink(missing_ok=True)
        node = subprocess.Popen(
            self.command(broker, client_id),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        stamp = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.stamp", str(self.out)],
            stdin=node.stdout,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        assert node.stdout is not None
        node.stdout.close()  # the stamp process owns the pipe now
        self.procs = [node, stamp]

    def stop(self) -> dict[str, Any]:
        node, stamp = self.procs
        node.send_signal(signal.SIGTERM)  # stamp then sees end of input and flushes its file
        for proc in (node, stamp):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {}
