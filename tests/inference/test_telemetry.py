"""Pose logs: .tlog written with pymavlink, the documented CSV, DJI .SRT in both layouts;
interpolation to frame times (angles on the circle)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import BadInput
from inference.telemetry import load_telemetry
from inference.telemetry.csv_log import write_csv_log
from inference.telemetry.tlog import TlogWriter

T0 = 1_741_000_000.0


def write_flight_tlog(path: Path, *, gimbal: str) -> None:
    with TlogWriter(path) as w:
        w.home_position(T0, 30.7416, 121.3415, 4.0)
        for i in range(21):
            t = T0 + i * 0.5
            w.position(t, 30.7416 + i * 1e-5, 121.3415, 104.0 + i, 100.0 + i)
            w.attitude(t + 0.1, (350.0 + 2.0 * i) % 360.0, 1.0, -2.0)
            if gimbal == "mount":
                w.mount_orientation(t + 0.2, 5.0, -80.0 + i, 0.0)
            else:
                w.gimbal_status(t + 0.2, 30.0, -80.0 + i, 0.0, yaw_in_earth_frame=True)


@pytest.mark.parametrize("gimbal", ["mount", "device"])
def test_tlog_positions_attitude_and_gimbal_interpolated(tmp_path: Path, gimbal: str) -> None:
    p = tmp_path / "flight.tlog"
    write_flight_tlog(p, gimbal=gimbal)
    track = load_telemetry(p)
    assert track.home == pytest.approx((30.7416, 121.3415, 4.0))
    pose = track.at(T0 + 2.25)  # between samples 4 and 5
    assert pose is not None
    assert pose.lat_deg == pytest.approx(30.7416 + 4.5e-5, abs=1e-9)
    assert pose.alt_rel_m == pytest.approx(104.5, abs=1e-3) and pose.alt_amsl_m == pytest.approx(108.5, abs=1e-3)
    # Yaw 350 + 2i crosses north: at t0 + 2.25 - 0.1 the interpolation gives 358.6, never ~180.
    assert (pose.yaw_deg % 360) == pytest.approx(358.6, abs=1e-3)
    assert pose.pitch_deg == pytest.approx(1.0, abs=1e-4) and pose.roll_deg == pytest.approx(-2.0, abs=1e-4)
    assert pose.gimbal_pitch_deg == pytest.approx(-80.0 + 4.1, abs=1e-3)
    if gimbal == "mount":
        assert pose.gimbal_yaw_deg == pytest.approx(5.0, abs=1e-4) and not pose.gimbal_yaw_absolute
    else:
        assert pose.gimbal_yaw_deg == pytest.approx(30.0, abs=1e-3) and pose.gimbal_yaw_absolute
    yaw_cross = track.at(T0 + 5.1)  # 350 + 2 * 10 = 370 -> 10
    assert yaw_cross is not None and yaw_cross.yaw_deg == pytest.approx(10.0, abs=1e-3)
    assert track.at(T0 - 60) is None and track.at(T0 + 600) is None


def test_tlog_errors(tmp_path: Path) -> None:
    p = tmp_path / "empty.tlog"
    with TlogWriter(p) as w:
        w.attitude(T0, 0, 0, 0)
    with pytest.raises(BadInput, match="GLOBAL_POSITION_INT"):
        load_telemetry(p)
    with pytest.raises(BadInput, match="not found"):
        load_telemetry(tmp_path / "nope.tlog")
    (tmp_path / "x.gpx").write_text("<gpx/>")
    with pytest.raises(BadInput, match="unknown telemetry format"):
        load_telemetry(tmp_path / "x.gpx")


def test_csv_log(tmp_path: Path) -> None:
    p = tmp_path / "poses.csv"
    write_csv_log(p, [{"time": T0 + i, "lat": 30.74 + i * 1e-4, "lon": 121.34, "alt_rel_m": 80.0,
                       "yaw_deg": 179.0 if i == 0 else -179.0, "gimbal_pitch_deg": -90.0} for i in range(2)])
    track = load_telemetry(p)
    pose = track.at(T0 + 0.5)
    assert pose is not None and pose.lat_deg == pytest.approx(30.74005)
    assert abs(abs(pose.yaw_deg) - 180.0) < 1e-6  # 179 -> -179 passes through 180
    assert pose.gimbal_pitch_deg == -90.0 and math.isnan(pose.alt_amsl_m)
    iso = tmp_path / "iso.csv"
    iso.write_text("time,latitude,longitude,alt_amsl_m\n2025-03-03T10:00:00+08:00,30.7,121.3,50\n"
                   "2025-03-03T10:00:01+08:00,30.7001,121.3,51\n")
    t = load_telemetry(iso)
    assert t.start == datetime(2025, 3, 3, 2, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    for text, needle in (("time,lat\n1,2\n", "lon"), ("time,lat,lon\n1,2,3\n", "alt_rel_m"),
                         ("time,lat,lon,alt_rel_m\n2025-03-03T10:00:00,1,2,3\n", "timezone"),
                         ("time,lat,lon,alt_rel_m\n1,x,2,3\n", "not a number")):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(BadInput, match=needle):
            load_telemetry(bad)


# Layouts as DJI writes them (values made up; the key spelling, brackets and line breaks are DJI's).
SRT_BRACKETED = """1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
2025-03-03 10:00:00.000
[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] [latitude: 30.741600] [longtitude: 121.341500] [rel_alt: 60.000 abs_alt: 64.000] [gb_yaw: 90.0 gb_pitch: -90.0 gb_roll: 0.0] </font>

