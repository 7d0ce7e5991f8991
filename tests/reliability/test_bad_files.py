"""Bad input from files and typing: VINs, CSV files and config files (the corpus in
tests/corpus/ plus hypothesis). Each gives a clear message or is skipped and counted; never a
traceback, never a hang."""

from __future__ import annotations

import asyncio
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hm_tui.cli.main import UsageError, main
from hm_tui.cli.vins_cmd import checked_vin
from hm_tui.domain.vin import check_vin
from hm_tui.service.config.profiles import Config, ConfigError, config_from_dict, load_config
from hm_tui.service.files.csv_add import CsvInputError, CsvRows, parse_csv_text, read_csv_file
from reliability.figures import FIGURES, Figures
from reliability.support import emulator_profile, write_config

CORPUS = Path(__file__).parent.parent / "corpus"
CSV_FILES = sorted((CORPUS / "csv").iterdir())
CONFIG_FILES = sorted((CORPUS / "config").iterdir())
QUICK = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: corpus file -> (items sent, rows refused) or "refused" (the file as a whole, with a message)
CSV_EXPECTED: dict[str, Any] = {
    "empty.csv": "refused",
    "only-blank-lines.csv": "refused",
    "header-only.csv": "refused",
    "header-only-crlf.csv": "refused",
    "no-vin-column.csv": "refused",
    "no-header.csv": "refused",
    "only-commas.csv": "refused",
    "binary-garbage.csv": "refused",
    "nul-bytes.csv": "refused",
    "png-renamed.csv": "refused",
    "latin1.csv": "refused",
    "utf16-no-bom.csv": "refused",
    "bom-utf8.csv": (2, 0),
    "semicolons.csv": (2, 0),
    "tabs.csv": (1, 0),
    "crlf.csv": (2, 0),
    "cr-only.csv": (2, 0),
    "duplicates.csv": (2, 0),
    "bad-rows-mixed.csv": (2, 4),
    "huge-line.csv": (1, 1),
    "huge-header.csv": (1, 0),
    "utf16-le-bom.csv": (1, 0),
    "utf16-be-bom.csv": (1, 0),
    "unbalanced-quotes.csv": (0, 1),
    "markup-and-escapes.csv": (2, 1),
    "vw-without-customer-tag.csv": (1, 0),
    "formula-injection.csv": (1, 0),
}


def test_the_corpus_expectations_cover_every_csv_file() -> None:
    assert {p.name for p in CSV_FILES} == set(CSV_EXPECTED)


