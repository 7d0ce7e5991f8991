"""Secrets inside the text of transport exceptions (issue 20, the independent pass): the client
secret in the platform's URL (a path segment, user-info, a query), reached over a refused port,
a plain-HTTP server spoken to over TLS, and the hostile platform; with `-v`. Redaction is applied
to every message, so none of it shows, nor half of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from reliability.fake_platform import SECRET, Answer, FakePlatform
from reliability.figures import Figures
from reliability.hostile_checks import run_cli
from reliability.support import write_config


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/v1/{secret}",  # nothing listens: "cannot connect"
        "http://{secret}:x@127.0.0.1:9/v1",
        "http://127.0.0.1:{port}/{secret}/v1",  # the hostile platform: 404 for this path
        "https://127.0.0.1:{port}/v1?k={secret}",  # TLS to a plain-HTTP server
    ],
)
async def test_a_secret_in_the_url_never_shows_in_an_error(
    hostile: FakePlatform,
    hostile_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: the secret inside transport exception text")
    profile = dataclasses.replace(
        hostile.profile(), base_url=url.format(secret=SECRET, port=hostile.port)
    )
    monkeypatch.setenv("HM_TUI_CONFIG", str(write_config(hostile_cli / "s.toml", profile)))
    code, out, err = await run_cli(capsys, "-v", "vins", "list")
    assert code in (1, 2), err
    for text in (out, err):
        assert SECRET not in text and SECRET[: len(SECRET) // 2] not in text, err[-1500:]
        assert SECRET.upper() not in text.upper()


@pytest.mark.parametrize(
    "echo",
    [SECRET[::-1], " ".join(SECRET), " ".join(SECRET).upper(), " ".join(SECRET[::-1])],
    ids=["reversed", "spaced out", "spaced out, upper case", "reversed and spaced out"],
)
async def test_a_secret_echoed_reversed_or_spaced_out_in_an_error_body_is_masked(
    hostile: FakePlatform,
    hostile_cli: Path,
    capsys: pytest.CaptureFixture[str],
    echo: str,
    figures: Figures,
) -> None:
    figures.tried("hostile platform: the secret echoed reversed or spaced out")
    body = f'{{"error": "invalid_client", "error_description": "bad secret {echo}"}}'
    hostile.answer("token", Answer(401, body.encode()))
    code, out, err = await run_cli(capsys, "-v", "vins", "list")
    assert code == 1 and "invalid_client" in err, err
    assert echo.lower() not in (out + err).lower(), err[-1500:]
    assert echo[: len(echo) // 2].lower() not in (out + err).lower(), err[-1500:]
