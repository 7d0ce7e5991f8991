"""Files that hold secrets under a folder someone else may write to (issue 20, the independent
pass), through the real CLI: a config, private key, MQTT key or credentials file whose folder, or
a folder above it, is writable by its group or by anyone, or belongs to another user; a config
reached through a symlink into such a folder. Each is refused naming the folder and the chmod
that fixes it; a sticky folder as /tmp is accepted, as ssh accepts it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hm_tui.service.config.profiles import MqttSettings
from reliability.figures import Figures
from reliability.support import write_config
from reliability.test_hostile_files import (
    OTHER_UID,
    binary,
    cli,
    home,  # noqa: F401 (a fixture)
    pem_keys,
    private,
    profile,
)


def folder(path: Path, mode: int, owner: int | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


async def config_in(
    where: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`config show` with a 0600 config written in `where` (its folders' modes set after)."""
    monkeypatch.setenv("HM_TUI_CONFIG", str(where / "config.toml"))
    return await cli(capsys, "config", "show")


async def test_a_config_under_a_folder_others_or_its_group_may_write_to_is_refused(
    home: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    cases: list[tuple[str, Path, Path, int, int | None, str]] = [
        # what, the config's folder, the folder to blame, its mode, its owner, the words
        ("its own folder group-writable", home / "g", home / "g", 0o775, None, "chmod g-w"),
        ("a parent anyone may write to", home / "o" / "in", home / "o", 0o757, None, "chmod o-w"),
        (
            "a grandparent group- and world-writable",
            home / "gw" / "a" / "b",
            home / "gw",
            0o777,
            None,
            "chmod go-w",
        ),
        ("a parent of another user", home / "u" / "in", home / "u", 0o755, OTHER_UID, "uid"),
    ]
    for what, where, blamed, mode, owner, words in cases:
        figures.tried("hostile file: config under a folder others may write to")
        write_config(where / "config.toml", profile())
        folder(blamed, mode, owner)
        code, err = await config_in(where, monkeypatch, capsys)
        assert code == 2, (what, err)
        assert f"{blamed} " in err and words in err, (what, err)
        if owner is None:
            assert f"{words} {blamed}" in err, (what, err)  # the command to run, ready to paste
        else:
            assert "belongs to another user" in err and "Move it" in err, (what, err)
        folder(blamed, 0o700, os.geteuid())  # fixed as the message says: accepted
        code, err = await config_in(where, monkeypatch, capsys)
        assert code == 0, (what, err)

    figures.tried("hostile file: config under a sticky world-writable folder")
    sticky = folder(home / "sticky", 0o1777)
    write_config(sticky / "mine" / "config.toml", profile())
    code, err = await config_in(sticky / "mine", monkeypatch, capsys)
    assert code == 0, err  # as in /tmp: no one may replace what is not theirs

    figures.tried("hostile file: config through a symlink into a world-writable folder")
    shared = home / "shared"
    write_config(shared / "config.toml", profile())
    folder(shared, 0o777)
    link_home = folder(home / "links", 0o700)
    (link_home / "config.toml").symlink_to(shared / "config.toml")
    code, err = await config_in(link_home, monkeypatch, capsys)
    assert code == 2 and f"{shared} is writable by anyone" in err, err
    assert f"chmod go-w {shared}" in err, err


async def test_a_private_key_or_credentials_under_a_group_writable_folder_are_refused(
    home: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    figures: Figures,
) -> None:
    figures.tried("hostile file: private key under a group-writable folder")
    keys = folder(home / "keys", 0o700)
    key = private(keys / "key.pem", pem_keys()[0])
    keys.chmod(0o770)
    config = write_config(
        home / "conf" / "c.toml",
        profile(client_secret=None, private_key_file=str(key), private_key_id="kid"),
    )
    monkeypatch.setenv("HM_TUI_CONFIG", str(config))
    code, err = await cli(capsys, "vins", "list")
    assert code == 1 and f"chmod g-w {keys}" in err and "Check private_key_file" in err, err

    figures.tried("hostile file: credentials under a group-writable folder")
    downloads = folder(home / "downloads", 0o775)
    credentials = downloads / "credentials.json"
    credentials.write_text(json.dumps({"client_id": "x", "client_secret": "y"}))
    monkeypatch.setenv("HM_TUI_CONFIG", str(home / "new" / "config.toml"))
    code, err = await cli(capsys, "config", "import", str(credentials), "--profile", "lab")
    assert code == 2 and f"chmod g-w {downloads}" in err and "credentials file" in err, err
    assert not (home / "new" / "config.toml").exists()


def test_a_0644_mqtt_key_stops_the_feed_with_the_chmod_to_run(
    home: Path,  # noqa: F811
    figures: Figures,
) -> None:
    figures.tried("hostile file: MQTT key readable by others")
    certs = folder(home / "certs", 0o700)
    key = certs / "client.key"
    key.write_bytes(pem_keys()[0])
    key.chmod(0o644)
    plain = certs / "plain.pem"
    plain.write_text("not read: the key is refused first\n")
    mqtt = MqttSettings("127.0.0.1", 9, "c", str(plain), str(plain), str(key))
    config = write_config(home / "c.toml", profile(mqtt=mqtt, app_id="a" * 24))
    env = {"HM_TUI_CONFIG": str(config), "XDG_DATA_HOME": str(home / "data")}
    code, err = binary(["feed"], env)
    assert code == 1 and f"chmod 600 {key}" in err, err
