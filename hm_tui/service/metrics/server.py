"""The metrics endpoint: an HTTP server in a thread of its own serving one registry's metrics in
Prometheus's text format (prometheus_client's WSGI app), on `HOST:PORT` (`/metrics`; any path
answers the same, as prometheus_client's own server does).

The registry is the server's own, never prometheus_client's global one: it holds the session
collector it is given and the process's standard metrics (`process_*`: memory, CPU, open files).
Nothing is written to stderr by the server, ever: in the dashboard it would land on the screen;
failures go to the `hm_tui.metrics` logger.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

log = logging.getLogger("hm_tui.metrics")

EXAMPLE = "127.0.0.1:9464"


class ListenError(ValueError):
    """The HOST:PORT given is not usable as written (a usage error)."""


class ServeError(Exception):
    """The address is fine but the server cannot listen there now (the port is taken...)."""


def parse_listen(listen: str, option: str = "--listen") -> tuple[str, int]:
    """ "host:port" or "[v6]:port" -> (host, port); port 0 picks a free one."""
    host, sep, port = listen.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ListenError(f"{option} must be HOST:PORT, for example {EXAMPLE} (got {listen!r})")
    return host, int(port)


class MetricsServer:
    """Serves `collector` on `listen` from construction until `close()`."""

    def __init__(self, listen: str, collector: Collector, *, option: str = "--listen") -> None:
        host, port = parse_listen(listen, option)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)
        self._server = _bind(host, port, make_wsgi_app(self.registry), option)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="hm-metrics-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


class _Server(ThreadingWSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("metrics request from %s failed", client_address, exc_info=True)


class _QuietHandler(WSGIRequestHandler):
    """No request log, and an application error goes to the log, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def get_stderr(self) -> Any:
        return _LogStream()


class _LogStream:
    def write(self, text: str) -> None:
        if text.strip():
            log.warning("metrics endpoint: %s", text.rstrip())

    def flush(self) -> None:
        return None


def _bind(host: str, port: int, app: Any, option: str) -> _Server:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ListenError(f"{option}: {host!r} is not an address or a known host name") from None
    family, _, _, _, address = infos[0]

    class Server(_Server):
        address_family = family

    try:
        return make_server(str(address[0]), port, app, Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise ServeError(_why(exc, host, port)) from None


def _why(exc: OSError, host: str, port: int) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot serve metrics on {where}: the port is in use (choose another port)"
    if exc.errno == errno.EACCES:
        return f"cannot serve metrics on {where}: permission denied (ports below 1024 need root)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot serve metrics on {where}: {host} is not an address of this machine"
    return f"cannot serve metrics on {where}: {exc.strerror or exc}"
