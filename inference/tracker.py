"""ByteTrack-style multi-object tracking on the ground plane (local east/north metres).

Tracking where the objects are on the ground, not where they are in the image, means the moving
drone does not break tracks, and an object that leaves the frame and comes back near where its
constant-velocity prediction says is the same track. Per update (one frame at time t):
1. predict every track to t (Kalman filter, state east, north, v_east, v_north);
2. associate high-score detections with active and lost tracks (Hungarian assignment on the
   Mahalanobis distance, gated);
3. associate low-score detections with the still-unmatched tracks that were seen last frame
   (ByteTrack's second pass: keeps tracks through partial occlusion when the score drops);
4. tentative tracks need `min_hits` matches to be confirmed; unmatched high detections start
   tentative tracks; tracks unseen for `max_lost_s` end.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from inference.types import GeoDetection

FloatArray = NDArray[np.float64]
_GATE = 9.21  # chi-square, 2 dof, 99 %
_BIG = 1e6


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.55
    min_hits: int = 3
    max_lost_s: float = 6.0
    accel_sigma: float = 2.0  # m/s^2, process noise of the constant-velocity model
    min_meas_sigma_m: float = 0.7
    gate_floor_m: float = 4.0  # never gate tighter than this (pose noise moves whole frames at once)
    # A detection this many times longer or shorter on the ground than a track's things is not its thing
    # (a truck passing a parked car, or a cone taken for a car, does not join that track).
    max_length_ratio: float = 3.0
    # An unmatched detection this close to a thing tracked in the same frame (or within half its length)
    # is a second box on that thing and starts no track.
    absorb_m: float = 2.5
    # Two confirmed tracks that stay on one thing (within half its length along its travel and
    # `merge_across_m` across it, moving together) for `merge_after` updates are one thing seen as two
    # boxes (a truck and its cab, a truck and its load): the younger one is merged into the older.
    # Vehicles side by side in lanes are further apart across than `merge_across_m`.
    merge_after: int = 3
    merge_across_m: float = 1.5
    merge_speed_mps: float = 2.0


@dataclass(slots=True)
class TrackPoint:
    t: float
    east_m: float
    north_m: float
    lat_deg: float
    lon_deg: float
    score: float
    sigma_m: float


@dataclass(slots=True)
class Track:
    id: int
    x: FloatArray  # east, north, ve, vn
    P: FloatArray
    t: float
    hits: int = 1
    confirmed: bool = False
    last_seen: float = 0.0
    seen_last_update: bool = True
    labels: Counter[str] = field(default_factory=Counter)
    points: list[TrackPoint] = field(default_factory=list)
    best: GeoDetection | None = None
    # Evidence over the track's life: score-weighted label votes, sightings of an earth-coloured
    # load, and the ground lengths measured.
    votes: Counter[str] = field(default_factory=Counter)
    loads: int = 0
    lengths: list[float] = field(default_factory=list)
    last: GeoDetection | None = None  # the detection this track took at its last update

    @property
    def label(self) -> str:
        """The class voted over the track's life (see `track_label`)."""
        return track_label(self)

    @property
    def recent_length_m(self) -> float:
        """Median ground length of the thing over its last 15 sightings (NaN where none measured)."""
        return float(np.median(self.lengths[-15:])) if self.lengths else math.nan

    @property
    def score(self) -> float:
        return max((p.score for p in self.points), default=0.0)

    def predict_to(self, t: float, q: float) -> None:
        dt = t - self.t
        if dt <= 0:
            return
        F = np.array([[1, 0, dt, 0], [0, 1, 0, dt], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
        dt2, dt3, dt4 = dt * dt, dt**3, dt**4
        Q = q * q * np.array([[dt4 / 4, 0, dt3 / 2, 0], [0, dt4 / 4, 0, dt3 / 2],
                              [dt3 / 2, 0, dt2, 0], [0, dt3 / 2, 0, dt2]])
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + Q
        self.t = t

    def update(self, z: FloatArray, r: float) -> None:
        H = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
        S = H @ self.P @ H.T + np.eye(2) * r * r
        K = self.P @ H.T @ np.linalg.inv(S)
        self.x = self.x + K @ (z - H @ self.x)
        self.P = (np.eye(4) - K @ H) @ self.P

    @property
    def speed_mps(self) -> float:
        return float(math.hypot(self.x[2], self.x[3]))

    @property
    def heading_deg(self) -> float:
        return float(math.degrees(math.atan2(self.x[2], self.x[3])) % 360.0)


class GroundTracker:
    """Tracks ground detections of one class group; `update` once per frame, in time order."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1
        self._together: dict[tuple[int, int], int] = {}
        self._standing: set[int] = set()  # ids of tracks of still machinery or earth (see `update`)
        # Tracks merged into another at the last update (they end without being reported).
        self.merged: list[Track] = []

    def update(self, t: float, detections: list[GeoDetection]) -> list[Track]:
        """Feed one frame; returns the tracks that ended (unseen too long) at this update."""
        cfg = self.config
        for tr in self.tracks:
            tr.predict_to(t, cfg.accel_sigma)
        high = [d for d in detections if d.score >= cfg.high_score]
        low = [d for d in detections if cfg.low_score <= d.score < cfg.high_score]
        seen_before = {tr.id: tr.seen_last_update for tr in self.tracks}
        # Machinery or earth that has stood still (as of the last update): no vehicle box joins it.
        self._standing = {tr.id for tr in self.tracks if _standing_thing(tr)}
        for tr in self.tracks:
            tr.seen_last_update = False

        pool = list(self.tracks)
        matches, pool, high_left = self._associate(pool, high)
        for tr, d in matches:
            self._apply(tr, d, t)
        recent = [tr for tr in pool if seen_before.get(tr.id, False) and tr.confirmed]
        matches_low, _, _ = self._associate(recent, low)
        for tr, d in matches_low:
            self._apply(tr, d, t)
        hosts = [tr for tr in self.tracks if tr.seen_last_update and tr.last is not None]
        for d in high_left:
            vehicle = d.label not in CLASS_VOTE.static_labels
            host = self._host([h for h in hosts if not (vehicle and h.id in self._standing)], d)
            if host is not None:
                # A second box on a thing already tracked this frame (a truck's cab, half a long truck,
                # its load under another label) is more evidence of that thing, not a new one.
                if d.label not in CLASS_VOTE.static_labels:
                    host.labels[d.label] += 1
                    host.votes[d.label] += d.score
                    host.loads += d.load is not None
                    # The thing is at least as long as the longer of its boxes (a cab's box and the
                    # load's box: the truck is the load's length, not the cab's).
                    if math.isfinite(d.length_m) and host.lengths and math.isfinite(host.last.length_m) \
                            and d.length_m > host.lengths[-1]:
                        host.lengths[-1] = d.length_m
            elif d.score >= cfg.new_track_score:
                self._birth(d, t)
        self._merge_duplicates()
        ended = []
        alive = []
        for tr in self.tracks:
            lost_for = t - tr.last_seen
            if (not tr.confirmed and not tr.seen_last_update) or lost_for > cfg.max_lost_s:
                if tr.confirmed:
                    ended.append(tr)
                continue
            alive.append(tr)
        self.tracks = alive
        self.finished.extend(ended)
        return ended

    def flush(self) -> list[Track]:
        """End every confirmed track (end of a recording)."""
        ended = [tr for tr in self.tracks if tr.confirmed]
        self.finished.extend(ended)
        self.tracks = []
        return ended

    @property
    def active(self) -> list[Track]:
        return [tr for tr in self.tracks if tr.confirmed]

    def _meas_sigma(self, d: GeoDetection) -> float:
        return max(self.config.min_meas_sigma_m, d.sigma_m if math.isfinite(d.sigma_m) else 1.0)

    def _associate(self, tracks: list[Track], dets: list[GeoDetection]
                   ) -> tuple[list[tuple[Track, GeoDetection]], list[Track], list[GeoDetection]]:
        if not tracks or not dets:
            return [], list(tracks), list(dets)
        z = np.array([[d.east_m, d.north_m] for d in dets])  # (D, 2)
        r2 = np.array([self._meas_sigma(d) for d in dets]) ** 2  # (D,)
        x = np.array([tr.x[:2] for tr in tracks])  # (T, 2)
        p = np.array([tr.P[:2, :2] for tr in tracks])  # (T, 2, 2)
        dx = z[None, :, 0] - x[:, None, 0]  # (T, D)
        dy = z[None, :, 1] - x[:, None, 1]
        a = p[:, None, 0, 0] + r2[None, :]
        b = p[:, None, 0, 1]
        dd = p[:, None, 1, 1] + r2[None, :]
        det = a * dd - b * b
        m2 = (dd * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / det  # squared Mahalanobis distance
        e2 = dx * dx + dy * dy
        floor2 = self.config.gate_floor_m**2
        gated = (m2 <= _GATE) | (e2 <= floor2)
        det_len = np.array([d.length_m for d in dets], dtype=float)
        trk_len = np.array([tr.recent_length_m for tr in tracks])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.maximum(det_len[None, :] / trk_len[:, None], trk_len[:, None] / det_len[None, :])
        gated &= ~(ratio > self.config.max_length_ratio)  # NaN (size unknown) gates nothing
        # Machinery or earth (tracked in case it drives: see `ClassVote`) never joins a track of what the
        # detector has called a vehicle: a truck passing a dig must not take the dig's position.
        static = CLASS_VOTE.static_labels
        det_static = np.array([d.label in static for d in dets])
        trk_vehicle = np.array([bool(tr.votes) and max(tr.votes, key=lambda k: tr.votes[k]) not in static
                                for tr in tracks])
        gated &= ~(trk_vehicle[:, None] & det_static[None, :])
        # Nor does a vehicle box join machinery or earth that has stood still (a dig beside the road
        # must not take the trucks passing it).
        trk_still = np.array([tr.id in self._standing for tr in tracks])
        gated &= ~(trk_still[:, None] & ~det_static[None, :])
        cost = np.where(gated, np.minimum(m2, e2 / floor2 * _GATE), _BIG)
        rows, cols = linear_sum_assignment(cost)
        matches, used_t, used_d = [], set(), set()
        for i, j in zip(rows, cols, strict=True):
            if cost[i, j] < _BIG:
                matches.append((tracks[i], dets[j]))
                used_t.add(i)
                used_d.add(j)
        return (matches, [tr for i, tr in enumerate(tracks) if i not in used_t],
                [d for j, d in enumerate(dets) if j not in used_d])

    def _merge_duplicates(self) -> None:
        """Merge tracks that have stayed on one thing for `merge_after` updates (see `TrackerConfig`)."""
        cfg = self.config
        self.merged = []
        seen = [tr for tr in self.tracks if tr.confirmed and tr.seen_last_update]
        together: dict[tuple[int, int], int] = {}
        gone: set[int] = set()
        for i, a in enumerate(seen):
            for b in seen[i + 1:]:
                if a.id in gone or b.id in gone or not self._one_thing(a, b):
                    continue
                key = (min(a.id, b.id), max(a.id, b.id))
                together[key] = self._together.get(key, 0) + 1
                if together[key] >= cfg.merge_after:
                    keep, drop = (a, b) if (len(a.points), -a.id) >= (len(b.points), -b.id) else (b, a)
                    keep.votes.update(drop.votes)
                    keep.labels.update(drop.labels)
                    keep.loads += drop.loads
                    # Two boxes on one thing: it is as long as the longer of them (see the absorbed boxes).
                    if drop.lengths and not np.median(drop.lengths) <= np.median(keep.lengths or [0.0]):
                        keep.lengths = list(drop.lengths)
                    gone.add(drop.id)
                    self.merged.append(drop)
        self._together = {k: v for k, v in together.items() if k[0] not in gone and k[1] not in gone}
        if gone:
            self.tracks = [tr for tr in self.tracks if tr.id not in gone]

    def _one_thing(self, a: Track, b: Track) -> bool:
        cfg = self.config
        if math.hypot(a.x[2] - b.x[2], a.x[3] - b.x[3]) > cfg.merge_speed_mps:
            return False
        d = b.x[:2] - a.x[:2]
        # Two things cannot overlap on the ground: a track whose position lies on the other's footprint
        # (within half the longer one's length along the travel) is on the same thing.
        lengths = [tr.recent_length_m for tr in (a, b) if tr.lengths]
        reach = max(cfg.absorb_m, 0.5 * max(lengths, default=0.0))
        v = (a.x[2:] + b.x[2:]) / 2.0
        speed = float(math.hypot(v[0], v[1]))
        if speed < 1.5:
            return float(math.hypot(d[0], d[1])) <= cfg.absorb_m
        u = v / speed
        along = abs(float(d @ u))
        across = abs(float(d[0] * u[1] - d[1] * u[0]))
        return along <= reach and across <= cfg.merge_across_m

    def _host(self, hosts: list[Track], d: GeoDetection) -> Track | None:
        """The track seen this frame whose thing `d` lies on: within half that thing's length (at least
        `absorb_m`) of where the track took its detection."""
        best, best_dist = None, math.inf
        for tr in hosts:
            assert tr.last is not None
            reach = max(self.config.absorb_m, 0.5 * tr.last.length_m if math.isfinite(tr.last.length_m) else 0.0)
            dist = math.hypot(d.east_m - tr.last.east_m, d.north_m - tr.last.north_m)
            if dist <= reach and dist < best_dist:
                best, best_dist = tr, dist
        return best

    def _apply(self, tr: Track, d: GeoDetection, t: float) -> None:
        tr.update(np.array([d.east_m, d.north_m]), self._meas_sigma(d))
        tr.hits += 1
        tr.last_seen = t
        tr.seen_last_update = True
        if tr.hits >= self.config.min_hits:
            tr.confirmed = True
        self._record(tr, d)

    def _birth(self, d: GeoDetection, t: float) -> None:
        r = self._meas_sigma(d)
        tr = Track(id=0, x=np.array([d.east_m, d.north_m, 0.0, 0.0]),
                   P=np.diag([r * r, r * r, 15.0**2, 15.0**2]), t=t, last_seen=t,
                   confirmed=self.config.min_hits <= 1)
        tr.id = self._next_id
        self._next_id += 1
        self._record(tr, d)
        self.tracks.append(tr)

    @staticmethod
    def _record(tr: Track, d: GeoDetection) -> None:
        tr.last = d
        tr.labels[d.label] += 1
        tr.votes[d.label] += d.score
        tr.loads += d.load is not None
        if math.isfinite(d.length_m):
            tr.lengths.append(d.length_m)
        tr.points.append(TrackPoint(d.t, d.east_m, d.north_m, d.lat_deg, d.lon_deg, d.score, d.sigma_m))
        if tr.best is None or d.score > tr.best.score:
            tr.best = d


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """A finished track as a timed lat/lon polyline with speed and heading."""

    track_id: int
    label: str
    times: list[float]
    lats: list[float]
    lons: list[float]
    speed_mps: float  # mean over the track
    max_speed_mps: float
    heading_deg: float  # overall direction of travel, clockwise from north
    length_m: float
    score: float
    sigma_m: float


def summarise(track: Track) -> TrackSummary:
    pts = sorted(track.points, key=lambda p: p.t)
    t = np.array([p.t for p in pts])
    e = np.array([p.east_m for p in pts])
    n = np.array([p.north_m for p in pts])
    seg = np.hypot(np.diff(e), np.diff(n))
    length = float(seg.sum())
    dt = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    # Net displacement over time resists the jitter that inflates path length over time.
    net = float(math.hypot(e[-1] - e[0], n[-1] - n[0]))
    speed = net / dt if dt > 0 else 0.0
    max_speed = 0.0
    if len(t) > 2:
        # Speed over ~1 s windows.
        k = max(1, round(len(t) / max(dt, 1e-9)))
        de = np.hypot(e[k:] - e[:-k], n[k:] - n[:-k])
        dts = t[k:] - t[:-k]
        ok = dts > 0
        if ok.any():
            max_speed = float(np.max(de[ok] / dts[ok]))
    heading = float(math.degrees(math.atan2(e[-1] - e[0], n[-1] - n[0])) % 360.0) if net > 0 else track.heading_deg
    return TrackSummary(track_id=track.id, label=track.label, times=t.tolist(),
                        lats=[p.lat_deg for p in pts], lons=[p.lon_deg for p in pts], speed_mps=speed,
                        max_speed_mps=max(max_speed, speed), heading_deg=heading, length_m=length,
                        score=track.score, sigma_m=float(np.median([p.sigma_m for p in pts])))


def travel_speed(track: Track, min_span_s: float = 1.0) -> float:
    """Ground speed over the track's sightings (net displacement over time, which position noise
    does not inflate as much as path length); 0 until they span `min_span_s`."""
    pts = track.points
    if len(pts) < 2:
        return 0.0
    a, b = min(pts, key=lambda p: p.t), max(pts, key=lambda p: p.t)
    dt = b.t - a.t
    if dt < min_span_s:
        return 0.0
    return float(math.hypot(b.east_m - a.east_m, b.north_m - a.north_m) / dt)


@dataclass(frozen=True, slots=True)
class ClassVote:
    """How a track's class is decided over its life rather than per detection."""

    # A load (earth or tarp) seen in this share of the sightings -> muck truck ... (some other trucks'
    # tops pass for earth in part of their sightings: 0.3 took them for muck trucks)
    load_share: float = 0.6
    load_min_length_m: float = 5.5  # ... if the thing is longer than a patch of soil seen alone
    muck_share: float = 0.8  # no load seen: muck-truck votes' share of the heavy-vehicle votes needed ...
    muck_min_length_m: float = 9.0  # ... and a heavy dump truck's length
    heavy_length_m: float = 6.5  # a "car" this long is a truck
    # Motion: machinery and dug earth stand still, so a track the detector mostly calls excavator or
    # excavation that drives at road speed is a vehicle (a truck; a moving patch of earth is a muck
    # truck's open load); one that stands still is left to the site aggregation.
    moving_mps: float = 3.0
    moving_min_s: float = 1.0  # seen over at least this long before it counts as moving
    static_labels: frozenset[str] = frozenset({"excavator", "excavation"})


