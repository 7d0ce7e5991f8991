"""`hm-tui config path|show|import`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hm_tui.service.config.profiles import load_config


async def test_path_prints_the_file_hm_tui_config_names(run_cli, config_file: Path) -> None:
    result = await run_cli("config", "path")
    assert (result.code, result.out.strip()) == (0, str(config_file))


async def test_import_makes_a_default_profile_and_show_masks_every_secret(
    run_cli, config_file: Path, emulator, tmp_path: Path
) -> None:
    creds_file = tmp_path / "credentials.json"
    creds_file.write_text(json.dumps(emulator.credentials))
    imported = await run_cli("config", "import", str(creds_file), "--profile", "lab")
    shown = await run_cli("config", "show")
    assert imported.code == 0 and "'lab' is the default profile" in imported.out
    assert oct(config_file.stat().st_mode & 0o777) == oct(0o600)
    assert load_config(config_file).default_profile == "lab"
    assert shown.code == 0 and "client_secret = (set, hidden)" in shown.out
    for secret in (emulator.credentials["client_secret"], emulator.credentials["webhook_secret"]):
        assert secret not in shown.out + shown.err


async def test_import_into_a_commented_file_keeps_the_comments_or_a_copy_of_it(
    run_cli, configured: Path, emulator, tmp_path: Path
) -> None:
    creds_file = tmp_path / "credentials.json"
    creds_file.write_text(json.dumps(emulator.credentials))
    configured.write_text("# our fleets: ask Ana first\n" + configured.read_text())
    added = await run_cli("config", "import", str(creds_file), "--profile", "lab")
    assert added.code == 0 and "added profile 'lab'" in added.out
    assert configured.read_text().startswith("# our fleets: ask Ana first\n")
    assert set(load_config(configured).profiles) == {"emu", "lab"}
    assert not configured.with_name("config.toml.bak").exists()

    odd = '# dotted keys\n[profiles]\nold.client_id = "x"\nold.client_secret = "y"\n'
    configured.write_text(odd)
    replaced = await run_cli("config", "import", str(creds_file), "--profile", "old")
    backup = configured.with_name("config.toml.bak")
    assert replaced.code == 0
    assert f"the previous one, comments and all, is in {backup}" in replaced.out
    assert backup.read_text() == odd


async def test_show_names_the_environment_variable_that_overrides(
    run_cli, configured: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HM_TUI_CLIENT_SECRET", "from-the-environment-123")
    result = await run_cli("config", "show", "emu")
    assert "client_secret = (set, hidden)  (from HM_TUI_CLIENT_SECRET)" in result.out
    assert "from-the-environment-123" not in result.out


async def test_import_of_a_broken_file_is_a_usage_error(
    run_cli, config_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "credentials.json"
    bad.write_text('{"client_id": "x",\n oops}')
    result = await run_cli("config", "import", str(bad))
    assert result.code == 2 and "not valid JSON" in result.err and "line 2" in result.err
    missing = await run_cli("config", "import", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "no such file" in missing.err
    assert not config_file.exists()


async def test_a_world_readable_config_is_refused_with_the_fix(run_cli, configured: Path) -> None:
    os.chmod(configured, 0o644)
    result = await run_cli("vins", "list")
    assert result.code == 2
    assert f"chmod 600 {configured}" in result.err
    assert "Traceback" not in result.err


async def test_no_config_says_how_to_get_one(run_cli, config_file: Path) -> None:
    result = await run_cli("vins", "list")
    assert result.code == 2
    assert "hm-tui config import" in result.err and "hm-tui --demo" in result.err


async def test_an_incomplete_profile_beside_a_working_one_breaks_only_itself(
    run_cli, configured: Path
) -> None:
    configured.write_text(
        configured.read_text() + '\n[profiles.b]\nenvironment = "sandbox"\n'
        '\n[profiles.c]\nenvironment = "sandbox"\nclient_id = "x"\n'
    )
    listed = await run_cli("vins", "list")
    shown = await run_cli("--profile", "emu", "config", "show")
    everything = await run_cli("config", "show")
    used = await run_cli("--profile", "b", "vins", "list")
    assert listed.code == 0 and "VIN" in listed.out
    assert shown.code == 0 and "[profiles.emu]" in shown.out
    assert everything.code == 0
    assert "[profiles.b]\n# incomplete, cannot log in: client_id is missing" in everything.out
    profile_c = everything.out.split("[profiles.c]")[1]
    assert "login = none" in profile_c  # no credentials: no login method claimed
    assert used.code == 2 and "profile 'b'" in used.err and "HM_TUI_CLIENT_ID" in used.err


async def test_the_environment_completes_a_profile_without_client_id(
    run_cli, configured: Path, emulator, monkeypatch
) -> None:
    text = configured.read_text().replace(
        f'client_id = "{emulator.credentials["client_id"]}"', "", 1
    )
    configured.write_text(text)
    monkeypatch.setenv("HM_TUI_CLIENT_ID", emulator.credentials["client_id"])
    assert (await run_cli("vins", "list", "--json")).code == 0


async def test_a_directory_named_by_hm_tui_config_is_not_given_a_chmod(
    run_cli, config_file: Path, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HM_TUI_CONFIG", str(tmp_path))
    result = await run_cli("vins", "list")
    assert result.code == 2
    assert f"{tmp_path} is a directory, not a config file" in result.err
    assert "chmod" not in result.err


async def test_a_config_problem_exits_2_for_every_command(
    run_cli, configured: Path, tmp_path: Path, emulator
) -> None:
    creds_file = tmp_path / "credentials.json"
    creds_file.write_text(json.dumps(emulator.credentials))
    os.chmod(configured, 0o644)
    unsafe = [
        await run_cli(*argv)
        for argv in (["vins", "list"], ["config", "show"], ["config", "import", str(creds_file)])
    ]
    configured.write_text("[profiles.a\n")
    os.chmod(configured, 0o600)
    bad_toml = [await run_cli(*argv) for argv in (["vins", "list"], ["config", "show"], ["feed"])]
    assert [r.code for r in unsafe + bad_toml] == [2] * 6
    assert all("chmod 600" in r.err for r in unsafe)
    assert all("not valid TOML" in r.err for r in bad_toml)


async def test_import_of_json_without_credentials_says_so_once_as_a_usage_error(
    run_cli, config_file: Path, tmp_path: Path
) -> None:
    odd = tmp_path / "a.json"
    odd.write_text('{"a": 1}')
    result = await run_cli("config", "import", str(odd))
    assert result.code == 2
    assert result.err.count("client_id is missing") == 1
    assert "profile 'default'" not in result.err
    assert result.err.startswith(f"hm-tui: {odd} is not a usable credentials file")
    assert not config_file.exists()
