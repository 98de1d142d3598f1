"""What a vehicle's answer means to the rest of the product: `Refused` or `Unavailable`.

MAVSDK raises one error class per plugin, each carrying the vehicle's (or MAVSDK's) result enum.
A result that says the link is missing or timed out is `Unavailable`; every other failure is the
vehicle declining, `Refused`, with the result named so a pilot can read why.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from mavsdk.exceptions import MavsdkError

from core.errors import Refused, Unavailable

T = TypeVar("T")

# Result names (across plugins) that mean "no answer", not "no".
UNREACHABLE_RESULTS = frozenset({"NO_SYSTEM", "CONNECTION_ERROR", "TIMEOUT"})


def result_name(exc: BaseException) -> str:
    result = getattr(exc, "result", None)
    return getattr(result, "name", None) or type(exc).__name__


def vehicle_error(what: str, exc: BaseException) -> Refused | Unavailable:
    name = result_name(exc)
    if name in UNREACHABLE_RESULTS:
        return Unavailable(f"vehicle did not answer {what}: {name}", {"command": what, "result": name})
    return Refused(f"vehicle refused {what}: {name}", {"command": what, "result": name})


async def vehicle_call(what: str, call: Awaitable[T]) -> T:
    """Await one MAVSDK request, translating its failure into the product's errors."""
    try:
        return await call
    except MavsdkError as exc:
        raise vehicle_error(what, exc) from None
