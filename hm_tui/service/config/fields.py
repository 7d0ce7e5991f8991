"""Reading the config file's fields: typed, required or optional, each error naming where.

Shared by the profile parser (`config`); a secret's value never appears in a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SECRET_FIELDS = frozenset({"client_secret", "webhook_secret"})


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class ConfigMissing(ConfigError):
    """There is no config file at `path` (the message says how to make one)."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no configuration at {path}. Import credentials with "
            "`hm-tui config import credentials.json`, or try `hm-tui --demo` "
            "(no account needed)."
        )
        self.path = path


def file_path(raw: dict[str, Any], key: str, at: str) -> str:
    """A required file path; `~` expands as in a shell."""
    return str(Path(required(raw, key, str, at)).expanduser())


def keymap_from_dict(raw: Any, at: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(where(at, 'keymap must be a table of binding id = "key" strings'))
    return dict(raw)


_TYPE_NAMES = {str: "a string", int: "an integer"}


def where(at: str, text: str) -> str:
    return f"{at}: {text}" if at else text


def optional(raw: dict[str, Any], key: str, typ: type, at: str) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, typ) or isinstance(value, bool):
        shown = "" if key in SECRET_FIELDS else f" ({value!r:.40})"  # a secret stays unsaid
        raise ConfigError(
            where(at, f"{key} must be {_TYPE_NAMES[typ]}, not {type(value).__name__}{shown}")
        )
    return value


def required(raw: dict[str, Any], key: str, typ: type, at: str) -> Any:
    value = optional(raw, key, typ, at)
    if value is None or value == "":
        raise ConfigError(where(at, f"{key} is missing"))
    return value


def check_base_url(url: str, at: str) -> None:
    """https everywhere; plain http only to this machine (the emulator). A URL that names a
    user or password is refused without being repeated (it may hold a secret: `config show`
    and every message would print it), as is one whose host or port cannot be read (it used to
    surface as a traceback from the URL parser, or from the socket once a call was made)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # (reads the port: out of range or not a number raises)
    except ValueError as exc:
        raise ConfigError(where(at, f"base_url is not a valid URL ({exc})")) from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            where(
                at,
                "base_url must not carry a user name or password (a `user:password@` part): "
                "hm-tui logs in with client_id and client_secret (or a private key); write "
                "the URL without it",
            )
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(where(at, f"base_url {url!r} is not an http(s) URL"))
    if port == 0:
        raise ConfigError(where(at, "base_url's port must be between 1 and 65535, not 0"))
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(
            where(
                at,
                "base_url must use https (plain http is only allowed to "
                f"127.0.0.1/localhost), got {url!r}",
            )
        )


def check_port(value: int, key: str, at: str) -> int:
    """A TCP port to connect to: 1-65535 (0 and negatives reached paho as a traceback)."""
    if not 1 <= value <= 65535:
        raise ConfigError(where(at, f"{key} must be between 1 and 65535, not {value}"))
    return value