@pytest.mark.parametrize("path", CSV_FILES, ids=lambda p: p.name)
def test_csv_corpus_file_is_refused_with_a_message_or_parsed_row_by_row(
    path: Path, figures: Figures
) -> None:
    figures.tried("CSV file")
    expected = CSV_EXPECTED[path.name]
    if expected == "refused":
        with pytest.raises(CsvInputError) as refused:
            read_csv_file(path)
        message = str(refused.value)
        assert path.name in message and message.isprintable() and len(message) < 400
        return
    rows = read_csv_file(path)
    refused_lines = {error.split(":")[0] for error in rows.errors}
    assert (len(rows.items), len(refused_lines)) == expected, (rows.errors, rows.warnings)
    assert all(error.startswith("line ") for error in rows.errors)
    assert all(e.isprintable() for e in [*rows.errors, *rows.warnings])
    assert len({item.vin for item in rows.items}) == len(rows.items)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HM_TUI_CONFIG and the data dir in tmp_path; no secret from the environment."""
    config = tmp_path / "config" / "config.toml"
    monkeypatch.setenv("HM_TUI_CONFIG", str(config))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for var in ("HM_TUI_PROFILE", "HM_TUI_CLIENT_SECRET", "HM_TUI_CLIENT_ID"):
        monkeypatch.delenv(var, raising=False)
    return config


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_adds_the_good_rows_of_every_csv_and_names_the_bad_ones(
    emulator: Any, isolated: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    write_config(isolated, emulator_profile(emulator))
    for path in CSV_FILES:
        figures.tried("CSV file through the CLI")
        code, out, err = await run_cli(capsys, "vins", "add", "--file", str(path))
        expected = CSV_EXPECTED[path.name]
        assert "Traceback" not in out + err, (path.name, err)
        if expected == "refused":
            assert code == 2 and "hm-tui:" in err, (path.name, code, err)
            continue
        sent, refused = expected
        assert code == (1 if refused or not sent else 0), (path.name, code, err)
        assert len(out.splitlines()) == sent, (path.name, out)
        for line in err.splitlines():
            assert line.startswith("hm-tui: ") and line.isprintable(), (path.name, line)


@QUICK
@given(st.text(max_size=400))
def test_any_text_as_a_csv_is_parsed_or_refused_with_a_message(text: str) -> None:
    FIGURES.tried("CSV text (hypothesis)")
    try:
        rows = parse_csv_text(text, {}, "input.csv")
    except CsvInputError as exc:
        assert str(exc)
        return
    assert isinstance(rows, CsvRows)


@QUICK
@given(
    st.lists(
        st.tuples(
            st.text(string.ascii_uppercase + string.digits + " \t[]\x1b", max_size=20),
            st.sampled_from(["bmw", "BMW ", "", "volkswagen", "trabant", "x,y"]),
        ),
        max_size=12,
    ),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_csv_rows_of_any_shape_become_items_or_line_numbered_errors(
    rows: list[tuple[str, str]], sep: str, newline: str
) -> None:
    FIGURES.tried("CSV rows (hypothesis)")
    text = newline.join([f"vin{sep}brand", *(f"{v}{sep}{b}" for v, b in rows)]) + newline
    try:
        parsed = parse_csv_text(text, {}, "rows.csv")
    except CsvInputError as exc:
        assert str(exc).isprintable()
        return
    assert all(error.startswith("line ") for error in parsed.errors)
    assert all(len(item.vin) == 17 for item in parsed.items)


@QUICK
@given(st.text(max_size=60))
def test_any_text_as_a_vin_is_checked_with_a_printable_message(raw: str) -> None:
    FIGURES.tried("VIN (hypothesis)")
    check = check_vin(raw)
    if check.ok:
        assert len(check.vin) == 17 and check.vin.isalnum() and check.vin.isascii()
        assert checked_vin(raw) == check.vin
    else:
        assert check.message().isprintable()
        with pytest.raises(UsageError):
            checked_vin(raw)


# -- config files -----------------------------------------------------------------------------
def test_every_config_corpus_file_but_the_valid_one_is_refused_with_a_message(
    tmp_path: Path, figures: Figures
) -> None:
    for source in CONFIG_FILES:
        figures.tried("config file")
        path = tmp_path / source.name
        path.write_bytes(source.read_bytes())
        path.chmod(0o600)
        if source.name == "valid.toml":
            assert load_config(path).profile(env={}).client_id == "abc"
            continue
        with pytest.raises(ConfigError) as refused:
            load_config(path).profile(env={})
        message = str(refused.value)
        assert str(path) in message or "profile" in message, message
        assert "s3cret-value" not in message and "Traceback" not in message


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_config_file_others_can_read_is_refused_naming_the_fix(
    tmp_path: Path, mode: int, figures: Figures
) -> None:
    figures.tried("config file (permissions)")
    path = tmp_path / "config.toml"
    path.write_bytes((CORPUS / "config" / "valid.toml").read_bytes())
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(path)


async def test_cli_with_a_broken_config_says_what_to_fix_without_a_traceback(
    isolated: Path, capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    isolated.parent.mkdir(parents=True, exist_ok=True)
    for source in [*CONFIG_FILES, None]:
        figures.tried("config file through the CLI")
        if source is None:  # world-readable
            isolated.write_bytes((CORPUS / "config" / "valid.toml").read_bytes())
            isolated.chmod(0o644)
        else:
            isolated.write_bytes(source.read_bytes())
            isolated.chmod(0o600)
        if source is not None and source.name == "valid.toml":
            continue
        code, out, err = await run_cli(capsys, "vins", "list")
        assert code == 2 and err.startswith("hm-tui: "), (source, code, err)
        assert "Traceback" not in err and "s3cret-value" not in out + err


TOML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.sampled_from(["sandbox", "live", "https://x.example/v1", "http://10.0.0.1/v1", "v1"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "client_id",
                    "client_secret",
                    "environment",
                    "base_url",
                    "mqtt",
                    "port",
                    "host",
                    "keymap",
                    "private_key_file",
                    "private_key_id",
                    "format",
                    "ca_file",
                    "cert_file",
                    "key_file",
                    "app_id",
                    "x",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@QUICK
@given(
    st.dictionaries(
        st.sampled_from(["profiles", "default_profile", "x"]),
        st.dictionaries(st.text(max_size=8), TOML_VALUES, max_size=3) | TOML_VALUES,
        max_size=3,
    )
)
def test_any_config_structure_gives_a_profile_or_a_config_error(data: dict[str, Any]) -> None:
    FIGURES.tried("config structure (hypothesis)")
    try:
        config = config_from_dict(data, Path("/fake/config.toml"))
        for name in config.profiles:
            config.profile(name, env={})
    except ConfigError as exc:
        assert str(exc).isprintable()
    assert isinstance(Config, type)
