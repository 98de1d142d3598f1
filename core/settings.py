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


class ConsoleSettings(BaseModel):
    """The web console's base map: offline vector layers from the site, plus optional XYZ tiles."""

    tile_url: str | None = None  # an XYZ template with {z}/{x}/{y}, for deployments with a map server
    tile_gcj02: bool = False  # the tiles are in GCJ-02 (Chinese base maps): the console shifts to match
    tile_attribution: str | None = None


class SimCameraSettings(BaseModel):
    """The main job's simulated cameras and the edge workers that inspect them."""

    enabled: bool = True
    fps: float = Field(default=2.0, gt=0, le=30)  # frames per simulated second
    size: str = Field(default="480x270", pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$")


class AlertSettings(BaseModel):
    # Event types (prefixes) that open an alert case for the duty officers.
    types: list[str] = Field(default_factory=lambda: [
        "skypatrol.alert.", "skypatrol.airspace.plan_revoked.", "skypatrol.airspace.nonconformance.",
        "skypatrol.drone.failsafe.", "skypatrol.drone.fault."])


class WebhookSettings(BaseModel):
    """An HTTP endpoint of the city platform that receives events (CloudEvents, structured JSON)."""

    url: str
    name: str | None = None  # names the delivery cursor; defaults to the URL
    types: list[str] = Field(default_factory=lambda: ["skypatrol.alert."])  # event type prefixes sent
    secret: str | None = None  # HMAC-SHA256 of the body in X-SkyPatrol-Signature when set
    timeout_s: float = 5.0
    headers: dict[str, str] = Field(default_factory=dict)


# --- fleet (vehicles over MAVSDK, the fleet manager, platform failsafes) -----------------------
def _default_failsafe_params() -> dict[str, int | float]:
    # PX4 parameters set on every vehicle at connect: data link loss -> return (after
    # COM_DL_LOSS_T simulated/vehicle seconds), geofence breach -> return, low battery -> return at
    # critical and land at emergency.
    return {"NAV_DLL_ACT": 2, "COM_DL_LOSS_T": 10, "GF_ACTION": 3, "COM_LOW_BAT_ACT": 3}


class FleetSettings(BaseModel):
    """Platform timeouts are wall-clock seconds; vehicle-side durations are the vehicle's own."""

    enabled: bool = True  # start the fleet manager with the server (drones with a connection_url)
    connect_timeout_s: float = 20.0  # wait for a vehicle's first heartbeat before retrying
    reconnect_interval_s: float = 5.0
    sync_interval_s: float = 5.0  # pick up drones added, changed or removed in the database
    link_lost_after_s: float = 3.0  # no telemetry for this long -> link_lost event, state offline
    telemetry_store_hz: float = 1.0  # skypatrol.telemetry.v1 stored at this rate; full rate live only
    telemetry_live: bool = True  # publish every position update live-only
    # Ask each vehicle for position, velocity and attitude at this rate on connect (0: its own
    # defaults; PX4 SITL streams position at 50 Hz, more than a fleet needs).
    telemetry_rate_hz: float = Field(default=0.0, ge=0)
    landed_idle_after_s: float = 5.0  # landed and disarmed this long -> idle again
    failsafe_params: dict[str, int | float] = Field(default_factory=_default_failsafe_params)
    # Battery reserve: the charge needed to get home is the return time (distance / (return speed
    # - wind), plus the descent) over the endurance, plus the margin. Below it -> RTL.
    battery_failsafe: bool = True
    endurance_s: float = 1500.0  # flight time on a full battery at cruise
    return_speed_m_s: float = 8.0
    descent_speed_m_s: float = 3.0
    wind_m_s: float = 3.0  # worst case: all of it a headwind on the way home
    battery_margin: float = 0.10  # fraction of a full battery kept in reserve beyond the return
    # Zone breach predicted from position + velocity over this horizon against blocking zones -> RTL.
    zone_failsafe: bool = True
    breach_horizon_s: float = 10.0
    breach_step_s: float = 1.0
    zone_refresh_s: float = 10.0
    failsafe_check_hz: float = 2.0
    # A drone that has flown this many hours since its last service is not dispatched (0: no limit).
    service_interval_h: float = Field(default=50.0, ge=0)


class WeatherLimits(BaseModel):
    max_wind_m_s: float = Field(10.0, gt=0)
    max_gust_m_s: float = Field(14.0, gt=0)
    max_precipitation_mm_h: float = Field(1.0, ge=0)
    min_visibility_m: float = Field(1000.0, ge=0)


class WeatherSettings(BaseModel):
    """Conditions reported by the configured provider, and the limits per drone model ("*": any)."""

    wind_m_s: float = Field(3.0, ge=0)
    gust_m_s: float = Field(5.0, ge=0)
    precipitation_mm_h: float = Field(0.0, ge=0)
    visibility_m: float = Field(10_000.0, ge=0)
    limits: dict[str, WeatherLimits] = Field(default_factory=lambda: {"*": WeatherLimits()})
    postpone_retry_s: float = Field(600.0, gt=0)  # a postponed run looks again after this long
    postpone_max_s: float = Field(7200.0, ge=0)  # and gives up (aborted) after this long


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
    site: str = "jinshan"  # the site bundle (sites/NAME or a folder) the console's map layers come from
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    event_source: str = "urn:skypatrol:server"
    # Events whose type is listed are deleted after this many days; every other type is kept.
    retention_days: dict[str, float] = Field(default_factory=lambda: {"skypatrol.telemetry.v1": 7.0})
    retention_interval_s: float = 3600.0
    # Evidence images (which may show people and number plates) are deleted after this many days.
    evidence_retention_days: float = 180.0
    # Evidence originals (faces and number plates unblurred, PIPL) go to this role and above only;
    # every other role gets the blurred public copy.
    evidence_originals_role: Literal["viewer", "pilot", "admin"] = "admin"
    # The server backs its database up into <data_dir>/backups every this many hours (0: never),
    # keeping the newest `backup_keep`; `skypatrol db backup` takes one at any time.
    backup_interval_h: float = Field(default=24.0, ge=0)
    backup_keep: int = Field(default=7, ge=1)
    event_batch_max: int = 5000
    admin_token: str | None = None
    sqlite_synchronous: str = "NORMAL"
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    # The airspace authority: "local" (embedded, decides at once from the zone store) or "hub"
    # (the East China UAV hub, or SkyPatrol's reference hub, at hub_url).
    authority: Literal["local", "hub"] = "local"
    hub_url: str = "http://127.0.0.1:8600"
    hub_port: int = 8600  # where `skypatrol run` serves its embedded reference hub
    operator_id: str = "skypatrol"
    # Terrain for height-above-ground checks: a GeoTIFF DEM in WGS 84 (None: flat at each home's height).
    dem_path: Path | None = None
    # The remote pilot in command (a user with a CAAC licence number) of runs that name none; the
    # filing carries their licence beside the drone's real-name registration.
    duty_pilot: str | None = None
    weather: WeatherSettings = Field(default_factory=WeatherSettings)
    sim_cameras: SimCameraSettings = Field(default_factory=SimCameraSettings)
    sim_base_port: int = 14540  # the main job's simulated fleet: drone i on udp port sim_base_port + i
    authority_poll_s: float = 2.0
    fleet: FleetSettings = Field(default_factory=FleetSettings)

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
