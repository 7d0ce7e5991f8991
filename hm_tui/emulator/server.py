"""The emulator: the platform's REST API, control endpoints, MQTT and webhooks in one object.

`Emulator(config)` runs in the caller's asyncio loop (tests, `hm-tui emulator`);
`EmulatorThread(config)` runs one in a background thread with its own loop (snapshot tests);
`hm-tui --demo` runs its emulator in a child process (`hm_tui.emulator.process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from platformdirs import user_data_dir

from hm_tui.emulator import control, openapi, rest
from hm_tui.emulator.activity import FleetActivity
from hm_tui.emulator.clock import VirtualClock
from hm_tui.emulator.config import EmulatorConfig
from hm_tui.emulator.context import CONTEXT, Context
from hm_tui.emulator.fleet_sim import populate
from hm_tui.emulator.mqtt_link import MqttLink
from hm_tui.emulator.state import FleetState
from hm_tui.emulator.tokens import Identity, TokenIssuer, ensure_identity, write_private_json
from hm_tui.emulator.webhooks import WebhookSender

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"
TICK_S = 0.25  # real seconds between background ticks of the state machine
MAX_BODY = 64 * 1024 * 1024  # a POST of many thousand VINs must fit
#: Request line and header limits of the HTTP layer (aiohttp: 8 KiB). A `filter` naming a few
#: thousand VINs must fit; past these, aiohttp itself answers a plain 400 before any handler.
MAX_LINE = 1024 * 1024
MAX_FIELD = 64 * 1024


def default_state_dir() -> Path:
    return Path(user_data_dir("hm-tui")) / "emulator"


class Emulator:
    """A running fake platform: `await start()`, read `credentials`/`base_url`, `await stop()`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.state_dir = Path(config.state_dir or default_state_dir())
        self.clock = VirtualClock(config.speed)
        self.state = FleetState(config.seed)
        self.credentials: dict[str, Any] = {}
        self.base_url = ""
        self.url = ""  # root, for /_emulator/
        self.context: Context | None = None
        self.mqtt: MqttLink | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._webhooks: WebhookSender | None = None
        self._identity: Identity | None = None

    async def start(self) -> None:
        """Build the fleet, serve HTTP and MQTT, then write credentials.json."""
        await self.start_rest()
        await self.start_mqtt()

    async def start_rest(self, *, reserve_mqtt_port: bool = False) -> None:
        """Phase one: the fleet and the REST API, enough to log in and list clearances.

        `credentials` is filled in already; its MQTT port is right only if `reserve_mqtt_port`
        (a free port is picked now for the broker `start_mqtt` brings up: the demo hands out the
        credentials before the broker runs, and the feed client retries until it does).
        """
        cfg = self.config
        self._identity = identity = await asyncio.to_thread(ensure_identity, self.state_dir)
        await asyncio.to_thread(self._populate)
        tokens = TokenIssuer(identity, cfg.token_ttl)
        self.context = ctx = Context(self.clock, self.state, tokens, cfg.seed, cfg.environment)
        self.mqtt = MqttLink(
            cfg.host,
            cfg.mqtt_port,
            self.state_dir,
            cfg.broker_url,
            mqtt_format=cfg.mqtt_format,
            environment=cfg.environment,
            app_id=identity.app_id,
            seed=cfg.seed,
        )
        try:
            port = await self._serve_http(ctx)
            self.url = f"http://{_connect_host(cfg.host)}:{port}"
            self.base_url = tokens.base_url = f"{self.url}/v1"
            await self.mqtt.prepare(reserve_port=reserve_mqtt_port)
        except BaseException:
            await self.stop()
            raise
        self.credentials = self._build_credentials(identity)

    async def start_mqtt(self) -> None:
        """Phase two: broker, publisher, webhooks and the clock; then write credentials.json."""
        if self.context is None or self._identity is None:
            raise RuntimeError("start_rest() first")
        try:
            await self._start_background(self.context, self._identity)
        except BaseException:
            await self.stop()
            raise
        self.credentials = self._build_credentials(self._identity)
        write_private_json(self.state_dir / CREDENTIALS_FILE, self.credentials)

    def _populate(self) -> None:
        populate(self.state, self.config.fleet, self.config.seed, self.clock.now())
        self.state.encoded_list()  # warm the list cache: the first GET of a big fleet is fast

    async def _serve_http(self, ctx: Context) -> int:
        app = web.Application(
            middlewares=[rest.client_gone_middleware, rest.platform_middleware],
            client_max_size=MAX_BODY,
        )
        app[CONTEXT] = ctx
        rest.add_routes(app)
        control.add_routes(app)
        openapi.add_routes(app)
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=0.5,
            max_line_size=MAX_LINE,
            max_field_size=MAX_FIELD,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        return int(runner.addresses[0][1])

    async def _start_background(self, ctx: Context, identity: Identity) -> None:
        cfg = self.config
        if cfg.webhook_url:
            self._webhooks = WebhookSender(
                cfg.webhook_url, identity.webhook_secret, identity.app_id, ctx.stats
            )
            self.state.subscribe(self._webhooks.notify)
            await self._webhooks.start()
        assert self.mqtt is not None
        await self.mqtt.start(ctx, publish=cfg.publish)
        ctx.broker, ctx.publisher = self.mqtt.broker, self.mqtt.publisher
        if cfg.speed > 0:
            self._tasks.append(asyncio.create_task(self._tick_forever(ctx), name="hm-emu-tick"))
        if cfg.activity:
            activity = FleetActivity(self.state, cfg.seed)
            self._tasks.append(asyncio.create_task(activity.run(ctx.now), name="hm-emu-activity"))

    async def _tick_forever(self, ctx: Context) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            ctx.now()

    def _build_credentials(self, identity: Identity) -> dict[str, Any]:
        creds: dict[str, Any] = {
            "environment": self.config.environment,
            "base_url": self.base_url,
            "client_id": identity.client_id,
            "client_secret": identity.client_secret,
            "private_key_id": identity.private_key_id,
            "private_key_file": identity.private_key_file,
            "app_id": identity.app_id,
            "webhook_secret": identity.webhook_secret,
        }
        creds["mqtt"] = self.mqtt.credentials() if self.mqtt else None
        return creds

    async def stop(self) -> None:
        """Stop everything; safe to call twice."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._webhooks is not None:
            await self._webhooks.stop()
            self._webhooks = None
        if self.mqtt is not None:
            await self.mqtt.stop()
            self.mqtt = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def __repr__(self) -> str:
        return f"Emulator(url={self.url!r}, fleet={len(self.state.clearances)})"


def _connect_host(host: str) -> str:
    """The address clients use: a wildcard bind is reached on loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class EmulatorThread:
    """An emulator in a daemon thread with its own loop (the demo runs the UI in the main one)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.emulator = Emulator(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> dict[str, Any]:
        """Start and wait until it serves; returns the credentials (raises what start raised)."""
        self._thread = threading.Thread(target=self._run, name="hm-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the emulator did not start within {timeout:g} s")
        if self._error is not None:
            raise self._error
        return self.emulator.credentials

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.emulator.start())
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
