"""Shared helpers for the mission file formats."""

from __future__ import annotations

import math
from pathlib import Path

from core.errors import BadInput
from missions.items import MavCmd, MissionItem


def num(text: object, where: str) -> float:
    """A number from a file field; `null`/None read as NaN (QGC writes null for 'unset')."""
    if text is None:
        return math.nan
    if isinstance(text, bool):
        raise BadInput(f"{where}: expected a number, got {text!r}")
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadInput(f"{where}: expected a number, got {text!r}") from None


def fmt(value: float) -> str:
    """Shortest text that reads back to the same float."""
    if math.isnan(value):
        return "nan"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def json_num(value: float) -> float | int | None:
    if math.isnan(value):
        return None
    if value == int(value) and abs(value) < 1e15:
        return int(value)
    return value


def command_name(command: int) -> str:
    try:
        return MavCmd(command).name
    except ValueError:
        return f"MAV_CMD_{command}"


def has_position(item: MissionItem) -> bool:
    return not (item.lat == 0.0 and item.lon == 0.0)


def read_text(path_or_text: str | Path, looks_like: str) -> tuple[str, str]:
    """(text, source name) from a path or from the text itself (starts with `looks_like`)."""
    if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith(looks_like):
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8-sig"), str(path)
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: cannot read ({exc})") from None
    return str(path_or_text), "<text>"


def refuse_unless_lossy(target: str, lost: list[str], lossy: bool) -> None:
    """A conversion that would drop something is refused unless the caller accepts the loss."""
    if lost and not lossy:
        raise BadInput(f"{target} cannot carry {'; '.join(lost)} (use --lossy / lossy=True to drop)")
