"""POST /v1/access_tokens (docs/platform.md#authentication): both forms, refusals, bearer tokens."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import wait_for

from hm_tui.emulator.tokens import ASSERTION_TYPE, SCOPE

from .conftest import Api


def assertion(creds: dict[str, Any], **overrides: Any) -> str:
    key = Path(creds["private_key_file"]).read_bytes()
    claims = {
        "ver": 2,
        "iss": creds["private_key_id"],
        "aud": creds["base_url"],
        "jti": str(uuid.uuid4()),
        "iat": int(time.time()),
    }
    signing_key = overrides.pop("key", key)
    claims.update(overrides)
    return jwt.encode(claims, signing_key, algorithm="ES256", headers={"typ": "JWT"})


def assertion_body(creds: dict[str, Any], token: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": token,
    }


async def post_token(api: Api, body: dict[str, Any], form: bool = False) -> httpx.Response:
    url = api.creds["base_url"] + "/access_tokens"
    if form:
        return await api.http.post(url, data=body)
    return await api.http.post(url, json=body)


async def test_client_secret_gets_an_es256_token_with_the_documented_scope(api: Api) -> None:
    r = await post_token(
        api,
        {
            "grant_type": "client_credentials",
            "client_id": api.creds["client_id"],
            "client_secret": api.creds["client_secret"],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == 300 and body["token_type"] == "bearer" and body["scope"] == SCOPE
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"


async def test_form_encoded_secret_is_accepted(api: Api) -> None:
    r = await post_token(
        api,
        {
            "grant_type": "client_credentials",
            "client_id": api.creds["client_id"],
            "client_secret": api.creds["client_secret"],
        },
        form=True,
    )
    assert r.status_code == 200


async def test_wrong_secret_is_an_oauth_400(api: Api) -> None:
    r = await post_token(
        api,
        {
            "grant_type": "client_credentials",
            "client_id": api.creds["client_id"],
            "client_secret": "nope",
        },
    )
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "error_description": "client_secret is invalid"}


async def test_unknown_client_and_bad_grant_are_refused(api: Api) -> None:
    r = await post_token(
        api,
        {
            "grant_type": "client_credentials",
            "client_id": "x",
            "client_secret": api.creds["client_secret"],
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = await post_token(api, {"grant_type": "password", "client_id": api.creds["client_id"]})
    assert r.status_code == 400 and "grant_type" in r.json()["error_description"]
    r = await api.http.post(api.creds["base_url"] + "/access_tokens", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_private_key_assertion_gets_a_token(api: Api) -> None:
    r = await post_token(api, assertion_body(api.creds, assertion(api.creds)))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == SCOPE


async def test_assertion_signed_with_another_key_is_refused(api: Api) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    r = await post_token(api, assertion_body(api.creds, assertion(api.creds, key=other)))
    assert r.status_code == 400
    assert r.json()["error_description"] == "client_assertion signature is invalid"


async def test_assertion_for_another_audience_is_refused(api: Api) -> None:
    token = assertion(api.creds, aud="https://api.high-mobility.com/v1")
    r = await post_token(api, assertion_body(api.creds, token))
    assert r.status_code == 400 and "aud" in r.json()["error_description"]


async def test_assertion_with_old_iat_is_refused(api: Api) -> None:
    token = assertion(api.creds, iat=int(time.time()) - 600)
    r = await post_token(api, assertion_body(api.creds, token))
    assert r.status_code == 400 and "iat" in r.json()["error_description"]


async def test_replayed_jti_is_refused(api: Api) -> None:
    token = assertion(api.creds)
    assert (await post_token(api, assertion_body(api.creds, token))).status_code == 200
    r = await post_token(api, assertion_body(api.creds, token))
    assert r.status_code == 400 and "jti" in r.json()["error_description"]


async def test_wrong_key_id_is_refused(api: Api) -> None:
    token = assertion(api.creds, iss=str(uuid.uuid4()))
    r = await post_token(api, assertion_body(api.creds, token))
    assert r.status_code == 400 and "iss" in r.json()["error_description"]


async def test_missing_and_bad_tokens_get_401_errors(api: Api) -> None:
    url = api.creds["base_url"] + "/fleets/vehicles"
    r = await api.http.get(url)
    assert r.status_code == 401
    assert r.json()["errors"][0]["detail"] == "Missing access token"
    r = await api.http.get(url, headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401 and r.json()["errors"][0]["detail"] == "Invalid access token"


async def test_token_expires_after_its_ttl(emulator_factory: Any) -> None:
    emu = await emulator_factory(fleet=0, token_ttl=1, publish=False)
    async with httpx.AsyncClient() as http:
        api = Api(emu, http)
        assert (await api.call("GET", "/fleets/vehicles")).status_code == 200

        async def expired() -> bool:
            r = await api.call("GET", "/fleets/vehicles")
            detail = r.json()["errors"][0]["detail"] if r.status_code == 401 else ""
            return detail == "Access token expired"

        await wait_for(expired, timeout=5, message="the 1 s token to expire")


async def test_invalidate_tokens_fault_revokes_every_issued_token(api: Api) -> None:
    assert (await api.call("GET", "/fleets/vehicles")).status_code == 200
    await api.control("faults", {"invalidate_tokens": True})
    assert (await api.call("GET", "/fleets/vehicles")).status_code == 401
    api._token = None
    assert (await api.call("GET", "/fleets/vehicles")).status_code == 200
    stats = (await api.control("stats")).json()
    assert stats["tokens_issued"] == 2
