"""Configuration: one TOML file plus `SKYPATROL_*` environment variables (pydantic-settings).

The file comes from `--config` (which sets `SKYPATROL_CONFIG`) or `SKYPATROL_CONFIG`. Environment
variables win over the file; nested fields use `__` (`SKYPATROL_MQTT__HOST=...`).
Defaults run everything embedded: an SQLite file in the data directory, the in-process event bus.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import BadInput


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "skypatrol"


class MqttSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = "skypatrol-bridge"
    topic_prefix: str = "skypatrol"
    keepalive_s: int = 30
    max_inflight: int = 100


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SKYPATROL_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None  # default: sqlite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    site_timezone: str = "Asia/Shanghai"
    event_source: str = "urn:skypatrol:server"
    # Events whose type is listed are deleted after this many days; every other type is kept.
    retention_days: dict[str, float] = Field(default_factory=lambda: {"skypatrol.telemetry.v1": 7.0})
    retention_interval_s: float = 3600.0
    event_batch_max: int = 5000
    admin_token: str | None = None
    sqlite_synchronous: str = "NORMAL"
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    # The airspace authority: "local" (embedded, decides at once from the zone store) or "hub"
    # (the East China UAV hub, or SkyPatrol's reference hub, at hub_url).
    authority: Literal["local", "hub"] = "local"
    hub_url: str = "http://127.0.0.1:8600"
    hub_port: int = 8600  # where `skypatrol run` serves its embedded reference hub
    operator_id: str = "skypatrol"
    authority_poll_s: float = 2.0

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_mode(cls, v: str) -> str:
        v = v.upper()
        if v not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("must be OFF, NORMAL, FULL or EXTRA")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("SKYPATROL_CONFIG")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'skypatrol.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning every problem into one clear `BadInput` message."""
    path = os.environ.get("SKYPATROL_CONFIG")
    if path and not Path(path).is_file():
        raise BadInput(f"config file not found: {path}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "config"
        raise BadInput(f"invalid setting {where}: {err.get('msg')}") from None
    except Exception as exc:  # a TOML syntax error surfaces here
        raise BadInput(f"cannot read config {path}: {exc}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
