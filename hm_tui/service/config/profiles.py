"""Profiles and secrets: one TOML file, named profiles, environment overrides for every secret.

Where: `platformdirs.user_config_dir("hm-tui")/config.toml`, or the file named by `HM_TUI_CONFIG`.
The file is written 0600 (atomically) and refused when group or world can read it.

```toml
default_profile = "work"

[profiles.work]
environment = "sandbox"                # "live" | "sandbox"
base_url = "https://sandbox.api.high-mobility.com/v1"   # optional, derived from environment
client_id = "..."
client_secret = "..."                  # or private_key_file + private_key_id
app_id = "..."

[profiles.work.mqtt]                   # optional: live data over MQTT (mutual TLS)
host = "sandbox.mqtt.high-mobility.com"
port = 8883
client_id = "..."
ca_file = "/path/root.pem"
cert_file = "/path/certificate.pem.crt"
key_file = "/path/private.pem.key"
format = "v1"                          # "v1" | "v2"
stall_floor_s = 30                     # optional: the least silence called a stalled feed

[profiles.work.keymap]                 # binding id -> key
"roster.add" = "ctrl+a"
```

Environment variables (they win over the file, so no secret has to live in it):
`HM_TUI_CONFIG` (another config file), `HM_TUI_PROFILE` (the profile to use),
`HM_TUI_CLIENT_ID`, `HM_TUI_CLIENT_SECRET`, `HM_TUI_PRIVATE_KEY_FILE`, `HM_TUI_PRIVATE_KEY_ID`,
`HM_TUI_WEBHOOK_SECRET`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from hm_tui.service.config.fields import (
    LOOPBACK_HOSTS,
    SECRET_FIELDS,
    ConfigError,
    ConfigMissing,
    check_base_url,
    check_port,
    keymap_from_dict,
)
from hm_tui.service.config.fields import file_path as _file
from hm_tui.service.config.fields import optional as _opt
from hm_tui.service.config.fields import required as _req
from hm_tui.service.config.fields import where as _at
from hm_tui.service.config.file import (
    MAX_CONFIG_BYTES,
    dump_config,
    edit_profile,
    parse_toml,
    write_private_file,
)
from hm_tui.service.feed.health import STALL_FLOOR_S
from hm_tui.service.files.safe import FileRefused, read_file
from hm_tui.service.redact import mask, register_secret

__all__ = [
    "SECRET_FIELDS",
    "Config",
    "ConfigError",
    "ConfigMissing",
    "MqttSettings",
    "Profile",
    "check_base_url",
    "config_path",
    "load_config",
    "load_profile",
    "profile_from_credentials",
]

Environment = Literal["live", "sandbox"]
BASE_URLS: dict[str, str] = {
    "live": "https://api.high-mobility.com/v1",
    "sandbox": "https://sandbox.api.high-mobility.com/v1",
}
#: Environment variable -> the profile field it overrides.
ENV_OVERRIDES: dict[str, str] = {
    "HM_TUI_CLIENT_ID": "client_id",
    "HM_TUI_CLIENT_SECRET": "client_secret",
    "HM_TUI_PRIVATE_KEY_FILE": "private_key_file",
    "HM_TUI_PRIVATE_KEY_ID": "private_key_id",
    "HM_TUI_WEBHOOK_SECRET": "webhook_secret",
}


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where and how to receive pushed vehicle data (docs/platform.md#mqtt-streaming-push)."""

    host: str
    port: int
    client_id: str
    ca_file: str
    cert_file: str
    key_file: str
    format: Literal["v1", "v2"] = "v1"
    topic: str | None = None  # None: derived from environment and app id
    #: the least silence (seconds) reported as a stalled feed; a slower stream's own cadence
    #: makes it longer (service/feed/health.py)
    stall_floor_s: float = STALL_FLOOR_S


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything needed to talk to one platform project. `repr` never shows a secret."""

    name: str
    environment: Environment
    base_url: str
    client_id: str
    client_secret: str | None = None
    private_key_file: str | None = None
    private_key_id: str | None = None
    app_id: str = ""
    mqtt: MqttSettings | None = None
    webhook_listen: str | None = None
    webhook_secret: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        def show(name: str) -> str:
            value = getattr(self, name)
            return mask(value) if name in SECRET_FIELDS else repr(value)

        shown = ", ".join(f"{name}={show(name)}" for name in self.__dataclass_fields__)
        return f"Profile({shown})"

    __str__ = __repr__

    @property
    def uses_private_key(self) -> bool:
        return bool(self.private_key_file and self.private_key_id)

    @property
    def is_loopback(self) -> bool:
        return (urlsplit(self.base_url).hostname or "") in LOOPBACK_HOSTS


@dataclass(slots=True)
class Config:
    """The config file as written (no environment overrides); `profile()` resolves one.

    Each profile is checked only when it is used: one that cannot be read is kept in `broken`
    (name -> what is wrong), so a half-written profile never stops the others from working.
    """

    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str | None = None
    broken: dict[str, str] = field(default_factory=dict)

    def profile(self, name: str | None = None, env: Mapping[str, str] | None = None) -> Profile:
        """The named (or default) profile with environment overrides applied and checked."""
        env = os.environ if env is None else env
        profile = self.resolved(self.chosen_name(name, env), env)
        check_credentials(profile, self.path)
        register_secret(profile.client_secret)
        register_secret(profile.webhook_secret)
        return profile

    def chosen_name(self, name: str | None, env: Mapping[str, str]) -> str:
        """`name`, else HM_TUI_PROFILE, else the default (or the only) profile."""
        chosen = name or env.get("HM_TUI_PROFILE") or self.default_profile
        known = [*self.profiles, *self.broken]
        if not chosen and len(known) == 1:
            chosen = known[0]
        if not chosen:
            raise ConfigError(
                f"{self.path} names no default_profile: pass --profile ({self._known()})"
            )
        return chosen

    def resolved(self, name: str, env: Mapping[str, str] | None = None) -> Profile:
        """Profile `name` with environment overrides applied, not checked for credentials."""
        if name in self.broken:
            raise ConfigError(self.broken[name])
        if name not in self.profiles:
            raise ConfigError(f"no profile {name!r} in {self.path} ({self._known()})")
        return apply_env_overrides(self.profiles[name], os.environ if env is None else env)

    def _known(self) -> str:
        names = (
            ", ".join(
                n if n.isprintable() and n else repr(n)  # file text: kept inert
                for n in sorted([*self.profiles, *self.broken])
            )
            or "none"
        )
        return f"profiles: {names}"

    def with_profile(self, profile: Profile, *, make_default: bool = False) -> Config:
        profiles = {**self.profiles, profile.name: profile}
        broken = {k: v for k, v in self.broken.items() if k != profile.name}
        default = self.default_profile
        if make_default or not default or default not in [*profiles, *broken]:
            default = profile.name
        return Config(self.path, profiles, default, broken)

    def save(self, changed: str | None = None) -> Path | None:
        """Write the file atomically, readable by the owner only. With `changed` (the profile
        `with_profile` set), an existing file keeps everything else as it was, comments too.
        When its layout makes that unsafe, it is written anew and the old one is kept beside it:
        that copy's path is returned (None otherwise)."""
        before = None
        if changed is not None and os.path.lexists(self.path):
            try:
                before = read_file(self.path, "config file", max_bytes=MAX_CONFIG_BYTES).decode()
                old_default = parse_toml(before.encode(), self.path).get("default_profile")
            except (FileRefused, UnicodeDecodeError, ConfigError):
                old_default = None
            if before is not None:
                default = None if old_default == self.default_profile else self.default_profile
                text = edit_profile(before, changed, self.profiles[changed], default)
                if self._reads_back(text):
                    write_private_file(self.path, text)
                    return None
        backup = None
        if before is not None:
            backup = self.path.with_name(self.path.name + ".bak")
            write_private_file(backup, before)
        write_private_file(self.path, dump_config(self.default_profile, self.profiles))
        return backup

    def _reads_back(self, text: str) -> bool:
        try:
            again = config_from_dict(tomllib.loads(text), self.path)
        except (tomllib.TOMLDecodeError, ConfigError):
            return False
        return (again.profiles, again.default_profile, again.broken) == (
            self.profiles,
            self.default_profile,
            self.broken,
        )


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file in use: `HM_TUI_CONFIG`, else the platform's user config dir."""
    env = os.environ if env is None else env
    if env.get("HM_TUI_CONFIG"):
        return Path(env["HM_TUI_CONFIG"]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("hm-tui")) / "config.toml"


