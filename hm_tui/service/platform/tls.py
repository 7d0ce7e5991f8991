"""The verified TLS context every platform call uses: built once per process, early, in a thread.

Loading the CA bundle costs 35-60 ms of CPU, on the start-up's critical path when httpx does it
while the client is created. OpenSSL releases the GIL while it reads the bundle, so `prepare()`
called at process start builds it on the other core while the UI imports; `verified_context()`
then only collects it. The trust store is the one httpx would pick (`SSL_CERT_FILE`,
`SSL_CERT_DIR`, else certifi's bundle); certificates and host names are always verified.
"""

from __future__ import annotations

import os
import ssl
import threading
from concurrent.futures import Future

_lock = threading.Lock()
_context: Future[ssl.SSLContext] | None = None


def prepare() -> None:
    """Start building the context in a background thread, unless that has begun already."""
    ready = _claim()
    if ready is not None:
        threading.Thread(
            target=_build_into, args=(ready,), name="hm-tls-context", daemon=True
        ).start()


def verified_context() -> ssl.SSLContext:
    """The shared context: waits for `prepare()`'s thread, or builds it now if none ran."""
    ready = _claim()
    if ready is not None:
        _build_into(ready)
    assert _context is not None
    return _context.result()


def _claim() -> Future[ssl.SSLContext] | None:
    """A new slot for the context if there is none yet (the caller fills it), else None."""
    global _context
    with _lock:
        if _context is not None:
            return None
        _context = Future()
        return _context


def _build_into(ready: Future[ssl.SSLContext]) -> None:
    try:
        ready.set_result(_new_context())
    except BaseException as error:  # raised again to whoever asks for the context
        ready.set_exception(error)


def _new_context() -> ssl.SSLContext:
    """What `httpx.create_ssl_context(verify=True)` makes, without importing httpx here."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
