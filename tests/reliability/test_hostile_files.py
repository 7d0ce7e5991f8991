"""Hostile files, through the real `hm-tui` (in-process, and as its own process where a hang or a
dropped privilege must be real): config and credentials nested 2,000 deep, /dev/zero and FIFOs
where a config, key, credentials or CSV file belongs, a config in a directory one cannot enter,
100,000 dotted keys, a public key as `private_key_file`, a 0644 key, a config owned by another
user or in a world-writable directory. Each is refused at once with what to do: never a
traceback, never a hang, never a read that runs until memory does."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hm_tui.cli.main import main
from hm_tui.service.config.profiles import Profile
from reliability.figures import Figures
from reliability.support import HM_TUI, write_config

OTHER_UID = 12345  # (tests run as root: another user is simulated with chown)
NESTED_TOML = "[profiles.x]\nenvironment = " + "[" * 2000 + "]" * 2000 + "\n"


def profile(**changes: object) -> Profile:
    base = Profile(
        name="p",
        environment="sandbox",
        base_url="http://127.0.0.1:9/v1",  # nothing listens: a login would fail, not hang
        client_id="client",
        client_secret="s3cret-value-for-files",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for var in ("HM_TUI_PROFILE", "HM_TUI_CLIENT_SECRET", "HM_TUI_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    started = time.monotonic()
    code = await asyncio.to_thread(main, list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Error:" not in err.split(" ", 2)[1:2], err
    assert time.monotonic() - started < 10, f"{argv} took {time.monotonic() - started:.1f} s"
    return code, err


def private(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(0o600)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path, 0o600)
    return path


def binary(
    argv: list[str], env: dict[str, str], *, prefix: list[str] | None = None
) -> tuple[int, str]:
    """The real binary as its own process: a hang is a timeout, not a stuck test run."""
    result = subprocess.run(
        [*(prefix or []), *HM_TUI, *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr


# -- config files --------------------------------------------------------------------------------
async def test_a_config_nested_2000_deep_or_with_100000_dotted_keys_is_refused_at_once(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    dotted = "[profiles.x]\n" + "".join(f"k{i}.a.b = {i}\n" for i in range(100_000))
    for name, text, words in (
        ("nested.toml", NESTED_TOML, "nested too deeply"),
        ("dotted.toml", dotted, "more than a config file can be"),
    ):
        figures.tried("hostile file: config")
        monkeypatch.setenv("HM_TUI_CONFIG", str(private(home / name, text)))
        code, err = await cli(capsys, "vins", "list")
        assert code == 2 and words in err, err


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "/dev/null"])
def test_dev_zero_a_fifo_or_a_device_as_the_config_is_refused_without_reading(
    home: Path, special: str, figures: Figures
) -> None:
    figures.tried("hostile file: device or FIFO as config")
    path = str(fifo(home / "config.fifo")) if special == "fifo" else special
    code, err = binary(["vins", "list"], {"HM_TUI_CONFIG": path})
    assert code == 2 and "not a regular file" in err, err


def test_a_config_in_a_directory_one_cannot_enter_is_a_clear_error(
    home: Path, figures: Figures
) -> None:
    figures.tried("hostile file: config in a directory one cannot enter")
    locked = home / "locked"
    (locked / "inner").mkdir(parents=True)
    config = write_config(locked / "inner" / "config.toml", profile())
    os.chown(locked, OTHER_UID, -1)
    locked.chmod(0o700)
    # root reads anything: run without the capabilities that let it (as a user would be)
    no_override = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    code, err = binary(["vins", "list"], {"HM_TUI_CONFIG": str(config)}, prefix=no_override)
    assert code == 2 and "permission denied" in err and str(config) in err, err


async def test_a_config_owned_by_another_user_or_in_a_world_writable_directory_is_refused(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    figures.tried("hostile file: config owned by another user", 1)
    theirs = write_config(home / "theirs.toml", profile())
    os.chown(theirs, OTHER_UID, -1)
    monkeypatch.setenv("HM_TUI_CONFIG", str(theirs))
    code, err = await cli(capsys, "vins", "list")
    assert code == 2 and "belongs to another user" in err, err

    figures.tried("hostile file: config in a world-writable directory", 1)
    shared = home / "shared"
    shared.mkdir()
    config = write_config(shared / "config.toml", profile())
    shared.chmod(0o777)
    monkeypatch.setenv("HM_TUI_CONFIG", str(config))
    code, err = await cli(capsys, "config", "show")
    assert code == 2 and f"{shared} is writable by anyone" in err, err
    assert f"chmod go-w {shared}" in err, err
    shared.chmod(0o1777)  # sticky, as /tmp: others cannot replace a file they do not own
    code, err = await cli(capsys, "config", "show")
    assert code == 0, err


# -- private keys --------------------------------------------------------------------------------
def pem_keys() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    secret = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return secret, public


async def test_a_public_key_a_0644_key_dev_zero_or_a_fifo_as_the_private_key_is_refused(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    secret, public = pem_keys()
    readable = private(home / "readable.pem", secret)
    readable.chmod(0o644)
    cases = {
        str(private(home / "public.pem", public)): "holds a public key",
        str(readable): f"chmod 600 {readable}",
        "/dev/zero": "not a regular file",
        str(fifo(home / "key.fifo")): "not a regular file",
        str(private(home / "p384.pem", _p384())): "P-256",
    }
    for key_file, words in cases.items():
        figures.tried("hostile file: private key")
        config = write_config(
            home / "c.toml",
            profile(client_secret=None, private_key_file=key_file, private_key_id="kid"),
        )
        monkeypatch.setenv("HM_TUI_CONFIG", str(config))
        code, err = await cli(capsys, "vins", "list")
        assert code == 1 and words in err and "Check private_key_file" in err, (key_file, err)


def _p384() -> bytes:
    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- credentials and CSV files ------------------------------------------------------------------
async def test_credentials_nested_2000_deep_dev_zero_or_a_fifo_are_refused_on_import(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    monkeypatch.setenv("HM_TUI_CONFIG", str(home / "new" / "config.toml"))
    nested = home / "nested.json"
    nested.write_text('{"client_id": ' + "[" * 2000 + "]" * 2000 + "}")
    broken = home / "broken.json"
    broken.write_text('{"client_id": "x",\n "client_secret": }')
    for file, words in (
        (nested, "nested too deeply"),
        (broken, "line 2"),
        (Path("/dev/zero"), "not a regular file"),
        (fifo(home / "creds.fifo"), "not a regular file"),
    ):
        figures.tried("hostile file: credentials")
        code, err = await cli(capsys, "config", "import", str(file), "--profile", "lab")
        assert code == 2 and words in err, (file, err)
    assert not (home / "new" / "config.toml").exists()


async def test_dev_zero_or_a_fifo_as_the_csv_of_an_add_is_refused(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    monkeypatch.setenv("HM_TUI_CONFIG", str(write_config(home / "c.toml", profile())))
    for file in ("/dev/zero", str(fifo(home / "cars.fifo"))):
        figures.tried("hostile file: CSV")
        code, err = await cli(capsys, "vins", "add", "--file", file)
        assert code == 2 and "not a regular file" in err, err


def test_dev_zero_as_the_mqtt_key_stops_the_feed_with_a_message(
    home: Path, figures: Figures
) -> None:
    figures.tried("hostile file: MQTT key")
    from hm_tui.service.config.profiles import MqttSettings

    mqtt = MqttSettings("127.0.0.1", 9, "c", "/dev/zero", "/dev/zero", "/dev/zero")
    config = write_config(home / "c.toml", profile(mqtt=mqtt, app_id="a" * 24))
    env = {"HM_TUI_CONFIG": str(config), "XDG_DATA_HOME": str(home / "data")}
    code, err = binary(["feed"], env)
    assert code == 1 and "not a regular file" in err, err
    assert json.dumps(err)  # (printable, one message)


def test_an_export_path_in_a_directory_one_cannot_enter_is_a_message_not_a_crash(
    home: Path, figures: Figures
) -> None:
    figures.tried("hostile file: export path in a directory one cannot enter")
    locked = home / "locked-export"
    (locked / "inner").mkdir(parents=True)
    os.chown(locked, OTHER_UID, -1)
    locked.chmod(0o700)
    probe = (
        "from pathlib import Path; from hm_tui.ui.screens.export_prompt import export_target; "
        f"print(export_target({str(locked / 'inner' / 'x.csv')!r}))"
    )
    no_override = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    result = subprocess.run(
        [*no_override, sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "(None, 'Cannot use" in result.stdout and "Permission denied" in result.stdout
