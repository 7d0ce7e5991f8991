"""Changing one profile keeps the rest of the operator's config file as it was: comments,
order, layout. A layout that cannot be edited safely is rewritten with the old file kept."""

from __future__ import annotations

import os
from pathlib import Path

from hm_tui.service.config.profiles import MqttSettings, Profile, load_config

FILE = """# Our fleets. Ask Ana before changing the live one.
default_profile = "work"   # the one we use most

[profiles.work]              # production
environment = "live"
client_id = "work-client"
client_secret = "work-secret-123"

[profiles.work.keymap]
"roster.add" = "ctrl+a"

# the lab, reset every Monday
[profiles.lab]
environment = "sandbox"
client_id = "lab-client"  # from the lab's credentials.json
client_secret = "lab-secret-456"
# closing note: rotate secrets in March
"""


def profile(name: str, client_id: str = "new-client") -> Profile:
    return Profile(
        name,
        "sandbox",
        "http://127.0.0.1:1/v1",
        client_id,
        client_secret="new-secret-789",
        mqtt=MqttSettings("h", 8883, "c", "ca", "cert", "key", "v1", None),
    )


def config_file(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def test_a_new_profile_is_appended_and_every_comment_stays(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    assert load_config(path).with_profile(profile("emu")).save(changed="emu") is None
    text = path.read_text()
    assert text.startswith(FILE.rstrip("\n"))  # everything before, as it was
    loaded = load_config(path)
    assert set(loaded.profiles) == {"work", "lab", "emu"} and loaded.default_profile == "work"
    assert loaded.profiles["emu"] == profile("emu")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_replaced_profile_changes_alone_and_the_comments_around_it_stay(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    load_config(path).with_profile(profile("work", "work-2")).save(changed="work")
    text = path.read_text()
    loaded = load_config(path)
    assert loaded.profiles["work"] == profile("work", "work-2")  # its keymap table went too
    (tmp_path / "before").mkdir()
    assert loaded.profiles["lab"] == load_config(config_file(tmp_path / "before")).profiles["lab"]
    kept = comments(text)
    assert "# Our fleets. Ask Ana before changing the live one." in kept
    assert "# the lab, reset every Monday" in kept  # it heads the next table: not the profile's
    assert "# closing note: rotate secrets in March" in kept
    assert "# production" not in kept  # the replaced table's own header went with it
    assert text.index("# the lab") < text.index("[profiles.lab]")


def test_a_new_default_is_set_in_place_or_put_before_the_first_table(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    load_config(path).with_profile(profile("emu"), make_default=True).save(changed="emu")
    text = path.read_text()
    assert load_config(path).default_profile == "emu"
    assert text.count("default_profile") == 1 and 'default_profile = "emu"' in text

    bare = FILE.replace('default_profile = "work"   # the one we use most\n', "")
    path = config_file(tmp_path, bare)
    load_config(path).with_profile(profile("emu"), make_default=True).save(changed="emu")
    text = path.read_text()
    assert load_config(path).default_profile == "emu"
    assert text.index('default_profile = "emu"') < text.index("[profiles.work]")
    assert "# Our fleets." in text


def test_a_layout_it_cannot_edit_is_written_anew_with_the_old_file_kept(tmp_path: Path) -> None:
    dotted = """# dotted keys under a bare [profiles] table
[profiles]
lab.environment = "sandbox"
lab.client_id = "lab-client"
lab.client_secret = "lab-secret-456"
"""
    path = config_file(tmp_path, dotted)
    backup = load_config(path).with_profile(profile("lab", "lab-2")).save(changed="lab")
    assert backup is not None and backup.read_text() == dotted
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)
    assert load_config(path).profiles["lab"] == profile("lab", "lab-2")
