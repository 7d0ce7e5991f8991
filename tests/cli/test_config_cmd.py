"""`hm-tui config path|show|import`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hm_tui.service.config import load_config


async def test_path_prints_the_file_hm_tui_config_names(run_cli, config_file: Path) -> None:
    result = await run_cli("config", "path")
    assert (result.code, result.out.strip()) == (0, str(config_file))


async def test_import_makes_a_default_profile_and_show_masks_every_secret(
        run_cli, config_file: Path, emulator, tmp_path: Path) -> None:
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
        run_cli, configured: Path, emulator, tmp_path: Path) -> None:
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
        run_cli, configured: Path, monkeypatch) -> None:
    monkeypatch.setenv("HM_TUI_CLIENT_SECRET", "from-the-environment-123")
    result = await run_cli("config", "show", "emu")
    assert "client_secret = (set, hidden)  (from HM_TUI_CLIENT_SECRET)" in result.out
    assert "from-the-environment-123" not in result.out


async def test_import_of_a_broken_file_is_a_usage_error(run_cli, config_file: Path,
                                                        tmp_path: Path) -> None:
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
