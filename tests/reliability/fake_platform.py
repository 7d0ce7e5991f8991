"""A small stand-in for the platform on loopback that answers whatever the test tells it to: the
corpus bodies of tests/corpus/platform/, huge arrays, nothing at all, or hostile answers (a body
trickled a byte at a time, a chunked body that never ends, any headers such as a `Retry-After`
of ten years, echoed secrets).

`answer(route, Answer)` sets what a route returns from now on; `queue(route, *answers)` sets a
sequence (each request takes the next; the last one repeats)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from hm_tui.service.config.profiles import Profile

TOKEN = b'{"access_token": "fake-access-token-0123456789", "expires_in": 300}'
SECRET = "fake-client-secret-value"


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    silent: bool = False  # accept the request and never answer
    headers: dict[str, str] = field(default_factory=dict)
    trickle_s: float = 0.0  # send the body one byte at a time, this long apart
    endless: bytes = b""  # after the body, send this chunk again and again (chunked, never ends)
    per_vin: bool = False  # `{vin}` in the body becomes the VIN of the request's path


class FakePlatform:
    """Routes: token, list, one, add, delete, data. Unset routes answer 404."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {"token": [Answer(200, TOKEN)]}
        self.hits: dict[str, int] = {}
        self.open_requests = 0  # requests being answered right now (a trickle, a silence)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def answer(self, route: str, answer: Answer) -> None:
        self.answers[route] = [answer]

    def queue(self, route: str, *answers: Answer) -> None:
        self.answers[route] = list(answers)

    def _next(self, route: str) -> Answer:
        answers = self.answers.get(route)
        if not answers:
            return Answer(404, b'{"errors":[{"title":"Not found"}]}')
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def _handler(self, route: str):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.StreamResponse:
            self.hits[route] = self.hits.get(route, 0) + 1
            await request.read()
            answer = self._next(route)
            self.open_requests += 1
            try:
                if answer.silent:
                    await asyncio.Event().wait()
                if answer.trickle_s:
                    return await _trickle(request, answer)
                if answer.endless:
                    return await _endless(request, answer)
                vin = request.match_info.get("vin", "").encode()
                return web.Response(
                    status=answer.status,
                    body=answer.body.replace(b"{vin}", vin) if answer.per_vin else answer.body,
                    content_type=answer.content_type,
                    headers=answer.headers,
                )
            finally:
                self.open_requests -= 1

        return handle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        vehicle = "/v1/fleets/vehicles/{vin}"
        app.router.add_post("/v1/access_tokens", self._handler("token"))
        app.router.add_get("/v1/fleets/vehicles", self._handler("list"))
        app.router.add_post("/v1/fleets/vehicles", self._handler("add"))
        app.router.add_get(vehicle, self._handler("one"))
        app.router.add_delete(vehicle, self._handler("delete"))
        app.router.add_get("/v1/vehicle-data/autoapi-13/{vin}", self._handler("data"))
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def profile(self) -> Profile:
        return Profile(
            name="fake",
            environment="sandbox",
            base_url=f"http://127.0.0.1:{self.port}/v1",
            client_id="fake-client",
            client_secret=SECRET,
            app_id="a1b2c3d4e5f6a1b2c3d4e5f6",
        )


async def _endless(request: web.Request, answer: Answer) -> web.StreamResponse:
    """The answer's headers and body, chunked, then `endless` over and over (about 1 MB/s:
    fast enough that a deadline moved on by the bytes received never comes) until the client
    goes away."""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_type = answer.content_type
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(answer.body)
    while True:
        await response.write(answer.endless)  # (raises once the client closed)
        await asyncio.sleep(0.02)


async def _trickle(request: web.Request, answer: Answer) -> web.StreamResponse:
    """The answer's headers at once, then its body a byte at a time."""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_type = answer.content_type
    response.content_length = len(answer.body)
    await response.prepare(request)
    for at in range(len(answer.body)):
        await response.write(answer.body[at : at + 1])
        await asyncio.sleep(answer.trickle_s)
    await response.write_eof()
    return response
