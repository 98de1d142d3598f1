"""MAVSDK's native log into Python logging (`mavsdk` logger), so a server's output stays readable:
its debug chatter is debug here, its warnings and errors are warnings and errors."""

from __future__ import annotations

import logging

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
log = logging.getLogger("mavsdk")


def route_mavsdk_log() -> None:
    from mavsdk.logging import log_subscribe

    def handler(level: int, message: str, file: str | None, line: int) -> bool:
        log.log(_LEVELS.get(int(level), logging.INFO), "%s", message)
        return True  # handled here: MAVSDK prints nothing itself

    log_subscribe(handler)
