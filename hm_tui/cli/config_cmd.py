"""`hm-tui config path|show|import`: where the configuration lives and what it resolves to.

Exit codes as everywhere: a configuration problem (no file, unreadable or unsafe file, bad
TOML, a profile that cannot be used) is a usage error, 2: nothing was attempted, the setup needs
fixing. 1 only when an operation itself failed (the file could not be written)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hm_tui.cli.main import OperationError, UsageError, common_options
from hm_tui.cli.output import pipe_safe, say, shown
from hm_tui.service.config.profiles import (
    SECRET_FIELDS,
    Config,
    ConfigError,
    Profile,
    config_path,
    load_config,
    override_sources,
    profile_from_credentials,
    profile_problems,
)
from hm_tui.service.files.safe import FileRefused, read_file
from hm_tui.service.platform import bounded_json
from hm_tui.service.platform.bounded_json import JsonError
from hm_tui.service.redact import mask

MAX_CREDENTIALS_BYTES = 256 * 1024  # an emulator's credentials.json is under 2 KB

EPILOG = """\
The file is TOML with named profiles ([profiles.NAME]) and a default_profile key; it must be
readable by you only (chmod 600). HM_TUI_CONFIG points at another file. Environment variables
override secrets so none has to live in the file: HM_TUI_CLIENT_SECRET, HM_TUI_PRIVATE_KEY_FILE,
HM_TUI_PRIVATE_KEY_ID, HM_TUI_WEBHOOK_SECRET, HM_TUI_CLIENT_ID; HM_TUI_PROFILE picks the profile.

examples:
  hm-tui config path
  hm-tui emulator --state-dir /tmp/emu &   # then:
  hm-tui config import /tmp/emu/credentials.json --profile emulator
  hm-tui --profile emulator config show
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "config",
        help="where config lives and what it resolves to",
        parents=[common_options()],
        description="Show or change the hm-tui configuration.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION")
    actions.add_parser("path", help="print the config file path", parents=[common_options()])
    show = actions.add_parser(
        "show", help="print the resolved profiles (secrets masked)", parents=[common_options()]
    )
    show.add_argument("name", nargs="?", help="only this profile")
    imp = actions.add_parser(
        "import",
        help="make a profile from an emulator credentials.json",
        parents=[common_options(profile=False)],
    )
    imp.add_argument(
        "file", type=Path, help="credentials.json (from the console, or the emulator's state dir)"
    )
    imp.add_argument(
        "--profile",
        dest="import_profile",
        metavar="NAME",
        help="profile name (default: the global --profile, else 'default')",
    )
    imp.add_argument("--default", action="store_true", help="also make it the default profile")


@pipe_safe
def run(args: argparse.Namespace) -> int:
    action = getattr(args, "config_action", None)
    if action == "path":
        return _path()
    if action == "show":
        return _show(args.name or args.profile)
    if action == "import":
        return _import(args.file, args.import_profile or args.profile or "default", args.default)
    raise UsageError("config needs an action: path, show or import (see hm-tui config --help)")


def _path() -> int:
    path = config_path()
    say(str(path))
    return 0


def _show(name: str | None) -> int:
    try:
        config = load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    known = sorted([*config.profiles, *config.broken])
    if name and name not in known:
        raise UsageError(
            f"no profile {shown(name)!r} in {config.path} (profiles: {', '.join(known) or 'none'})"
        )
    say(f"# {config.path}")
    if config.default_profile:
        missing = "" if config.default_profile in known else "  # not a profile in this file"
        say(f"default_profile = {shown(config.default_profile)}{missing}")
    sources = override_sources()
    for each in [name] if name else known:
        say()
        for line in _describe(config, each, sources):
            say(line)
    return 0


def _describe(config: Config, name: str, sources: dict[str, str]) -> list[str]:
    """A profile's lines; one that cannot be used says why in a comment line."""
    if name in config.broken:
        return [f"[profiles.{shown(name)}]", f"# unusable: {shown(config.broken[name])}"]
    profile = config.resolved(name)
    problems = profile_problems(profile)
    lines = describe_profile(profile, sources)
    if problems:
        lines.insert(1, f"# incomplete, cannot log in: {'; '.join(problems)}")
    return lines


def describe_profile(profile: Profile, sources: dict[str, str]) -> list[str]:
    """`key = value` lines for a profile, secrets masked, environment overrides named."""
    lines = [f"[profiles.{shown(profile.name)}]"]
    for key, value in _fields(profile).items():
        if value is None or value == {} or value == "":
            continue
        text = mask(value) if key in SECRET_FIELDS else shown(value)
        origin = f"  (from {sources[key]})" if key in sources else ""
        lines.append(f"{key} = {text}{origin}")
    login = (
        "private key"
        if profile.uses_private_key
        else "client secret"
        if profile.client_secret
        else "none (no credentials)"
    )
    lines.append(f"login = {login}")
    if profile.mqtt is not None:
        lines.append(f"[profiles.{shown(profile.name)}.mqtt]")
        lines += [f"{k} = {shown(v)}" for k, v in _fields(profile.mqtt).items() if v is not None]
    for binding, key in profile.keymap.items():
        lines.append(f"keymap.{shown(binding)} = {shown(key)}")
    return lines


def _fields(obj: Any) -> dict[str, Any]:
    skip = {"name", "mqtt", "keymap"}
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__ if k not in skip}


def _import(file: Path, name: str, make_default: bool) -> int:
    creds = _read_credentials(file)
    try:
        profile = profile_from_credentials(creds, name)
    except ConfigError as exc:
        raise UsageError(
            f"{file} is not a usable credentials file (as the emulator writes "
            f"it): {shown(str(exc))}"
        ) from None
    try:
        config = load_config(missing_ok=True)
        replaced = name in config.profiles or name in config.broken
        config = config.with_profile(profile, make_default=make_default)
        backup = config.save(changed=name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise OperationError(f"cannot write the config file: {exc.strerror}") from None
    verb = "replaced" if replaced else "added"
    say(
        f"{verb} profile {shown(name)!r} ({profile.environment}, {shown(profile.base_url)}) "
        f"in {config.path}"
    )
    if config.default_profile == name:
        say(f"{shown(name)!r} is the default profile")
    if backup is not None:
        say(
            f"the file's layout could not be edited in place, so it was written anew; "
            f"the previous one, comments and all, is in {backup}"
        )
    return 0


def _where_invalid(text: str, error: JsonError) -> str:
    """What is wrong with the JSON, with its line when the standard library can tell it."""
    if error.too_deep:
        return str(error)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except (RecursionError, ValueError):
        pass
    return str(error)


def _read_credentials(file: Path) -> dict[str, Any]:
    """The credentials file's JSON object: a regular file of sane size, decoded with a depth
    limit (a usage error saying what is wrong otherwise)."""
    try:
        raw = read_file(
            file, "credentials file", max_bytes=MAX_CREDENTIALS_BYTES, safe_folders=True
        )
        text = raw.decode("utf-8")
    except FileRefused as exc:
        raise UsageError(str(exc)) from None
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not UTF-8 text") from None
    try:
        data = bounded_json.loads(raw)
    except JsonError as exc:
        raise UsageError(f"{file} is not valid JSON: {_where_invalid(text, exc)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{file} must hold a JSON object (an emulator credentials.json)")
    return data
