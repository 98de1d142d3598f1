"""Free UDP port ranges for a fleet (tests, benchmarks, and anything that starts simulators)."""

from __future__ import annotations

import random
import socket


def free_udp_base(count: int) -> int:
    """A base port P with P..P+count-1 free for UDP on every interface (MAVSDK's udpin binds 0.0.0.0)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        socks: list[socket.socket] = []
        try:
            for i in range(count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("0.0.0.0", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP port range")
