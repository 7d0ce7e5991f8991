"""`python -m benchmarks.stamp OUT`: copy stdin lines to OUT, each prefixed with its arrival epoch.

Used behind MQTT.js's `mqtt sub`, which prints payloads but no times.
"""

from __future__ import annotations

import sys
import time

PROBE = b'"message_id":"ffffffff'


def main(path: str) -> int:
    with open(path, "w", encoding="utf-8", buffering=1 << 16) as out:
        for raw in sys.stdin.buffer:
            out.write(f"{time.time():.6f} {raw.decode('utf-8', 'replace')}")
            if PROBE in raw:
                out.flush()  # the benchmark waits to see a warm-up probe
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