def load_config(path: Path | str | None = None, *, missing_ok: bool = False) -> Config:
    """Read and check the config file; a clear `ConfigError` for anything wrong with it."""
    path = Path(path) if path is not None else config_path()
    try:
        raw = read_file(path, "config file", max_bytes=MAX_CONFIG_BYTES, private=True)
    except FileRefused as exc:
        if exc.kind == "missing":
            if missing_ok:
                return Config(path)
            raise ConfigMissing(path) from None
        if exc.kind == "directory":
            raise ConfigError(
                f"{path} is a directory, not a config file: HM_TUI_CONFIG (or the "
                f"default location) must name a file, such as {path / 'config.toml'}"
            ) from None
        raise ConfigError(str(exc)) from None
    return config_from_dict(parse_toml(raw, path), path)


def load_profile(name: str | None = None, path: Path | str | None = None) -> Profile:
    """The profile a command should use: `--profile`, `HM_TUI_PROFILE`, or the default."""
    return load_config(path).profile(name)


def config_from_dict(data: dict[str, Any], path: Path) -> Config:
    """The file's profiles; one that cannot be read goes to `broken`, to fail only when used."""
    where = str(path)
    default = _opt(data, "default_profile", str, where)
    profiles_raw = data.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise ConfigError(f"{where}: `profiles` must be a table ([profiles.NAME])")
    config = Config(path, default_profile=default)
    for name, raw in profiles_raw.items():
        try:
            config.profiles[name] = profile_from_dict(name, raw, where)
        except ConfigError as exc:
            config.broken[name] = str(exc)
    return config


