"""The config file on disk: atomic owner-only writes, and a small TOML writer (reading it, with
its checks of owner and permissions, is `files.safe.read_file`).

The standard library reads TOML but does not write it; the schema is small and fixed (strings,
integers, tables), so a writer of exactly that is shorter than a dependency. Changing one profile
edits the file's text (`edit_profile`): the operator's comments and layout elsewhere stay.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hm_tui.domain.json_depth import depth_exceeds
from hm_tui.service.config.fields import ConfigError

if TYPE_CHECKING:
    from hm_tui.service.config.profiles import Profile

#: A config file larger than this is not one (a few profiles take a few KB); refused before
#: parsing, which slows down with size (100,000 dotted keys took 41 s).
MAX_CONFIG_BYTES = 64 * 1024  # (about 60 profiles with their [mqtt] and keymaps)
MAX_CONFIG_DEPTH = 16  # profiles.NAME.mqtt is 3 levels deep
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_DEFAULT_LINE = re.compile(r"^\s*default_profile\s*=")


def parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    """The file's TOML, or a `ConfigError` saying what is wrong with it (never quoting it)."""

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or depth_exceeds(data, MAX_CONFIG_DEPTH):
        raise ConfigError(
            f"{path} is nested too deeply (more than {MAX_CONFIG_DEPTH} levels of tables and "
            "arrays): it is not an hm-tui config"
        )
    return data


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, mode 0600, its directory 0700 if created."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_config(default_profile: str | None, profiles: dict[str, Profile]) -> str:
    lines = ["# hm-tui configuration: see `hm-tui config --help`. Keep this file mode 0600.", ""]
    if default_profile:
        lines += [f"default_profile = {toml_string(default_profile)}", ""]
    for name, profile in profiles.items():
        lines += _dump_profile(name, profile)
    return "\n".join(lines)


def _dump_profile(name: str, profile: Profile) -> list[str]:
    head = f"profiles.{toml_key(name)}"
    lines = [f"[{head}]"]
    nested: list[str] = []
    for fld in fields(profile):
        value = getattr(profile, fld.name)
        if fld.name == "name" or value is None or value == {}:
            continue
        if is_dataclass(value):
            nested += ["", f"[{head}.{fld.name}]", *_dump_pairs(_as_dict(value))]
        elif isinstance(value, dict):
            nested += ["", f"[{head}.{fld.name}]", *_dump_pairs(value)]
        else:
            lines.append(f"{fld.name} = {toml_value(value)}")
    return [*lines, *nested, ""]


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj) if getattr(obj, f.name) is not None}


def _dump_pairs(pairs: dict[str, Any]) -> list[str]:
    return [f"{toml_key(k)} = {toml_value(v)}" for k, v in pairs.items()]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)  # TOML reads Python's float repr (30.0, 1.5, 1e-05) as a float
    return toml_string(str(value))


def toml_key(key: str) -> str:
    """Bare when possible; keymap ids such as `roster.add` must be quoted (a dot nests)."""
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string: JSON escaping is valid TOML, except DEL must be escaped too."""
    return json.dumps(text, ensure_ascii=True).replace("\x7f", "\\u007f")


def edit_profile(text: str, name: str, profile: Profile, default: str | None) -> str:
    """`text` (a config file) with profile `name`'s tables replaced by `profile`'s (appended when
    it had none) and `default_profile` set to `default` (None: left alone). Every other line,
    comments included, stays as it was; the caller checks that the result reads back as meant
    (a layout this does not know, such as dotted keys under a bare `[profiles]`, will not)."""
    out: list[str] = []
    skipped_comments: list[str] = []  # comments ending a replaced table may head the next one
    skipping = in_tables = False
    for line in text.splitlines():
        path = _table_path(line)
        if path is not None:
            if not in_tables and default is not None:
                out += _default_line(default, out)
                default = None
            in_tables = True
            skipping = path[:2] == ["profiles", name]
            if not skipping:
                out += skipped_comments
            skipped_comments = []
        elif not in_tables and default is not None and _DEFAULT_LINE.match(line):
            out.append(f"default_profile = {toml_string(default)}")
            default = None
            continue
        if not skipping:
            out.append(line)
        elif line.lstrip().startswith("#") or not line.strip():
            skipped_comments.append(line)
        else:
            skipped_comments = []
    out += skipped_comments  # the file ended: keep what may be the operator's closing notes
    if default is not None:  # no table at all: the top level runs to the end
        out += _default_line(default, out)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join([*out, "", *_dump_profile(name, profile)])


def _default_line(default: str, before: list[str]) -> list[str]:
    line = f"default_profile = {toml_string(default)}"
    return [line, ""] if before and before[-1].strip() else [line]


def _table_path(line: str) -> list[str] | None:
    """The key path of a `[table]` header line, or None for any other line."""
    stripped = line.strip()
    if not stripped.startswith("[") or stripped.startswith("[["):
        return None
    try:
        node: Any = tomllib.loads(stripped)
    except tomllib.TOMLDecodeError:
        return None  # not a header after all (e.g. inside a multi-line string)
    path = []
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        path.append(key)
    return path
