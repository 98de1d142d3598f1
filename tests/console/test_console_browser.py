"""The console in headless Chromium against a running `skypatrol run`: log in, watch three drones fly,
draw a survey over a no-fly zone and see the airspace check flag it, save and schedule the patrol,
and see its run's events arrive; the page logs no errors. Then the viewer's console and the two
languages."""

from __future__ import annotations

import json
import re

import httpx

from tests.console.conftest import ADMIN, MainJob, watch

# A survey area over the west half of the sample petrochemical works (JS-P-001, PROHIBITED).
AREA = [(30.7335, 121.3480), (30.7335, 121.3525), (30.7355, 121.3525), (30.7355, 121.3480)]
WAIT_MS = 60_000
# (wgs lat, wgs lon, gcj lat, gcj lon): Shanghai, Shenzhen, Beijing, as eviltransform's tests publish them.
GCJ02_VECTORS = [(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
                 (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
                 (39.911954, 116.377817, 39.91334545536069, 116.38404722455657)]
KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>area</name><Polygon><outerBoundaryIs>
<LinearRing><coordinates>121.3300,30.7440,0 121.3330,30.7440,0 121.3330,30.7455,0 121.3300,30.7455,0
121.3300,30.7440,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"""
WAYPOINTS = """QGC WPL 110
0\t1\t0\t16\t0\t0\t0\t0\t30.7410588\t121.3415\t4.0\t1
1\t0\t3\t22\t0\t0\t0\t0\t30.7410588\t121.3415\t30.0\t1
2\t0\t3\t16\t0\t0\t0\t0\t30.7390\t121.3400\t30.0\t1
3\t0\t3\t16\t0\t0\t0\t0\t30.7385\t121.3380\t30.0\t1
4\t0\t3\t20\t0\t0\t0\t0\t0\t0\t0\t1
"""


def _login(page, url: str, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/")
    page.wait_for_selector("#login[open]")
    page.fill("#token", token)
    page.click("#login-submit")
    page.wait_for_function("window.skypatrol && window.skypatrol.ready", timeout=WAIT_MS)


def _confirm(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#confirm[open]")
    page.click("#confirm-ok")
    page.wait_for_selector("#confirm:not([open])", state="attached")


def test_pilot_flies_plans_checks_saves_and_schedules(chromium, main_job: MainJob) -> None:  # type: ignore[no-untyped-def]
    page = chromium.new_page(viewport={"width": 1400, "height": 850})
    errors = watch(page)
    _login(page, main_job.url, ADMIN)
    assert page.get_attribute("#who", "data-role") == "admin"
    page.wait_for_selector("#stream-status.live", timeout=WAIT_MS)

    # Three runs of the site's corridor patrol, one per drone, started from the console.
    page.click("button[data-view=runs]")
    plan = next(p for p in main_job.get("/api/v1/plans") if p["name"].startswith("Longhang"))
    for _ in range(3):
        page.click(f"button[data-fly='{plan['id']}']")
        _confirm(page)
    page.wait_for_function("document.querySelectorAll('#runs-list tr[data-run]').length >= 3", timeout=WAIT_MS)

    # All three drones move on the map (the drawn markers' positions, from the live telemetry).
    page.click("button[data-view=map]")
    page.evaluate("window.__start = window.skypatrol.map.dronePositions()")
    page.wait_for_function(
        """() => {
            const start = window.__start, now = window.skypatrol.map.dronePositions();
            const moved = Object.keys(now).filter((id) => {
              const a = start[id] || now[id], b = now[id];
              const dy = (b[0] - a[0]) * 111320, dx = (b[1] - a[1]) * 111320 * Math.cos(a[0] * Math.PI / 180);
              return Math.hypot(dx, dy) > 30;
            });
            return moved.length >= 3;
        }""", timeout=120_000)
    airborne = page.eval_on_selector_all("#fleet-list .state", "els => els.map((e) => e.dataset.state)")
    assert len(airborne) == 3

    # Draw a survey polygon over the no-fly zone; preview; the airspace check flags JS-P-001.
    page.click("button[data-view=plan]")
    page.evaluate("window.skypatrol.map.fit([[121.345, 30.731], [121.356, 30.738]])")
    page.click("button[data-draw=polygon]")
    for lat, lon in AREA:
        x, y = page.evaluate(f"window.skypatrol.map.pagePoint({lat}, {lon})")
        page.mouse.click(x, y)
    page.click("#draw-finish")
    assert page.input_value("#plan-pattern") == "survey"
    page.click("#plan-preview")
    page.wait_for_selector("#stats-table", timeout=WAIT_MS)
    assert page.evaluate("window.skypatrol.map.layers.route.length") >= 1
    page.click("#plan-check")
    page.wait_for_selector("#plan-violations .violation[data-zone='JS-P-001']", timeout=WAIT_MS)
    assert page.get_attribute("#plan-violations", "data-clear") == "false"
    assert page.evaluate("window.skypatrol.map.layers.violations.some((v) => v.zone_id === 'JS-P-001')")

    # Plan around the zones instead: the no-fly zone is no longer touched.
    page.check("#plan-avoid")
    page.click("#plan-preview")
    page.wait_for_function("window.skypatrol.state.preview && window.skypatrol.map.layers.violations.length === 0")
    page.click("#plan-check")
    page.wait_for_function("window.skypatrol.state.check && window.skypatrol.state.check.violations"
                           ".every((v) => v.zone_id !== 'JS-P-001')", timeout=WAIT_MS)

    # Save it, then schedule it once, a few seconds from now (Asia/Shanghai wall clock).
    page.fill("#plan-name", "Console survey test")
    page.click("#plan-save")
    page.wait_for_selector("#plan-saved", timeout=WAIT_MS)
    plan_id = page.get_attribute("#plan-saved", "data-plan")
    assert any(p["id"] == plan_id for p in main_job.get("/api/v1/plans"))
    at = page.evaluate("""() => {
        const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Shanghai', year: 'numeric',
          month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false})
          .formatToParts(new Date(Date.now() + 10000)).map((x) => [x.type, x.value]));
        return `${p.year}-${p.month}-${p.day}T${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`;
    }""")
    page.fill("#sched-at", at)
    page.click("#sched-create")
    page.wait_for_selector("#sched-done", timeout=WAIT_MS)
    schedule_id = page.get_attribute("#sched-done", "data-schedule")
    schedule = main_job.get(f"/api/v1/schedules/{schedule_id}")
    assert schedule["plan_id"] == plan_id and schedule["kind"] == "once"

    # The run it makes shows up in the live feed: scheduled, then the dispatcher's next steps.
    page.click("button[data-view=events]")
    page.wait_for_selector(f".event-card[data-schedule='{schedule_id}'][data-type='skypatrol.mission.scheduled.v1']",
                           timeout=WAIT_MS)
    page.wait_for_function(f"document.querySelectorAll(\".event-card[data-schedule='{schedule_id}']\").length >= 2",
                           timeout=WAIT_MS)
    run_id = page.get_attribute(f".event-card[data-schedule='{schedule_id}']", "data-run")
    assert run_id and main_job.get(f"/api/v1/missions/{run_id}")["schedule_id"] == schedule_id

    # The feed resumes after a reconnect: nothing stored is missed or shown twice.
    before = page.evaluate("window.skypatrol.stream.lastSeq")
    page.evaluate("window.skypatrol.stream.reconnect()")
    page.wait_for_function(f"window.skypatrol.stream.lastSeq > {before}", timeout=WAIT_MS)
    seqs = page.evaluate("window.skypatrol.state.events.filter((e) => e.seq != null).map((e) => e.seq)")
    assert seqs == sorted(set(seqs))
    stored = httpx.get(f"{main_job.url}/api/v1/events", params={"after": seqs[0] - 1, "limit": 1000},
                       headers={"Authorization": f"Bearer {ADMIN}"}).json()["events"]
    stored_seqs = [e["seq"] for e in stored if e["type"] != "skypatrol.telemetry.v1" and e["seq"] <= seqs[-1]]
    assert set(stored_seqs) <= set(seqs)

    # An alert becomes a case the duty officer acknowledges from the feed.
    httpx.post(f"{main_job.url}/api/v1/events", headers={"Authorization": f"Bearer {ADMIN}"}, json={
        "specversion": "1.0", "id": "console-test-alert-1", "source": "urn:skypatrol:console-test",
        "type": "skypatrol.alert.road_works_unpermitted.v1", "subject": "site-test-1",
        "data": {"site_id": "site-test-1", "geometry": {"type": "Polygon", "coordinates": [[
            [121.3400, 30.7416], [121.3402, 30.7416], [121.3402, 30.7418], [121.3400, 30.7418], [121.3400, 30.7416]]]},
            "objects": {"traffic_cone": 6}}}).raise_for_status()
    row = ".alert-row[data-type='skypatrol.alert.road_works_unpermitted.v1']"
    page.wait_for_selector(f"{row}[data-status='open']", timeout=WAIT_MS)
    page.click(f"{row} button[data-alert-action='acknowledge']")
    page.wait_for_selector(f"{row}[data-status='acknowledged']", timeout=WAIT_MS)

    assert errors == [], errors
    page.close()


def test_viewer_sees_no_pilot_controls_and_both_languages_are_complete(chromium, main_job: MainJob) -> None:  # type: ignore[no-untyped-def]
    created = httpx.post(f"{main_job.url}/api/v1/tokens", json={"name": "console-viewer", "role": "viewer"},
                         headers={"Authorization": f"Bearer {ADMIN}"}).json()
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    errors = watch(page)
    _login(page, main_job.url, created["token"])
    assert page.get_attribute("#who", "data-role") == "viewer"
    page.wait_for_selector("#fleet-list .drone-row")
    assert not page.is_visible("#return-all")
    assert not page.locator("#fleet-list button[data-cmd]").first.is_visible()
    page.click("button[data-view=plan]")
    assert page.is_visible("#plan-preview") and not page.is_visible("#plan-save")

    # Upload instead of drawing: a KML area becomes a survey a viewer may preview and check;
    # a QGC WPL file is a mission as is.
    page.set_input_files("#plan-file", files=[{"name": "area.kml", "mimeType": "application/vnd.google-earth.kml+xml",
                                               "buffer": KML.encode()}])
    page.wait_for_function("window.skypatrol.state.shape && window.skypatrol.state.shape.kind === 'polygon'")
    assert page.input_value("#plan-pattern") == "survey"
    page.click("#plan-preview")
    page.wait_for_selector("#stats-table", timeout=WAIT_MS)
    page.set_input_files("#plan-file", files=[{"name": "route.waypoints", "mimeType": "text/plain",
                                               "buffer": WAYPOINTS.encode()}])
    page.wait_for_function("window.skypatrol.state.shape && window.skypatrol.state.shape.kind === 'mission'")
    assert page.input_value("#plan-pattern") == "mission"
    page.click("#plan-check")
    page.wait_for_selector("#plan-violations[data-clear]", timeout=WAIT_MS)
    assert page.evaluate("window.skypatrol.state.shape.points.length") == 3  # take-off and two waypoints

    # Zones follow the time: the school zone (weekdays 07:00-17:30 UTC) is in force on a Wednesday
    # at 18:00 in Shanghai, not on a Saturday.
    school = "window.skypatrol.map.layers.zones.find((f) => f.properties.id === 'JS-C-003').properties.active"
    page.fill("#zones-at", "2026-11-25T18:00")
    page.dispatch_event("#zones-at", "change")
    page.wait_for_function(f"window.skypatrol.state.zonesAt === '2026-11-25T10:00:00Z' && {school} === true")
    page.fill("#zones-at", "2026-11-28T18:00")
    page.dispatch_event("#zones-at", "change")
    page.wait_for_function(f"window.skypatrol.state.zonesAt === '2026-11-28T10:00:00Z' && {school} === false")
    page.click("#zones-now")

    # zh-CN first (the first users work in Chinese), English a click away, and back.
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.inner_text("button[data-view=map]") == "地图"
    page.click("#lang")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("button[data-view=map]") == "Map"
    assert page.inner_text("#plan-preview") == "Preview"
    page.click("#lang")
    assert page.inner_text("#plan-preview") == "预览"

    # Every key in both languages, and every key the page names exists.
    keys = page.evaluate("""async () => {
        const m = await import('/console/i18n.js');
        return {en: Object.keys(m.MESSAGES.en), zh: Object.keys(m.MESSAGES['zh-CN']),
                enEvents: Object.keys(m.EVENT_NAMES.en), zhEvents: Object.keys(m.EVENT_NAMES['zh-CN']),
                zhValues: Object.values(m.MESSAGES['zh-CN'])};
    }""")
    assert sorted(keys["en"]) == sorted(keys["zh"])
    assert sorted(keys["enEvents"]) == sorted(keys["zhEvents"])
    used = set(page.eval_on_selector_all("[data-i18n]", "els => els.map((e) => e.dataset.i18n)"))
    assert used <= set(keys["en"]), used - set(keys["en"])
    app_js = httpx.get(f"{main_job.url}/console/app.js").text
    named = set(re.findall(r"""\bt\(["']([a-zA-Z.]+)["']""", app_js))
    assert named <= set(keys["en"]), named - set(keys["en"])
    # Chinese strings are Chinese (not English left untranslated), brand names and units aside.
    untranslated = [v for v in keys["zhValues"] if re.fullmatch(r"[A-Za-z ,.()%:{}`-]+", v) and v not in ("English",)]
    assert untranslated == [], json.dumps(untranslated, ensure_ascii=False)

    # GCJ-02 for Chinese tile servers: the published eviltransform vectors (WGS84 -> GCJ-02) and back.
    worst = page.evaluate("""async (vectors) => {
        const g = await import('/console/gcj02.js');
        let worst = 0;
        for (const [wLat, wLon, gLat, gLon] of vectors) {
          const [a, b] = g.wgs84ToGcj02(wLat, wLon);
          const [c, d] = g.gcj02ToWgs84(gLat, gLon);
          worst = Math.max(worst, Math.abs(a - gLat), Math.abs(b - gLon), Math.abs(c - wLat), Math.abs(d - wLon));
        }
        return worst;
    }""", GCJ02_VECTORS)
    assert worst < 1e-7
    assert errors == [], errors
    page.close()
