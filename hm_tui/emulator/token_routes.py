"""`/v1/access_tokens`: POST logs in (JSON or form-encoded), DELETE revokes a token.

Both answer refusals in the OAuth shape `{"error", "error_description"}` with status 400, as the
platform documents for this path; nothing a client sends gets anything else.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hm_tui.emulator.context import CONTEXT, json_response, read_json
from hm_tui.emulator.tokens import TokenError

TOKEN_PATH = "/v1/access_tokens"
FORM = "application/x-www-form-urlencoded"


async def access_tokens(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    try:
        body = await _token_body(request)
        return json_response(ctx.tokens.exchange(body))
    except TokenError as exc:
        return json_response(exc.body(), 400)


async def revoke_token(request: web.Request) -> web.Response:
    """Revoke an access token (RFC 7009): the caller proves it is the client the token was
    issued to; an unknown or already dead token is no error (200 all the same)."""
    ctx = request.app[CONTEXT]
    try:
        body = await _token_body(request)
        ctx.tokens.revoke(body)
    except TokenError as exc:
        return json_response(exc.body(), 400)
    return json_response({})


async def _token_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == FORM:
        try:
            form = await request.post()
        except ValueError:
            raise TokenError("the form-encoded body cannot be read") from None
        return {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        body = await read_json(request)
    except ValueError as exc:
        raise TokenError(str(exc)) from None
    if body is None:
        raise TokenError("the body is empty: send the parameters as JSON or form-encoded")
    if not isinstance(body, dict):
        raise TokenError("the body must be a JSON object")
    return body
