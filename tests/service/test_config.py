"""Profiles and secrets: the config file, its permissions, its mistakes, environment overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hm_tui.service.config.profiles import (
    Config,
    ConfigError,
    MqttSettings,
    Profile,
    config_path,
    load_config,
    profile_from_credentials,
)

SECRET = "s3cr3t-value-never-shown"
CREDS = {
    "environment": "sandbox",
    "base_url": "http://127.0.0.1:9999/v1",
    "client_id": "cid-1",
    "client_secret": SECRET,
    "private_key_id": "kid-1",
    "private_key_file": "/tmp/key.pem",
    "app_id": "ABCDEF012345678901234567",
    "webhook_secret": "webhook-secret-xyz",
    "mqtt": {
        "host": "127.0.0.1",
        "port": 1883,
        "client_id": "mqtt-client",
        "topic": "sandbox/level13/ABCDEF012345678901234567/#",
        "ca_file": "/tmp/ca.pem",
        "cert_file": "/tmp/cert.pem",
        "key_file": "/tmp/key2.pem",
    },
}


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_saved_profile_reads_back_identically_and_the_file_is_owner_only(tmp_path: Path) -> None:
    profile = Profile(
        "emu",
        "sandbox",
        "http://127.0.0.1:1/v1",
        "cid",
        client_secret=SECRET,
        mqtt=MqttSettings("h", 8883, "c", "ca", "cert", "key", "v2", None),
        keymap={"roster.add": "ctrl+a", "quit": "q"},
    )
    path = tmp_path / "sub" / "config.toml"
    Config(path).with_profile(profile).save()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(path.parent.stat().st_mode & 0o777) == oct(0o700)
    loaded = load_config(path)
    assert loaded.default_profile == "emu"
    assert loaded.profile(env={}) == profile


def test_group_readable_file_is_refused_with_the_chmod_to_run(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.a]\nclient_id = "x"\nclient_secret = "y"\n', 0o644)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"chmod 600 {path}" in str(err.value)
    assert "0644" in str(err.value)


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.a]\nclient_id = "x"\nclient_secret = oops\n')
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 3"):
        load_config(path)


def test_missing_client_id_names_profile_and_field_when_the_profile_is_used(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.work]\nclient_secret = "y"\n')
    config = load_config(path)
    with pytest.raises(ConfigError, match=r"profile 'work' .*client_id is missing"):
        config.profile("work", env={})
    assert config.profile("work", env={"HM_TUI_CLIENT_ID": "from-env"}).client_id == "from-env"


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        '[profiles.w]\nclient_id = "x"\nclient_secret = "y"\n'
        '[profiles.w.mqtt]\nhost = "h"\nport = "8883"\nclient_id = "c"\n'
        'ca_file = "a"\ncert_file = "b"\nkey_file = "k"\n',
    )
    with pytest.raises(ConfigError, match=r"\[mqtt\]: port must be an integer, not str"):
        load_config(path).profile("w", env={})


def test_an_unusable_profile_fails_only_when_used_not_beside_a_good_one(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        'default_profile = "a"\n'
        '[profiles.a]\nclient_id = "x"\nclient_secret = "y"\n'
        '[profiles.b]\nenvironment = "sandbox"\n'
        '[profiles.c]\nclient_id = "x"\nclient_secret = 1234\n',
    )
    config = load_config(path)
    assert config.profile(env={}).name == "a"
    with pytest.raises(ConfigError, match=r"profile 'b' .*client_id is missing"):
        config.profile("b", env={})
    with pytest.raises(ConfigError, match=r"profile 'c': client_secret must be a string") as c:
        config.profile("c", env={})
    assert "1234" not in str(c.value)  # a mistyped secret is not echoed


def test_a_directory_is_not_taken_for_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "is a directory, not a config file" in str(err.value)
    assert "chmod" not in str(err.value)


def test_profile_without_any_credential_is_refused_when_used(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.w]\nclient_id = "x"\n')
    with pytest.raises(ConfigError, match=r"no credentials.*HM_TUI_CLIENT_SECRET"):
        load_config(path).profile("w", env={})


def test_environment_overrides_secrets_without_writing_them(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'default_profile = "w"\n[profiles.w]\nclient_id = "x"\n')
    env = {"HM_TUI_CLIENT_SECRET": SECRET, "HM_TUI_WEBHOOK_SECRET": "from-env-webhook"}
    config = load_config(path)
    profile = config.profile(env=env)
    assert profile.client_secret == SECRET
    assert profile.webhook_secret == "from-env-webhook"
    config.save()
    assert SECRET not in path.read_text()


def test_private_key_needs_both_file_and_id(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.w]\nclient_id = "x"\nprivate_key_file = "k"\n')
    with pytest.raises(ConfigError, match="both private_key_file and private_key_id"):
        load_config(path).profile("w", env={})


def test_plain_http_is_refused_for_a_remote_host(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        '[profiles.w]\nclient_id = "x"\nclient_secret = "y"\n'
        'base_url = "http://api.example.com/v1"\n',
    )
    with pytest.raises(ConfigError, match="must use https"):
        load_config(path).profile("w", env={})


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        '[profiles.a]\nclient_id = "x"\nclient_secret = "y"\n'
        '[profiles.b]\nclient_id = "x"\nclient_secret = "y"\n',
    )
    with pytest.raises(ConfigError, match=r"no profile 'c'.*profiles: a, b"):
        load_config(path).profile("c", env={})


def test_missing_config_points_at_import_and_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "none.toml")
    assert "hm-tui config import" in str(err.value)
    assert "hm-tui --demo" in str(err.value)


def test_hm_tui_config_points_at_another_file(tmp_path: Path) -> None:
    assert config_path({"HM_TUI_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    assert config_path({}).name == "config.toml"


def test_profile_repr_masks_every_secret() -> None:
    profile = profile_from_credentials(CREDS, "emu")
    for text in (repr(profile), str(profile), repr([profile])):
        assert SECRET not in text
        assert "webhook-secret-xyz" not in text
        assert "client_secret=(set, hidden)" in text


def test_profile_from_emulator_credentials() -> None:
    profile = profile_from_credentials(CREDS, "emu")
    assert profile.name == "emu"
    assert profile.uses_private_key and profile.is_loopback
    assert profile.mqtt is not None and profile.mqtt.format == "v1"
    assert profile.mqtt.topic == CREDS["mqtt"]["topic"]  # type: ignore[index]


def test_keymap_ids_with_dots_survive_a_round_trip(tmp_path: Path) -> None:
    profile = Profile(
        "k",
        "live",
        "https://api.high-mobility.com/v1",
        "c",
        client_secret="s" * 8,
        keymap={"roster.revoke": "D", 'we"ird\x7f': "x"},
    )
    path = tmp_path / "c.toml"
    Config(path).with_profile(profile).save()
    assert load_config(path).profile("k", env={}).keymap == profile.keymap