CLASS_VOTE = ClassVote()


def _standing_thing(track: Track, vote: ClassVote | None = None) -> bool:
    """Machinery or earth (by its votes) seen long enough to tell, and standing still."""
    vote = vote or CLASS_VOTE
    if not track.votes or max(track.votes, key=lambda k: track.votes[k]) not in vote.static_labels:
        return False
    pts = track.points
    if len(pts) < 2 or pts[-1].t - pts[0].t < vote.moving_min_s:
        return False
    return travel_speed(track, vote.moving_min_s) < vote.moving_mps


def track_label(track: Track, vote: ClassVote | None = None) -> str:
    """A track's class from its whole life: a load seen often enough makes a muck truck; otherwise
    the score-weighted vote, with the muck-truck label kept only on a clear majority of long views
    and a long "car" taken for a truck (the median ground length over the track)."""
    vote = vote or CLASS_VOTE
    if not track.votes:
        return ""
    length = float(np.median(track.lengths)) if track.lengths else math.nan
    # Per sighting: a second box on the thing in the same frame (its cab, its load) is no second sighting.
    if min(1.0, track.loads / max(1, track.hits)) >= vote.load_share and not length < vote.load_min_length_m:
        return "muck_truck"
    label = max(track.votes, key=lambda k: track.votes[k])
    if label in vote.static_labels:
        if travel_speed(track, vote.moving_min_s) < vote.moving_mps:
            return label
        return "muck_truck" if label == "excavation" and not length < vote.load_min_length_m else "truck"
    if label == "muck_truck":
        heavy = track.votes["muck_truck"] + track.votes["truck"] + track.votes["bus"]
        if track.votes["muck_truck"] < vote.muck_share * heavy or length < vote.muck_min_length_m:
            return "truck"
    if label == "car" and length >= vote.heavy_length_m:
        return "truck"
    return label
