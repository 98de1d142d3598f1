"""A kinematic multicopter: position control with speed, acceleration, climb and yaw-rate limits,
wind with gusts, a battery whose drain depends on airspeed, climb and hover, and GPS noise.

Coordinates are metres east/north/up (ENU) from the vehicle's boot position; the ground is flat
at up = 0. Angles follow MAVLink: yaw 0 = north, clockwise positive.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

G = 9.80665
_DRAG_PER_M = 0.02  # horizontal drag acceleration per (m/s)^2 of airspeed, sets the lean angle
_GUST_TAU_S = 3.0
_GPS_DRIFT_TAU_S = 20.0


@dataclass(slots=True)
class Setpoint:
    """Where the position controller steers, and how fast it may go there."""

    east_m: float
    north_m: float
    up_m: float
    max_speed_m_s: float  # horizontal
    max_up_m_s: float
    max_down_m_s: float
    stop_at_target: bool = True
    yaw_rad: float | None = None  # None: face the direction of travel


@dataclass(slots=True)
class Limits:
    acc_hor_m_s2: float = 3.0
    acc_up_m_s2: float = 4.0
    acc_down_m_s2: float = 3.0
    yaw_rate_rad_s: float = math.radians(45.0)


def _ou_step(x: float, sigma: float, tau: float, dt: float, rng: random.Random) -> float:
    """One step of an Ornstein-Uhlenbeck process (zero mean, std. dev. sigma, time constant tau)."""
    if sigma <= 0.0:
        return 0.0
    a = math.exp(-dt / tau)
    return a * x + sigma * math.sqrt(1.0 - a * a) * rng.gauss(0.0, 1.0)


class Wind:
    def __init__(self, rng: random.Random) -> None:
        self.mean_east_m_s = 0.0
        self.mean_north_m_s = 0.0
        self.gust_m_s = 0.0
        self._rng = rng
        self.gust_east_m_s = 0.0
        self.gust_north_m_s = 0.0

    def step(self, dt: float) -> None:
        self.gust_east_m_s = _ou_step(self.gust_east_m_s, self.gust_m_s, _GUST_TAU_S, dt, self._rng)
        self.gust_north_m_s = _ou_step(self.gust_north_m_s, self.gust_m_s, _GUST_TAU_S, dt, self._rng)

    @property
    def east_m_s(self) -> float:
        return self.mean_east_m_s + self.gust_east_m_s

    @property
    def north_m_s(self) -> float:
        return self.mean_north_m_s + self.gust_north_m_s


class Battery:
    """Coulomb counting; current from hover, airspeed and climb; voltage from state of charge."""

    def __init__(self) -> None:
        self.capacity_mah = 5000.0
        self.consumed_mah = 0.0
        self.current_a = 0.0
        self.cells = 4
        self.v_charged = 4.05
        self.v_empty = 3.6
        self.r_internal = 0.02
        self.hover_current_a = 18.0
        self.drain_factor = 1.0  # fault injection: > 1 drains faster

    @property
    def remaining(self) -> float:
        return max(0.0, 1.0 - self.consumed_mah / self.capacity_mah) if self.capacity_mah > 0 else 1.0

    def set_remaining(self, fraction: float) -> None:
        self.consumed_mah = (1.0 - min(max(fraction, 0.0), 1.0)) * self.capacity_mah

    @property
    def voltage_v(self) -> float:
        cell = self.v_empty + (self.v_charged - self.v_empty) * self.remaining
        return max(0.0, self.cells * cell - self.current_a * self.r_internal)

    def step(self, dt: float, *, flying: bool, armed: bool, airspeed_m_s: float, climb_m_s: float) -> None:
        if flying:
            current = self.hover_current_a * (1.0 + 0.003 * airspeed_m_s * airspeed_m_s)
            current += self.hover_current_a * 0.25 * max(climb_m_s, 0.0)
        elif armed:
            current = 1.5  # motors idling on the ground
        else:
            current = 0.3  # avionics only
        self.current_a = current
        self.consumed_mah += current * self.drain_factor * dt / 3.6


class GpsNoise:
    """Slow drift (like an EKF following GPS) plus white jitter on the raw fixes."""

    def __init__(self, rng: random.Random, sigma_h_m: float = 0.3, sigma_v_m: float = 0.5) -> None:
        self._rng = rng
        self.sigma_h_m = sigma_h_m
        self.sigma_v_m = sigma_v_m
        self.drift_east_m = 0.0
        self.drift_north_m = 0.0
        self.drift_up_m = 0.0

    def step(self, dt: float) -> None:
        self.drift_east_m = _ou_step(self.drift_east_m, self.sigma_h_m, _GPS_DRIFT_TAU_S, dt, self._rng)
        self.drift_north_m = _ou_step(self.drift_north_m, self.sigma_h_m, _GPS_DRIFT_TAU_S, dt, self._rng)
        self.drift_up_m = _ou_step(self.drift_up_m, self.sigma_v_m, _GPS_DRIFT_TAU_S, dt, self._rng)

    def jitter_m(self) -> float:
        return self._rng.gauss(0.0, 0.15)


def _wrap_pi(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class MulticopterModel:
    def __init__(self, rng: random.Random) -> None:
        self.east_m = 0.0
        self.north_m = 0.0
        self.up_m = 0.0
        self.vel_east_m_s = 0.0
        self.vel_north_m_s = 0.0
        self.vel_up_m_s = 0.0
        self.yaw_rad = 0.0
        self.yaw_rate_rad_s = 0.0
        self.roll_rad = 0.0
        self.pitch_rad = 0.0
        self.limits = Limits()
        self.wind = Wind(rng)
        self.on_ground = True

    # -- derived values -------------------------------------------------------------------------
    @property
    def ground_speed_m_s(self) -> float:
        return math.hypot(self.vel_east_m_s, self.vel_north_m_s)

    @property
    def airspeed_m_s(self) -> float:
        return math.hypot(self.vel_east_m_s - self.wind.east_m_s, self.vel_north_m_s - self.wind.north_m_s)

    @property
    def heading_deg(self) -> float:
        return math.degrees(self.yaw_rad) % 360.0

    # -- dynamics ---------------------------------------------------------------------------------
    def step(self, dt: float, setpoint: Setpoint | None, *, thrust: bool) -> None:
        """Advance by dt seconds. setpoint None with thrust: idle on the ground (or hold still)."""
        self.wind.step(dt)
        if not thrust:
            self._fall(dt)
            return
        if setpoint is None:
            self._hold_still(dt)
            return
        lim = self.limits
        prev_ve, prev_vn = self.vel_east_m_s, self.vel_north_m_s

        # Horizontal: aim at the target, brake so as to stop on it (or pass through it).
        de = setpoint.east_m - self.east_m
        dn = setpoint.north_m - self.north_m
        dist = math.hypot(de, dn)
        if dist > 1e-6:
            speed = setpoint.max_speed_m_s
            if setpoint.stop_at_target:
                speed = min(speed, math.sqrt(2.0 * lim.acc_hor_m_s2 * dist), dist / dt)
            want_e, want_n = de / dist * speed, dn / dist * speed
        else:
            want_e = want_n = 0.0
        if self.on_ground and setpoint.up_m <= 0.0:
            want_e = want_n = 0.0  # no sliding on the ground
        dve, dvn = want_e - self.vel_east_m_s, want_n - self.vel_north_m_s
        dv = math.hypot(dve, dvn)
        max_dv = lim.acc_hor_m_s2 * dt
        if dv > max_dv:
            dve, dvn = dve / dv * max_dv, dvn / dv * max_dv
        self.vel_east_m_s += dve
        self.vel_north_m_s += dvn

        # Vertical: same, with separate up/down limits.
        du = setpoint.up_m - self.up_m
        want_u = max(-setpoint.max_down_m_s, min(setpoint.max_up_m_s, du / dt))
        if abs(du) > 0:
            brake = math.sqrt(2.0 * (lim.acc_down_m_s2 if du > 0 else lim.acc_up_m_s2) * abs(du))
            want_u = max(-brake, min(brake, want_u))
        dvu = want_u - self.vel_up_m_s
        dvu = max(-lim.acc_down_m_s2 * dt, min(lim.acc_up_m_s2 * dt, dvu))
        self.vel_up_m_s += dvu

        # Gusts the position controller does not fully reject push the vehicle a little.
        push_e = 0.1 * self.wind.gust_east_m_s if not self.on_ground else 0.0
        push_n = 0.1 * self.wind.gust_north_m_s if not self.on_ground else 0.0
        self.east_m += (self.vel_east_m_s + push_e) * dt
        self.north_m += (self.vel_north_m_s + push_n) * dt
        self.up_m += self.vel_up_m_s * dt
        if self.up_m <= 0.0:
            self.up_m = 0.0
            self.vel_up_m_s = max(self.vel_up_m_s, 0.0)
            if self.on_ground:
                self.vel_east_m_s = self.vel_north_m_s = 0.0
        self.on_ground = self.up_m <= 0.0 and self.vel_up_m_s <= 0.0

        # Yaw: towards the setpoint's yaw, or the direction of travel, at a limited rate.
        target_yaw = setpoint.yaw_rad
        if target_yaw is None and math.hypot(want_e, want_n) > 1.0:
            target_yaw = math.atan2(want_e, want_n)
        if target_yaw is not None and not self.on_ground:
            err = _wrap_pi(target_yaw - self.yaw_rad)
            step = max(-lim.yaw_rate_rad_s * dt, min(lim.yaw_rate_rad_s * dt, err))
            self.yaw_rate_rad_s = step / dt
            self.yaw_rad = _wrap_pi(self.yaw_rad + step)
        else:
            self.yaw_rate_rad_s = 0.0
        self._lean((self.vel_east_m_s - prev_ve) / dt, (self.vel_north_m_s - prev_vn) / dt)

    def _lean(self, acc_e: float, acc_n: float) -> None:
        """Roll and pitch that produce this acceleration against the drag of the airspeed."""
        if self.on_ground:
            self.roll_rad = self.pitch_rad = 0.0
            return
        air_e = self.vel_east_m_s - self.wind.east_m_s
        air_n = self.vel_north_m_s - self.wind.north_m_s
        air = math.hypot(air_e, air_n)
        force_e = acc_e + _DRAG_PER_M * air * air_e
        force_n = acc_n + _DRAG_PER_M * air * air_n
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        forward = force_n * c + force_e * s
        right = -force_n * s + force_e * c
        self.pitch_rad = -math.atan2(forward, G)
        self.roll_rad = math.atan2(right, G)

    def _hold_still(self, dt: float) -> None:
        self.vel_east_m_s = self.vel_north_m_s = self.vel_up_m_s = 0.0
        self.yaw_rate_rad_s = 0.0
        self.roll_rad = self.pitch_rad = 0.0

    def _fall(self, dt: float) -> None:
        """No thrust: ballistic with drag, tumbling; stop on the ground."""
        if self.on_ground:
            self._hold_still(dt)
            return
        self.vel_up_m_s = max(self.vel_up_m_s - G * dt, -20.0)
        decay = math.exp(-dt / 2.0)
        self.vel_east_m_s *= decay
        self.vel_north_m_s *= decay
        self.east_m += self.vel_east_m_s * dt
        self.north_m += self.vel_north_m_s * dt
        self.up_m += self.vel_up_m_s * dt
        self.yaw_rate_rad_s = math.radians(180.0)
        self.yaw_rad = _wrap_pi(self.yaw_rad + self.yaw_rate_rad_s * dt)
        self.roll_rad = math.radians(25.0)
        if self.up_m <= 0.0:
            self.up_m = 0.0
            self.on_ground = True
            self._hold_still(dt)
