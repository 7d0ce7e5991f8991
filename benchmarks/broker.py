"""A real mosquitto on a free loopback port, with mutual TLS like the platform's broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import trustme

from benchmarks.proc import free_port


@dataclass(frozen=True, slots=True)
class ClientTls:
    """What every MQTT client of the benchmark presents: CA, certificate, key."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    common_name: str


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def write_certs(directory: Path) -> tuple[Path, Path, ClientTls]:
    """CA, server certificate (127.0.0.1) and one client certificate with a UUID common name."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost", common_name="127.0.0.1")
    common_name = str(uuid.uuid4())
    client = ca.issue_cert(f"{common_name}.clients.invalid", common_name=common_name)
    paths = {
        name: directory / name
        for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }
    ca.cert_pem.write_to_path(str(paths["ca.pem"]))
    server.cert_chain_pems[0].write_to_path(str(paths["server.pem"]))
    server.private_key_pem.write_to_path(str(paths["server.key"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client.pem"]))
    client.private_key_pem.write_to_path(str(paths["client.key"]))
    for path in paths.values():
        path.chmod(0o600)
    tls = ClientTls(paths["ca.pem"], paths["client.pem"], paths["client.key"], common_name)
    return paths["server.pem"], paths["server.key"], tls


def config_text(port: int, ca: Path, cert: Path, key: Path) -> str:
    # max_queued_messages defaults to 1000 and silently drops beyond it; as root mosquitto
    # switches to user `mosquitto` unless told otherwise (our key files are 0600).
    lines = [
        "per_listener_settings false",
        "persistence false",
        "allow_anonymous true",
        "max_queued_messages 0",
        "max_inflight_messages 0",
        "log_type error",
        "log_dest stderr",
        f"listener {port} 127.0.0.1",
        f"cafile {ca}",
        f"certfile {cert}",
        f"keyfile {key}",
        "require_certificate true",
        "use_identity_as_username true",
    ]
    if os.geteuid() == 0:
        lines.insert(0, "user root")
    return "\n".join(lines) + "\n"


class Mosquitto:
    """Start with `start()`, stop with `stop()`; `port` and `tls` describe how to connect."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.tls: ClientTls | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (Debian package `mosquitto`)")
        self.directory.mkdir(parents=True, exist_ok=True)
        server_cert, server_key, self.tls = write_certs(self.directory)
        self.port = free_port()
        conf = self.directory / "mosquitto.conf"
        conf.write_text(config_text(self.port, self.tls.ca_file, server_cert, server_key))
        with (self.directory / "mosquitto.log").open("wb") as log:
            self._process = subprocess.Popen(
                [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log
            )
        self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                log = (self.directory / "mosquitto.log").read_text(errors="replace")
                raise RuntimeError(f"mosquitto exited: {log.strip()[-200:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