def profile_from_dict(name: str, raw: Any, where: str, *, at: str | None = None) -> Profile:
    """Build one profile from its TOML table, naming the field and profile of any mistake
    (`at` replaces the "FILE: profile 'NAME'" that starts each message)."""
    at = f"{where}: profile {name!r}" if at is None else at
    if not isinstance(raw, dict):
        raise ConfigError(f"{at} must be a table" if at else "expected a table")
    environment = _opt(raw, "environment", str, at) or "sandbox"
    if environment not in BASE_URLS:
        raise ConfigError(_at(at, f'environment must be "live" or "sandbox", not {environment!r}'))
    base_url = _opt(raw, "base_url", str, at) or BASE_URLS[environment]
    check_base_url(base_url, at)
    return Profile(
        name=name,
        environment=environment,  # type: ignore[arg-type]  # checked above
        base_url=base_url.rstrip("/"),
        client_id=_opt(raw, "client_id", str, at) or "",  # may come from HM_TUI_CLIENT_ID
        client_secret=_opt(raw, "client_secret", str, at),
        private_key_file=_opt(raw, "private_key_file", str, at),
        private_key_id=_opt(raw, "private_key_id", str, at),
        app_id=_opt(raw, "app_id", str, at) or "",
        mqtt=_mqtt_from_dict(raw.get("mqtt"), at),
        webhook_listen=_opt(raw, "webhook_listen", str, at),
        webhook_secret=_opt(raw, "webhook_secret", str, at),
        keymap=keymap_from_dict(raw.get("keymap", {}), at),
    )


def _mqtt_from_dict(raw: Any, at: str) -> MqttSettings | None:
    if raw is None:
        return None
    at = f"{at}, [mqtt]" if at else "[mqtt]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{at} must be a table")
    fmt = _opt(raw, "format", str, at) or "v1"
    if fmt not in ("v1", "v2"):
        raise ConfigError(_at(at, f'format must be "v1" or "v2", not {fmt!r}'))
    return MqttSettings(
        host=_req(raw, "host", str, at),
        port=check_port(_req(raw, "port", int, at), "port", at),
        client_id=_req(raw, "client_id", str, at),
        ca_file=_file(raw, "ca_file", at),
        cert_file=_file(raw, "cert_file", at),
        key_file=_file(raw, "key_file", at),
        format="v2" if fmt == "v2" else "v1",
        topic=_opt(raw, "topic", str, at),
        stall_floor_s=_stall_floor(raw, at),
    )


def _stall_floor(raw: dict[str, Any], at: str) -> float:
    value = raw.get("stall_floor_s", STALL_FLOOR_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 3600:
        raise ConfigError(
            _at(at, f"stall_floor_s must be a number of seconds from 1 to 3600, not {value!r:.40}")
        )
    return float(value)


def apply_env_overrides(profile: Profile, env: Mapping[str, str]) -> Profile:
    changes: dict[str, Any] = {fld: env[var] for var, fld in ENV_OVERRIDES.items() if env.get(var)}
    return replace(profile, **changes) if changes else profile


def override_sources(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Profile field -> the environment variable currently overriding it (for `config show`)."""
    env = os.environ if env is None else env
    return {fld: var for var, fld in ENV_OVERRIDES.items() if env.get(var)}


def profile_problems(profile: Profile) -> list[str]:
    """What keeps a profile (environment overrides applied) from logging in; empty if nothing."""
    problems = []
    if not profile.client_id:
        problems.append("client_id is missing")
    if not (profile.client_secret or profile.uses_private_key):
        if profile.private_key_file or profile.private_key_id:
            problems.append("private-key login needs both private_key_file and private_key_id")
        else:
            problems.append(
                "no credentials: client_secret, or private_key_file + private_key_id, is missing"
            )
    return problems


def check_credentials(profile: Profile, path: Path) -> None:
    """Refuse a profile that cannot log in, saying what to set and where."""
    problems = profile_problems(profile)
    if problems:
        raise ConfigError(
            f"profile {profile.name!r} in {path} cannot be used: {'; '.join(problems)}. Set "
            "them in the file, or through HM_TUI_CLIENT_ID and HM_TUI_CLIENT_SECRET (or "
            "HM_TUI_PRIVATE_KEY_FILE + HM_TUI_PRIVATE_KEY_ID)"
        )


def profile_from_credentials(creds: Mapping[str, Any], name: str) -> Profile:
    """A profile from a `credentials.json` (docs/architecture.md#emulator-state-directory). A
    `ConfigError` says what is missing or wrong in it, without naming the file (the caller knows
    it)."""
    if not isinstance(creds, Mapping):
        raise ConfigError("expected a JSON object")
    data: dict[str, Any] = dict(creds)
    mqtt = data.pop("mqtt", None)
    if isinstance(mqtt, dict):
        mqtt = {"format": "v1", **mqtt}
    keep = {k: v for k, v in data.items() if k in Profile.__dataclass_fields__}
    keep.pop("name", None)
    profile = profile_from_dict(name, {**keep, "mqtt": mqtt}, "", at="")
    problems = profile_problems(profile)
    if problems:
        raise ConfigError("; ".join(problems))
    return profile
