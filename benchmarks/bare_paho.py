"""`python -m benchmarks.bare_paho`: the ceiling of a paho-based app. The app's client settings
(MQTT 3.1.1, clean session off, QoS 1, mutual TLS), no parsing, no UI: each payload is written
to a file with its arrival time, parsed later by the benchmark.
"""

from __future__ import annotations

import argparse
import signal
import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

PROBE = b'"message_id":"ffffffff'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks.bare_paho")
    for name in ("port", "ca", "cert", "key", "client-id", "topic", "out"):
        parser.add_argument(f"--{name}", required=True)
    return parser.parse_args(argv)


def make_client(args: argparse.Namespace, out: Any) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=args.client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    client.tls_set(
        ca_certs=args.ca, certfile=args.cert, keyfile=args.key, tls_version=ssl.PROTOCOL_TLS_CLIENT
    )

    def on_connect(client: mqtt.Client, *_: Any) -> None:
        client.subscribe(args.topic, qos=1)

    def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = message.payload
        out.write(f"{time.time():.6f} {payload.decode('utf-8', 'replace')}\n")
        if PROBE in payload:
            out.flush()

    client.on_connect = on_connect
    client.on_message = on_message
    return client


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open(args.out, "w", encoding="utf-8", buffering=1 << 16) as out:
        client = make_client(args, out)
        client.connect("127.0.0.1", int(args.port), keepalive=60)
        client.loop_start()
        stop.wait()
        client.disconnect()
        client.loop_stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