2
00:00:00,033 --> 00:00:00,066
<font size="28">FrameCnt: 2, DiffTime: 33ms
2025-03-03 10:00:00,033,366
[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [focal_len: 24.00] [latitude: 30.741610] [longitude: 121.341500] [rel_alt: 60.500 abs_alt: 64.500] [gb_yaw: 92.0 gb_pitch: -89.0 gb_roll: 0.0] </font>
"""  # noqa: E501

SRT_HOME_GPS = """1
00:00:01,000 --> 00:00:02,000
HOME(121.3415,30.7416) 2017.07.29 15:18:50
GPS(121.3416,30.7417,14) BAROMETER:40.0
ISO:100 Shutter:60 EV: Fnum:2.2

2
00:00:02,000 --> 00:00:03,000
HOME(121.3415,30.7416) 2017.07.29 15:18:51
GPS(121.3418,30.7417,15) BAROMETER:42.0
ISO:100 Shutter:60 EV: Fnum:2.2
"""

SRT_MATRICE = """1
00:00:00,000 --> 00:00:01,000
2022.06.21 16:06:17
GPS(30.7416,121.3415,0.0M) BAROMETER:80.1M
"""


def test_dji_srt_bracketed(tmp_path: Path) -> None:
    p = tmp_path / "DJI_0001.SRT"
    p.write_text(SRT_BRACKETED)
    track = load_telemetry(p)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert track.start == datetime(2025, 3, 3, 10, 0, tzinfo=shanghai).timestamp()
    assert track.time_at_position(0.033) == pytest.approx(track.start + 0.033366, abs=1e-6)
    pose = track.at(track.start + 0.033366)
    assert pose is not None
    got = (pose.lat_deg, pose.lon_deg, pose.alt_rel_m, pose.alt_amsl_m)
    assert got == pytest.approx((30.74161, 121.3415, 60.5, 64.5))
    assert pose.gimbal_pitch_deg == pytest.approx(-89.0) and pose.gimbal_yaw_absolute
    utc = load_telemetry(p, srt_timezone="UTC")
    assert utc.start - track.start == pytest.approx(8 * 3600)


def test_dji_srt_home_gps_layouts(tmp_path: Path) -> None:
    p = tmp_path / "old.srt"
    p.write_text(SRT_HOME_GPS)
    track = load_telemetry(p)
    assert track.home is not None and track.home[:2] == (30.7416, 121.3415)
    pose = track.at(track.start + 1.0)
    assert pose is not None
    assert (pose.lat_deg, pose.lon_deg, pose.alt_rel_m) == pytest.approx((30.7417, 121.3418, 42.0))
    assert track.video_position_s is not None and list(track.video_position_s) == [1.0, 2.0]
    m = tmp_path / "m300.srt"
    m.write_text(SRT_MATRICE)
    pose = load_telemetry(m).at(load_telemetry(m).start)
    assert pose is not None and (pose.lat_deg, pose.lon_deg, pose.alt_rel_m) == pytest.approx((30.7416, 121.3415, 80.1))
    (tmp_path / "none.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    with pytest.raises(BadInput, match="no DJI telemetry"):
        load_telemetry(tmp_path / "none.srt")
