"""SkyPatrol sitl: a multi-vehicle MAVLink simulator that behaves on the wire like PX4 SITL.

Run: `skypatrol sim --drones N [--base-port P] [--home LAT,LON[,ALT]]... [--speed-factor K]
[--seed S] [--control-port C]` (or `python -m sitl ...`). Vehicle i has system id i+1 (component
1, MAV_AUTOPILOT_PX4, quadrotor) and sends MAVLink 2 to 127.0.0.1:P+i from its own ephemeral port;
connect MAVSDK or QGroundControl with `udpin://0.0.0.0:<P+i>`. Once every vehicle has sent its
first heartbeat, one such URL per vehicle is printed on stdout. At most 255 vehicles per process.

Modules, one concern each:
  params.py        PX4 parameters (names, types, defaults), bytewise int encoding
  px4_modes.py     PX4 custom main/sub modes
  local_frame.py   WGS84 <-> local ENU (exact, scalar)
  flight_model.py  kinematic multicopter: limits, wind and gusts, battery, GPS noise
  mission_store.py mission / fence / rally lists, item checks, geofence geometry
  autopilot.py     commander + navigator: arming, modes, takeoff/hold/mission/RTL/land, failsafes
  mavlink_link.py  the wire: telemetry streams, COMMAND_ACK, PARAM and mission protocols
  simulator.py     N vehicles in one asyncio loop, fixed 50 ms steps, time scale, embedding API
  control.py       fault injection over a local UDP JSON endpoint (+ ControlClient)
  px4.py           launcher for N real PX4 SITL (SIH) instances when PX4_DIR is set

Time. Simulated time runs K times wall time. Stream rates, mission timings, PX4 durations
(COM_DL_LOSS_T, COM_DISARM_LAND, RTL_LAND_DELAY, ...) are simulated seconds; heartbeats go out at
least once per wall second. A ground station's heartbeats arrive once per wall second whatever
K is, so datalink loss needs both COM_DL_LOSS_T simulated seconds and 2.5 wall seconds of silence:
at K = 10 a cut shorter than 25 simulated seconds is not detected.

PX4 behaviour modelled: arming checks (GPS, battery, mode, mission validity, geofence) and force
arming; takeoff/land/RTL/hold/mission modes via DO_SET_MODE or the NAV_* commands; mission items
NAV_WAYPOINT (hold time, acceptance radius), NAV_TAKEOFF, NAV_LOITER_UNLIM/TIME/TURNS, NAV_LAND,
NAV_RETURN_TO_LAUNCH, NAV_DELAY, DO_CHANGE_SPEED, DO_SET_CAM_TRIGG_DIST (CAMERA_TRIGGER),
DO_JUMP, DO_SET_HOME; takeoff from the ground before the first item; pause (Hold) and resume from
the current item; RTL to home or the closest rally point (climb to RTL_RETURN_ALT, descend to
RTL_DESCEND_ALT, RTL_LAND_DELAY, land); auto-disarm after landing and before takeoff; failsafes
NAV_DLL_ACT (+ COM_DLL_EXCEPT), COM_LOW_BAT_ACT with BAT_LOW/CRIT/EMERGEN_THR, GF_ACTION with
polygon/circle inclusion/exclusion fences and GF_MAX_HOR/VER_DIST, GPS loss -> land.
Not modelled: manual modes (no RC/joystick: refused as PX4 does without manual control),
offboard, orbit, VTOL, terrain (the ground is flat at the home altitude), COM_FAIL_ACT_T (failsafe
actions start at once), MAVLink FTP/component metadata, parameters beyond params.py.
"""
