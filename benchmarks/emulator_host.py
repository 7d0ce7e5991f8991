"""`python -m benchmarks.emulator_host`: the emulator in its own process, as `hm-tui emulator`
runs it, plus one benchmark-only endpoint: POST /force {"vins": [...], "status": "..."} changes
many clearances at once through the emulator's state (what POST /_emulator/vehicles/{vin} does
one HTTP request at a time, which costs seconds for the 1,000 changes of a 100,000-VIN refresh).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

CONTROL_FILE = "bench-control.json"


def force_route(emulator: Any) -> web.RouteDef:
    async def force(request: web.Request) -> web.Response:
        body = await request.json()
        now = emulator.context.now()
        for vin in body["vins"]:
            emulator.state.force(vin, body["status"], body.get("reason"), now)
        return web.json_response({"forced": len(body["vins"])})

    return web.post("/force", force)


async def serve(args: argparse.Namespace) -> None:
    from hm_tui.emulator.server import Emulator, EmulatorConfig

    config = EmulatorConfig(
        state_dir=Path(args.state_dir), fleet=args.fleet, speed=args.speed, seed=args.seed
    )
    emulator = Emulator(config)
    await emulator.start()
    app = web.Application()
    app.add_routes([force_route(emulator)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    (Path(args.state_dir) / CONTROL_FILE).write_text(json.dumps({"port": port}))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.emulator_host")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
