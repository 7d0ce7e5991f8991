"""Login failures reported once, in the operator's words; global options after the command."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from hm_tui.service.config.profiles import Config, profile_from_credentials


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def save_profile(path: Path, creds: dict, **changes: str | None) -> None:
    profile = replace(profile_from_credentials(creds, "emu"), **changes)
    Config(path).with_profile(profile).save()


async def test_an_unreachable_platform_is_one_message_naming_host_port_and_what_to_check(
    run_cli, config_file: Path, emulator
) -> None:
    port = closed_port()
    save_profile(config_file, emulator.credentials, base_url=f"http://127.0.0.1:{port}/v1")
    result = await run_cli("vins", "list")
    assert result.code == 1
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"hm-tui: cannot log in at 127.0.0.1:{port}")
    assert "is running at" in result.err and "base_url of profile 'emu'" in result.err
    assert "token renewal failed" not in result.err


async def test_a_refused_secret_is_said_once_with_what_to_check(
    run_cli, config_file: Path, emulator
) -> None:
    save_profile(
        config_file,
        emulator.credentials,
        client_secret="wrong-secret-123",
        private_key_file=None,
        private_key_id=None,
    )
    result = await run_cli("vins", "list")
    assert result.code == 1
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"hm-tui: login refused by {emulator.base_url[7:-3]}")
    assert "client_secret" in result.err and "wrong-secret-123" not in result.err


async def test_retries_of_a_failing_login_are_logged_with_verbose_only(
    run_cli, config_file: Path, emulator
) -> None:
    port = closed_port()
    save_profile(config_file, emulator.credentials, base_url=f"http://127.0.0.1:{port}/v1")
    result = await run_cli("vins", "list", "-v")
    assert result.code == 1
    assert "retrying in" in result.err and "ConnectError" in result.err
    assert result.err.count("hm-tui: cannot log in") == 1


async def test_verbose_and_profile_work_after_the_command_too(run_cli, configured: Path) -> None:
    after = await run_cli("vins", "show", "2HM00000000000002", "-v", "--profile", "emu")
    before = await run_cli("-v", "--profile", "emu", "vins", "show", "2HM00000000000002")
    unknown = await run_cli("vins", "list", "--profile", "nobody")
    config = await run_cli("config", "show", "--profile", "emu")
    assert after.code == before.code == 0
    assert "GET " in after.err and "GET " in before.err
    assert unknown.code == 2 and "no profile 'nobody'" in unknown.err
    assert config.code == 0 and "[profiles.emu]" in config.out


def test_a_rate_limited_login_says_to_slow_down_not_that_the_platform_is_failing() -> None:
    from hm_tui.service.errors import LoginError, RateLimited

    error = LoginError(
        RateLimited("Too many requests", "retry after 1s", status=429), "http://127.0.0.1:1/v1", "p"
    )
    assert "limiting" in error.message() and "in trouble" not in error.message()
