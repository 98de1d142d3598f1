// The operators' console: login, map, fleet, plan editor, runs and schedules, events.
import { Api, ApiError, EventStream } from "./api.js";
import { PatrolMap, ZONE_COLOURS, linkQuality } from "./map.js";
import { t, setLang, getLang, initialLang, applyI18n, eventName, runState } from "./i18n.js";
import { readMissionFile } from "./formats.js";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const params = new URLSearchParams(location.search);

const api = new Api();
const map = new PatrolMap($("#map"), { markers: params.get("markers") === "dom" ? "dom" : "canvas" });
const state = {
  me: null, site: null, tz: "Asia/Shanghai", view: "map",
  drones: new Map(), // id -> {record, tel}
  plans: [], schedules: [], runs: [], events: [], runProgress: new Map(),
  liveViolations: [], shape: null, preview: null, previewReq: null, check: null, savedPlan: null, detailRun: null, zoneDoc: null,
};
const stats = { events: 0, telemetry: 0 };
// Tests and benchmarks read the console's state here (the map's drones, errors, the stream).
window.skypatrol = { map, state, api, stats, stream: null, ready: false };

// -- small helpers -------------------------------------------------------------------------------
const formats = new Map();
function fmtTime(iso, withDate = true) {
  if (!iso) return "";
  const key = `${getLang()}|${state.tz}|${withDate}`;
  let f = formats.get(key);
  if (!f) {
    const opts = { timeZone: state.tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
    f = new Intl.DateTimeFormat(getLang(), opts);
    formats.set(key, f);
  }
  return f.format(new Date(iso));
}
function localParts(date) { // the wall-clock parts in the site's time zone
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: state.tz, year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).formatToParts(date)
    .map((x) => [x.type, x.value]));
  if (p.hour === "24") p.hour = "00";
  return p;
}
function localInput(date) {
  const p = localParts(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}
/** A wall-clock time in the site's zone ("YYYY-MM-DDTHH:MM[:SS]") as an ISO instant in UTC. */
function zonedToUtc(local) {
  const guess = new Date(`${local.length === 16 ? local + ":00" : local}Z`);
  const p = localParts(guess);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return new Date(guess.getTime() - (asUtc - guess.getTime())).toISOString();
}
function fmtLen(m) { return m >= 1000 ? `${(m / 1000).toFixed(2)} ${t("unit.km")}` : `${Math.round(m)} ${t("unit.m")}`; }
function fmtDur(s) { return `${(s / 60).toFixed(1)} ${t("unit.min")}`; }
let toastTimer = null;
function toast(msg) {
  const el = $("#toast");
  el.textContent = msg;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 3500);
}
function fail(e) {
  if (e instanceof ApiError && e.status === 401) { showLogin(t("login.bad")); return; }
  const msg = e instanceof ApiError && e.status === 403 ? t("err.forbidden") : t("err.generic", { message: e.message });
  toast(msg);
}
function confirmDialog(text) {
  const dlg = $("#confirm");
  $("#confirm-text").textContent = text;
  return new Promise((resolve) => {
    dlg.onclose = () => resolve(dlg.returnValue === "ok");
    dlg.returnValue = "";
    dlg.showModal();
  });
}
function throttle(fn, ms) {
  let timer = null;
  return () => { if (!timer) timer = setTimeout(() => { timer = null; fn(); }, ms); };
}
const isPilot = () => state.me && (state.me.role === "pilot" || state.me.role === "admin");

// -- login, language -----------------------------------------------------------------------------
function showLogin(error = "") {
  $("#login-error").textContent = error;
  const dlg = $("#login");
  if (!dlg.open) dlg.showModal();
  $("#token").focus();
}
$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  api.setToken($("#token").value.trim());
  try {
    state.me = await api.get("/api/v1/me");
    $("#login").close();
    await start();
  } catch (err) {
    api.setToken("");
    $("#login-error").textContent = err instanceof ApiError && err.status === 401 ? t("login.bad") : err.message;
  }
});
$("#login").addEventListener("cancel", (e) => { if (!state.me) e.preventDefault(); });
const switchLang = () => {
  setLang(getLang() === "zh-CN" ? "en" : "zh-CN");
  renderAll();
};
$("#lang").addEventListener("click", switchLang);
$("#login-lang").addEventListener("click", switchLang);
$("#logout").addEventListener("click", () => {
  window.skypatrol.stream?.close();
  api.setToken("");
  location.reload();
});

// -- navigation ----------------------------------------------------------------------------------
function showView(view) {
  state.view = view;
  $$("#nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  const onMap = view === "map" || view === "plan";
  $("#mapwrap").hidden = !onMap;
  $("#side").hidden = !onMap;
  $("#fleet-panel").hidden = view !== "map";
  $("#plan-panel").hidden = view !== "plan";
  $("#runs-view").hidden = view !== "runs";
  $("#events-view").hidden = view !== "events";
  if (view === "runs") refreshRuns();
  if (view === "events") { renderEvents(); refreshAlerts(); }
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
}
$$("#nav button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));

// -- start-up ------------------------------------------------------------------------------------
async function start() {
  document.body.classList.remove("role-viewer", "role-pilot", "role-admin");
  document.body.classList.add(`role-${state.me.role}`);
  $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)}`;
  $("#who").dataset.role = state.me.role;
  const [site, drones] = await Promise.all([api.get("/api/v1/site"), api.get("/api/v1/drones")]);
  state.site = site;
  state.tz = site.timezone || "Asia/Shanghai";
  map.setView(site.origin.lat, site.origin.lon, 15);
  map.setTiles(site.tiles);
  for (const d of drones) state.drones.set(d.id, { record: d, tel: null });
  $("#plan-camera").innerHTML = site.cameras.map((c) => `<option>${esc(c)}</option>`).join("");
  $("#plan-home").innerHTML = site.docks.map((d) => `<option value="${esc(d.id)}">${esc(d.name)}</option>`).join("");
  $("#sched-at").value = localInput(new Date(Date.now() + 120000));
  await Promise.all([loadLayers(), loadDetections()]);
  setInterval(loadLayers, 60000); // zones come and go with their schedules
  setInterval(refreshDrones, 5000);
  const stream = new EventStream(api, onEvent, (s) => {
    const el = $("#stream-status");
    el.textContent = t(`stream.${s}`);
    el.dataset.status = s;
    el.classList.toggle("live", s === "live");
  });
  window.skypatrol.stream = stream;
  stream.open();
  await refreshRuns();
  renderAll();
  const v = location.hash.slice(1);
  showView(["map", "plan", "runs", "events"].includes(v) ? v : "map");
  window.skypatrol.ready = true;
}

async function loadLayers() {
  try {
    const at = $("#zones-at").value;
    const doc = await api.get(`/api/v1/site/layers${at ? `?at=${encodeURIComponent(zonedToUtc(at))}` : ""}`);
    map.setBase(doc.features.filter((f) => f.properties.layer !== "zone"));
    const zones = doc.features.filter((f) => f.properties.layer === "zone");
    map.setZones(zones);
    state.zonesAt = doc.at;
    // No-fly zones in force, as a zone document, for planning around them (zones that need an
    // authorisation stay plannable: the airspace check names them and filing asks for them).
    state.zoneDoc = { type: "FeatureCollection", features: zones.filter((f) => f.properties.restriction === "PROHIBITED"
      && f.properties.active !== false).map((f) => {
      const { layer, active, ...props } = f.properties; // eslint-disable-line no-unused-vars
      return { type: "Feature", id: f.id ?? props.id, geometry: f.geometry, properties: props };
    }) };
    renderLegend();
  } catch (e) { fail(e); }
}

async function loadDetections() { // what was found before this page opened; live ones follow
  const q = new URLSearchParams({ limit: "1000" });
  q.append("type", "skypatrol.detection.road_works.v1");
  q.append("type", "skypatrol.detection.muck_truck.v1");
  const found = [];
  try {
    for (let pageNo = 0; pageNo < 20; pageNo++) {
      const page = await api.get(`/api/v1/events?${q}`);
      for (const ev of page.events) found.push({ kind: ev.type.split(".")[2], geometry: ev.data?.geometry });
      if (!page.has_more) break;
      q.set("after", String(page.next_after));
    }
    state.detections = [...found, ...(state.detections || [])].slice(-500);
    map.setDetections(state.detections);
  } catch (e) { fail(e); }
}

async function refreshDrones() {
  try {
    for (const d of await api.get("/api/v1/drones")) {
      const cur = state.drones.get(d.id);
      if (cur) cur.record = d; else state.drones.set(d.id, { record: d, tel: null });
    }
    renderFleet();
  } catch (e) { if (e instanceof ApiError && e.status === 401) fail(e); }
}

function renderLegend() {
  $("#legend").innerHTML = Object.entries(ZONE_COLOURS).map(([k, c]) =>
    `<span><i style="border-color:${c};background:${c}33"></i>${esc(t(`zone.${k}`))}</span>`).join("")
    + `<span><i style="border-color:#64748b;border-style:dashed"></i>${esc(t("zone.inactive"))}</span>`;
}
$("#zoom-in").addEventListener("click", () => map.zoomAt(map.w / 2, map.h / 2, 1));
$("#zoom-out").addEventListener("click", () => map.zoomAt(map.w / 2, map.h / 2, -1));
$("#zoom-site").addEventListener("click", () => {
  if (state.site) map.setView(state.site.origin.lat, state.site.origin.lon, 15);
});
// Zones are judged in force now (refreshed every minute) or at the time chosen here.
$("#zones-at").addEventListener("change", () => loadLayers());
$("#zones-now").addEventListener("click", () => { $("#zones-at").value = ""; loadLayers(); });
$$("#layers input[data-layer]").forEach((cb) => cb.addEventListener("change", () => map.setLayerVisible(cb.dataset.layer, cb.checked)));

// -- the event stream ----------------------------------------------------------------------------
const renderFleetSoon = throttle(() => renderFleet(), 500);
const renderEventsSoon = throttle(() => { if (state.view === "events") renderEvents(); }, 300);
const refreshRunsSoon = throttle(() => refreshRuns(), 1000);

function onEvent(ev) {
  stats.events++;
  const short = ev.type.replace(/^skypatrol\./, "").replace(/\.v\d+$/, "");
  if (short === "telemetry") {
    stats.telemetry++;
    const id = ev.subject || ev.data?.drone_id;
    if (!id) return;
    let cur = state.drones.get(id);
    if (!cur) { cur = { record: { id, name: id, state: ev.data.state }, tel: null }; state.drones.set(id, cur); }
    cur.tel = ev.data;
    cur.seenAt = performance.now();
    if (ev.data.state) cur.record.state = ev.data.state;
    map.updateDrone(id, ev.data);
    renderFleetSoon();
    if (!$("#f-telemetry").checked) return;
  } else if (short === "drone.state_changed") {
    const cur = state.drones.get(ev.subject);
    if (cur) cur.record.state = ev.data.to;
    renderFleetSoon();
  } else if (short.startsWith("mission.")) {
    if (short === "mission.progress" && ev.data?.mission_id) state.runProgress.set(ev.data.mission_id, ev.data);
    refreshRunsSoon();
    if (state.detailRun && ev.subject === state.detailRun) refreshDetailSoon();
  } else if (short.startsWith("detection.") || short.startsWith("alert.")) {
    if (short.startsWith("alert.")) refreshAlertsSoon();
    state.detections = state.detections || [];
    const kind = short.includes("road_works") ? "road_works" : "muck_truck";
    if (ev.data?.geometry) state.detections.push({ kind, geometry: ev.data.geometry });
    map.setDetections(state.detections.slice(-500));
  } else if (short.startsWith("airspace.") || short === "drone.failsafe") {
    // Live violations and non-conformance where the event says where: on the map beside the check's.
    const d = ev.data || {};
    const pos = d.position && typeof d.position === "object" ? d.position : d;
    if (pos.lat != null && pos.lon != null) {
      state.liveViolations.push({ lat: pos.lat, lon: pos.lon, zone_id: d.zone_id ?? null, kind: short });
      state.liveViolations.splice(0, Math.max(0, state.liveViolations.length - 100));
      map.setViolations([...(state.check?.violations || []), ...state.liveViolations]);
    }
  }
  state.events.push(ev);
  if (state.events.length > 1000) state.events.splice(0, state.events.length - 1000);
  renderEventsSoon();
}

// -- fleet panel ---------------------------------------------------------------------------------
// Rows are kept per drone and only their facts rewritten, so a button under the pointer stays the
// same element while telemetry streams in (a click is never lost to a re-render).
function renderFleet(rebuild = false) {
  const list = $("#fleet-list");
  if (!state.drones.size) { list.innerHTML = `<p class="muted">${esc(t("fleet.none"))}</p>`; return; }
  if (rebuild || !list.querySelector(".drone-row")) list.innerHTML = "";
  const now = performance.now();
  for (const [id, { record, tel, seenAt }] of [...state.drones].sort((a, b) => a[0].localeCompare(b[0]))) {
    let row = list.querySelector(`.drone-row[data-drone="${CSS.escape(id)}"]`);
    if (!row) {
      row = document.createElement("div");
      row.className = "drone-row";
      row.dataset.drone = id;
      row.innerHTML = `<div class="dyn"></div><div class="cmds pilot-only">${["rtl", "land", "pause", "resume"].map((c) =>
        `<button data-cmd="${c}" data-drone="${esc(id)}">${esc(t(`cmd.${c}`))}</button>`).join("")}</div>`;
      list.appendChild(row);
    }
    row.classList.toggle("selected", map.selected === id);
    const st = tel?.state || record.state || "offline";
    const batt = tel?.battery_remaining != null ? Math.round(tel.battery_remaining * 100) : null;
    const age = seenAt ? Math.max(tel?.last_seen_s ?? 0, (now - seenAt) / 1000) : null;
    const link = tel && tel.connected !== false && st !== "offline" ? linkQuality(age) : 0;
    const run = tel?.mission_id || "";
    const html = `<div class="head"><span>${esc(record.name || id)} <small class="muted">${esc(id)}</small></span>
        <span class="state ${esc(st)}" data-state="${esc(st)}">${esc(t(`state.${st}`))}</span></div>
      <div class="facts">
        <span>${esc(t("fleet.battery"))} ${batt == null ? "–" : batt + "%"}</span>
        <span>${esc(t("fleet.link"))} ${"▮".repeat(link)}${"▯".repeat(3 - link)}</span>
        <span>${esc(t("fleet.mode"))} ${esc(tel?.flight_mode || "–")}</span>
        <span>${esc(t("fleet.alt"))} ${tel?.alt_rel_m != null ? Math.round(tel.alt_rel_m) + " " + t("unit.m") : "–"}</span>
        <span style="grid-column: span 2">${esc(t("fleet.run"))} ${run ? `<a href="#runs" data-run="${esc(run)}">${esc(run)}</a>` : "–"}</span>
      </div>
      <div class="bar"><i style="width:${batt ?? 0}%;background:${batt != null && batt < 20 ? "#dc2626" : "#22c55e"}"></i></div>`;
    const dyn = row.firstElementChild;
    if (dyn.dataset.html !== html) { dyn.innerHTML = html; dyn.dataset.html = html; }
  }
  for (const row of list.querySelectorAll(".drone-row")) if (!state.drones.has(row.dataset.drone)) row.remove();
}
$("#fleet-list").addEventListener("click", async (e) => {
  const btn = e.target.closest("button[data-cmd]");
  const runLink = e.target.closest("a[data-run]");
  if (runLink) { e.preventDefault(); showView("runs"); openRun(runLink.dataset.run); return; }
  if (!btn) {
    const row = e.target.closest(".drone-row");
    if (row) selectDrone(row.dataset.drone, true);
    return;
  }
  const { cmd, drone } = btn.dataset;
  if (!(await confirmDialog(t("cmd.confirm", { cmd: t(`cmd.${cmd}`), drone })))) return;
  try {
    await api.post(`/api/v1/drones/${encodeURIComponent(drone)}/commands/${cmd}`);
    toast(t("cmd.sent", { cmd: t(`cmd.${cmd}`), drone }));
  } catch (err) { fail(err); }
});
$("#return-all").addEventListener("click", async () => {
  if (!(await confirmDialog(t("cmd.confirmAll")))) return;
  try { await api.post("/api/v1/fleet/return-home"); toast(t("fleet.returnAll")); } catch (err) { fail(err); }
});
function selectDrone(id, centre) {
  map.selected = id;
  const d = map.drones.get(id);
  if (centre && d?.lat != null) map.setView(d.lat, d.lon);
  renderFleet();
}
map.onDroneClick = (id) => { if (state.view !== "map") showView("map"); selectDrone(id, false); };

// -- plan editor ---------------------------------------------------------------------------------
const PATTERN_FOR = { polygon: "survey", line: "corridor", points: "points", mission: "mission" };
function onShape(draw) {
  state.shape = { kind: draw.mode, points: draw.points };
  state.preview = null;
  map.setRoute([]);
  map.setViolations([]);
  $("#plan-pattern").value = PATTERN_FOR[draw.mode];
  $("#shape-info").textContent = `${t(`plan.${draw.mode}`)}: ${draw.points.length}${draw.done ? " ✓" : ""}`;
}
$$("[data-draw]").forEach((b) => b.addEventListener("click", () => {
  $$("[data-draw]").forEach((x) => x.classList.toggle("on", x === b));
  map.startDraw(b.dataset.draw, onShape);
  onShape(map.draw);
}));
$("#draw-finish").addEventListener("click", () => {
  map.finishDraw();
  $$("[data-draw]").forEach((x) => x.classList.remove("on"));
});
$("#draw-clear").addEventListener("click", () => {
  map.clearDraw(); map.setRoute([]); map.setViolations([]);
  state.shape = null; state.preview = null; state.check = null;
  $("#shape-info").textContent = ""; $("#plan-stats").innerHTML = ""; $("#plan-violations").innerHTML = "";
});
$("#plan-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    const got = readMissionFile(file.name, await file.text());
    if (got.kind === "mission") {
      state.shape = { kind: "mission", points: got.line, plan: got.plan };
      map.setDraft("line", got.line);
    } else {
      state.shape = got;
      map.setDraft(got.kind, got.points);
    }
    $("#plan-pattern").value = PATTERN_FOR[state.shape.kind];
    $("#plan-name").value = $("#plan-name").value || file.name.replace(/\.[^.]+$/, "");
    const pts = state.shape.points;
    if (pts.length) {
      const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
      map.fit([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], 80);
    }
    $("#shape-info").textContent = t("plan.uploaded", { name: file.name });
  } catch (err) {
    $("#shape-info").textContent = t("plan.badFile", { name: file.name, why: err.message });
  }
});
$$("input[name=sched-kind]").forEach((r) => r.addEventListener("change", () => {
  const daily = $("input[name=sched-kind]:checked").value === "daily";
  $("#sched-at-wrap").hidden = daily;
  $("#sched-time-wrap").hidden = !daily;
}));

function homeFor() {
  const dock = state.site.docks.find((d) => d.id === $("#plan-home").value) || state.site.docks[0];
  return dock ? { name: dock.id, lat: dock.lat, lon: dock.lon, alt_amsl_m: dock.alt_amsl_m ?? null } : null;
}

function planRequest() {
  const s = state.shape;
  if (!s || !s.points.length) throw new Error(t("plan.needShape"));
  const pattern = $("#plan-pattern").value;
  const home = homeFor();
  const fleet = { homes: home ? [home] : [] };
  const airspace = $("#plan-avoid").checked && state.zoneDoc ? { zones: state.zoneDoc } : undefined;
  const alt = Number($("#plan-alt").value) || 50;
  const imaging = { alt_m: alt, camera: { name: $("#plan-camera").value || null } };
  if (pattern === "survey") {
    if (s.points.length < 3) throw new Error(t("plan.needShape"));
    return { pattern, body: { ...imaging, side_overlap: Number($("#plan-overlap").value) || 65,
      area: { type: "Polygon", coordinates: [[...s.points, s.points[0]]] }, fleet, airspace } };
  }
  if (pattern === "corridor") {
    if (s.points.length < 2) throw new Error(t("plan.needShape"));
    return { pattern, body: { ...imaging, width_m: Number($("#plan-width").value) || 40,
      line: { type: "LineString", coordinates: s.points }, fleet, airspace } };
  }
  if (pattern === "points") {
    return { pattern, body: { points: s.points.map(([lon, lat], i) => ({ lat, lon, alt_m: alt, action: "photo",
      name: `P${i + 1}` })), fleet, airspace } };
  }
  if (!s.plan) throw new Error(t("plan.needShape"));
  return { pattern: "mission", body: s.plan };
}

function sortieLine(plan) {
  const out = [];
  for (const it of plan.mission?.items || []) {
    const p = it.params || [];
    if ([16, 17, 18, 19, 21, 22, 82].includes(it.command) && p[4] && p[5]) out.push([p[5], p[4]]);
  }
  return out;
}

async function preview() {
  const msg = $("#plan-msg");
  msg.textContent = "";
  const req = planRequest();
  state.previewReq = req;
  if (req.pattern === "mission") {
    state.preview = { sorties: [{ plan: req.body }] };
    map.setRoute([sortieLine(req.body)]);
    $("#plan-stats").innerHTML = "";
    return state.preview;
  }
  const out = await api.post(`/api/v1/plans/preview/${req.pattern}`, req.body);
  state.preview = out;
  map.setRoute(out.sorties.map((so) => sortieLine(so.plan)));
  map.setViolations([]);
  const rows = [
    [t("plan.length"), fmtLen(out.length_m)], [t("plan.duration"), fmtDur(out.duration_s)],
    [t("plan.photos"), out.photos], [t("plan.sorties"), out.sorties.length],
  ];
  if (out.area_m2) rows.push([t("plan.area"), `${(out.area_m2 / 10000).toFixed(2)} ${t("unit.ha")}`]);
  if (out.gsd_cm) rows.push([t("plan.gsd"), `${out.gsd_cm.toFixed(2)} ${t("unit.cm")}`]);
  rows.push([t("plan.battery"), out.sorties.map((s) => `${Math.round(s.battery_pct)}%`).join(", ")]);
  $("#plan-stats").innerHTML = `<h3>${esc(t("plan.stats"))}</h3><table id="stats-table">${rows.map(([k, v]) =>
    `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`
    + (out.notes?.length ? `<p class="muted">${esc(t("plan.notes"))}: ${out.notes.map(esc).join("; ")}</p>` : "");
  return out;
}

async function checkAirspace() {
  const pv = state.preview || (await preview());
  const violations = [];
  for (const so of pv.sorties) {
    const at = $("#zones-at").value;
    const res = await api.post("/api/v1/airspace/check", { plan: so.plan, ...(at ? { at: zonedToUtc(at) } : {}) });
    violations.push(...res.violations);
  }
  state.check = { clear: violations.length === 0, violations };
  map.setViolations([...violations, ...state.liveViolations]);
  const box = $("#plan-violations");
  box.dataset.clear = String(state.check.clear);
  if (state.check.clear) {
    box.innerHTML = `<p class="ok">${esc(t("plan.clear.ok"))}</p>`;
  } else {
    box.innerHTML = `<h3 class="violation">${esc(t("plan.violations", { n: violations.length }))}</h3>`
      + violations.slice(0, 30).map((v) => `<div class="violation" data-zone="${esc(v.zone_id || "")}" `
        + `data-restriction="${esc(v.restriction || "")}">⚠ ${esc(v.zone_id || v.kind)} · `
        + `${esc(v.restriction ? t(`zone.${v.restriction}`) : v.kind)} · ${esc(v.detail)}</div>`).join("");
  }
  return state.check;
}
$("#plan-preview").addEventListener("click", () => preview().catch(fail));
$("#plan-check").addEventListener("click", () => checkAirspace().catch(fail));

$("#plan-save").addEventListener("click", async () => {
  try {
    const req = planRequest();
    const name = $("#plan-name").value.trim() || `${t(`plan.pattern.${req.pattern}`)} ${localInput(new Date()).replace("T", " ")}`;
    const body = req.pattern === "mission" ? { name, mission: req.body } : { name, [req.pattern]: req.body };
    const saved = await api.post("/api/v1/plans", body);
    state.savedPlan = { id: saved.id, name: saved.name };
    $("#plan-msg").innerHTML = `<span class="ok" id="plan-saved" data-plan="${esc(saved.id)}">${esc(t("plan.saved", { name: saved.name }))}</span>`;
    refreshRunsSoon();
  } catch (e) { fail(e); }
});

$("#sched-create").addEventListener("click", async () => {
  if (!state.savedPlan) { toast(t("sched.needPlan")); return; }
  const kind = $("input[name=sched-kind]:checked").value;
  const body = { name: `${state.savedPlan.name}`, plan_id: state.savedPlan.id, kind, timezone: state.tz };
  if (kind === "once") body.at = $("#sched-at").value.length === 16 ? `${$("#sched-at").value}:00` : $("#sched-at").value;
  else body.time_of_day = $("#sched-time").value;
  try {
    const s = await api.post("/api/v1/schedules", body);
    state.lastSchedule = s;
    $("#plan-msg").innerHTML = `<span class="ok" id="sched-done" data-schedule="${esc(s.id)}">`
      + `${esc(t("sched.created", { when: s.next_runs[0] ? fmtTime(s.next_runs[0]) : "–" }))}</span>`;
    refreshRunsSoon();
  } catch (e) { fail(e); }
});

// -- runs and schedules --------------------------------------------------------------------------
async function refreshRuns() {
  if (!state.me) return;
  try {
    const [plans, schedules, runs] = await Promise.all([api.get("/api/v1/plans"), api.get("/api/v1/schedules"),
      api.get("/api/v1/missions?limit=50")]);
    Object.assign(state, { plans, schedules, runs });
    if (state.view === "runs") {
      renderRuns();
      renderCalendar();
    }
    updateEventFilters();
  } catch (e) { if (e instanceof ApiError && e.status === 401) fail(e); }
}

function setHtml(el, html) { // rewrite only what changed, so buttons stay put between updates
  if (el.dataset.html !== html) { el.innerHTML = html; el.dataset.html = html; }
}

function renderRuns() {
  const planName = Object.fromEntries(state.plans.map((p) => [p.id, p.name]));
  setHtml($("#plans-list"), state.plans.length ? `<table>${state.plans.map((p) => `<tr data-plan="${esc(p.id)}">
      <td>${esc(p.name)}<br><small class="muted">${esc(fmtTime(p.created_at))} · ${p.sorties}</small></td>
      <td><button data-show-plan="${esc(p.id)}">${esc(t("nav.map"))}</button>
      <button class="pilot-only primary" data-fly="${esc(p.id)}">${esc(t("runs.flyNow"))}</button></td></tr>`).join("")}</table>`
    : `<p class="muted">${esc(t("runs.none"))}</p>`);
  setHtml($("#schedules-list"), state.schedules.length ? `<table>${state.schedules.map((s) => `<tr data-schedule="${esc(s.id)}">
      <td>${esc(s.name)}<br><small class="muted">${esc(t(`sched.kind.${s.kind}`))} · ${esc(s.enabled ? t("sched.enabled") : t("sched.paused"))}
      · ${esc(t("sched.next"))}: ${esc(s.next_runs[0] ? fmtTime(s.next_runs[0]) : "–")}</small></td>
      <td class="pilot-only"><button data-sched-toggle="${esc(s.id)}" data-enabled="${s.enabled}">${esc(s.enabled ? t("sched.pause") : t("sched.resume"))}</button>
      <button data-sched-del="${esc(s.id)}" data-name="${esc(s.name)}">${esc(t("sched.delete"))}</button></td></tr>`).join("")}</table>`
    : `<p class="muted">${esc(t("runs.none"))}</p>`);
  setHtml($("#runs-list"), state.runs.length ? `<table>${state.runs.map((r) => {
    const pr = state.runProgress.get(r.id);
    return `<tr class="clickable" data-run="${esc(r.id)}"><td>${esc(r.id)}<br><small class="muted">${esc(planName[r.plan_id] || r.plan_id || "")}</small></td>
      <td><span class="state ${esc(r.state)}" data-state="${esc(r.state)}">${esc(runState(r.state))}</span>${pr ? ` ${pr.current}/${pr.total}` : ""}</td>
      <td>${esc(r.drone_id || "–")}<br><small class="muted">${esc(fmtTime(r.planned_start || r.created_at))}</small></td></tr>`;
  }).join("")}</table>` : `<p class="muted">${esc(t("runs.none"))}</p>`);
}

async function renderCalendar() {
  const now = Date.now(), horizon = now + 7 * 86400000;
  const items = [];
  for (const s of state.schedules.filter((x) => x.enabled)) {
    let runs = s.next_runs;
    if (s.kind !== "once") {
      try { runs = (await api.get(`/api/v1/schedules/${encodeURIComponent(s.id)}?count=10`)).next_runs; } catch { /* keep */ }
    }
    for (const r of runs) if (Date.parse(r) <= horizon) items.push({ at: r, name: s.name });
  }
  items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const byDay = new Map();
  for (const it of items) {
    const p = localParts(new Date(it.at));
    const day = `${p.year}-${p.month}-${p.day}`;
    if (!byDay.has(day)) byDay.set(day, []);
    byDay.get(day).push(it);
  }
  $("#calendar").innerHTML = byDay.size ? [...byDay].map(([day, its]) => `<div class="cal-day"><b>${esc(day)}</b>
    ${its.map((i) => `${esc(fmtTime(i.at, false).slice(0, 5))} ${esc(i.name)}`).join(" · ")}</div>`).join("")
    : `<p class="muted">${esc(t("runs.none"))}</p>`;
}

$("#runs-view").addEventListener("click", async (e) => {
  const el = e.target.closest("[data-fly],[data-show-plan],[data-sched-toggle],[data-sched-del],tr[data-run],[data-run-action]");
  if (!el) return;
  try {
    if (el.dataset.fly) {
      const plan = state.plans.find((p) => p.id === el.dataset.fly);
      if (!(await confirmDialog(t("runs.flyConfirm", { plan: plan?.name || el.dataset.fly })))) return;
      const run = await api.post("/api/v1/missions", { plan_id: el.dataset.fly });
      toast(t("runs.started", { run: run.id }));
      await refreshRuns();
    } else if (el.dataset.showPlan) {
      const p = await api.get(`/api/v1/plans/${encodeURIComponent(el.dataset.showPlan)}`);
      map.layers.plans = (p.doc.sorties || []).map((s) => sortieLine(s.plan));
      map.baseDirty = true;
      showView("map");
    } else if (el.dataset.schedToggle) {
      await api.post(`/api/v1/schedules/${encodeURIComponent(el.dataset.schedToggle)}/${el.dataset.enabled === "true" ? "pause" : "resume"}`);
      await refreshRuns();
    } else if (el.dataset.schedDel) {
      if (!(await confirmDialog(t("sched.deleteConfirm", { name: el.dataset.name })))) return;
      await api.del(`/api/v1/schedules/${encodeURIComponent(el.dataset.schedDel)}`);
      await refreshRuns();
    } else if (el.dataset.runAction) {
      const action = el.dataset.runAction;
      if (!(await confirmDialog(`${t(`runs.${action}`)} ${state.detailRun}?`))) return;
      await api.post(`/api/v1/missions/${encodeURIComponent(state.detailRun)}/${action}`);
      openRun(state.detailRun);
    } else if (el.dataset.run) {
      openRun(el.dataset.run);
    }
  } catch (err) { fail(err); }
});

const refreshDetailSoon = throttle(() => { if (state.detailRun) openRun(state.detailRun); }, 1000);
async function openRun(id) {
  state.detailRun = id;
  const body = $("#run-detail-body");
  try {
    const [run, report] = await Promise.all([api.get(`/api/v1/missions/${encodeURIComponent(id)}`),
      api.get(`/api/v1/missions/${encodeURIComponent(id)}/report`).catch(() => null)]);
    const pr = state.runProgress.get(id);
    const pct = pr && pr.total ? Math.round((100 * pr.current) / pr.total) : run.state === "completed" ? 100 : 0;
    const rows = [[t("runs.state"), `<span class="state ${esc(run.state)}" id="run-state" data-state="${esc(run.state)}">${esc(runState(run.state))}</span>`],
      [t("runs.drone"), esc(run.drone_id || "–")], [t("runs.plan"), esc(run.plan_id || "–")],
      [t("runs.started_at"), esc(fmtTime(run.started_at))], [t("runs.ended_at"), esc(fmtTime(run.ended_at))],
      [t("runs.reason"), esc(run.reason || "")]];
    if (report?.distance_m != null) rows.push([t("runs.distance"), esc(fmtLen(report.distance_m))]);
    const timeline = (report?.timeline || []).map((e) => `<tr><td>${esc(fmtTime(e.time, false))}</td><td>${esc(eventName(e.type))}</td></tr>`).join("");
    body.innerHTML = `<p><b>${esc(id)}</b></p><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>
      <h3>${esc(t("runs.progress"))}</h3><div class="bar"><i style="width:${pct}%"></i></div> ${pr ? `${pr.current}/${pr.total}` : ""}
      <div class="row wrap pilot-only">${["pause", "resume", "abort", "approve"].map((a) =>
        `<button data-run-action="${a}">${esc(t(`runs.${a}`))}</button>`).join("")}</div>
      <h3>${esc(t("runs.report"))}</h3>
      <a target="_blank" href="/api/v1/missions/${encodeURIComponent(id)}/report.html?access_token=${encodeURIComponent(api.token)}">${esc(t("runs.printable"))}</a>
      <table>${timeline}</table>`;
    if (report?.track?.length) map.layers.plans = [report.track.map((p) => [p.lon ?? p[1], p.lat ?? p[0]])];
  } catch (e) { fail(e); }
}

// -- alerts: the duty officers' cases -------------------------------------------------------------
async function refreshAlerts() {
  if (!state.me) return;
  try {
    const alerts = (await api.get("/api/v1/alerts?limit=100")).filter((a) => a.status !== "closed");
    state.alerts = alerts;
    setHtml($("#alerts-list"), alerts.length ? `<table>${alerts.map((a) => `<tr class="alert-row" data-alert="${esc(a.id)}"
        data-type="${esc(a.type)}" data-status="${esc(a.status)}">
      <td><b>${esc(eventName(a.type))}</b><br><small class="muted">${esc(fmtTime(a.raised_at))} · ${esc(a.subject || "")}</small></td>
      <td><span class="state">${esc(t(`alerts.status.${a.status}`))}</span>${a.assignee ? ` ${esc(a.assignee)}` : ""}</td>
      <td class="pilot-only">${a.status === "open" ? `<button data-alert-action="acknowledge">${esc(t("alerts.acknowledge"))}</button>` : ""}
        <button data-alert-action="assign">${esc(t("alerts.assign"))}</button>
        <button data-alert-action="close">${esc(t("alerts.close"))}</button></td></tr>`).join("")}</table>`
      : `<p class="muted">${esc(t("alerts.none"))}</p>`);
  } catch (e) { if (e instanceof ApiError && e.status === 401) fail(e); }
}
const refreshAlertsSoon = throttle(() => refreshAlerts(), 1000);
$("#alerts-list").addEventListener("click", async (e) => {
  const b = e.target.closest("[data-alert-action]");
  if (!b) return;
  const id = b.closest("[data-alert]").dataset.alert;
  const action = b.dataset.alertAction;
  const body = action === "assign" ? { assignee: state.me.name } : {};
  try {
    await api.post(`/api/v1/alerts/${encodeURIComponent(id)}/${action}`, body);
    await refreshAlerts();
  } catch (err) { fail(err); }
});

// -- events --------------------------------------------------------------------------------------
function updateEventFilters() {
  const keep = (sel, options) => {
    const el = $(sel), v = el.value;
    el.innerHTML = `<option value="">${esc(t("events.all"))}</option>` + options.map(([val, label]) =>
      `<option value="${esc(val)}">${esc(label)}</option>`).join("");
    el.value = options.some(([val]) => val === v) ? v : "";
  };
  const types = [...new Set(state.events.map((e) => e.type))].sort();
  keep("#f-type", types.map((ty) => [ty, eventName(ty)]));
  keep("#f-drone", [...state.drones.keys()].sort().map((d) => [d, d]));
  const runs = new Set(state.runs.map((r) => r.id));
  state.events.forEach((e) => { if (e.data?.run_id) runs.add(e.data.run_id); });
  keep("#f-run", [...runs].sort().map((r) => [r, r]));
}
["#f-type", "#f-drone", "#f-run", "#f-telemetry"].forEach((s) => $(s).addEventListener("change", renderEvents));

function eventSummary(ev) {
  const d = ev.data || {};
  const parts = [];
  if (d.state && !ev.type.includes("telemetry")) parts.push(runState(d.state));
  if (d.from && d.to) parts.push(`${t(`state.${d.from}`)} → ${t(`state.${d.to}`)}`);
  if (d.reason) parts.push(d.reason);
  if (d.current != null && d.total != null) parts.push(`${d.current}/${d.total}`);
  if (d.zone_id) parts.push(d.zone_id);
  if (d.lat != null && ev.type.includes("telemetry")) parts.push(`${d.lat.toFixed(5)}, ${d.lon.toFixed(5)} · ${Math.round((d.battery_remaining || 0) * 100)}%`);
  return parts.join(" · ");
}
function detectionPlace(d) {
  if (d.centroid) return Array.isArray(d.centroid) ? [d.centroid[1], d.centroid[0]] : [d.centroid.lat, d.centroid.lon];
  const g = d.geometry;
  if (!g) return null;
  if (g.type === "Point") return [g.coordinates[1], g.coordinates[0]];
  if (g.type === "LineString") { const c = g.coordinates[g.coordinates.length - 1]; return [c[1], c[0]]; }
  if (g.type === "Polygon") { const c = g.coordinates[0][0]; return [c[1], c[0]]; }
  return null;
}
function renderEvents() {
  const fType = $("#f-type").value, fDrone = $("#f-drone").value, fRun = $("#f-run").value;
  const showTel = $("#f-telemetry").checked;
  const shown = [];
  for (let i = state.events.length - 1; i >= 0 && shown.length < 200; i--) {
    const ev = state.events[i];
    const d = ev.data || {};
    if (!showTel && ev.type === "skypatrol.telemetry.v1") continue;
    if (fType && ev.type !== fType) continue;
    if (fDrone && d.drone_id !== fDrone && ev.subject !== fDrone) continue;
    if (fRun && d.run_id !== fRun && d.mission_id !== fRun && ev.subject !== fRun) continue;
    shown.push(ev);
  }
  if (!shown.length) { $("#event-list").innerHTML = `<p class="muted">${esc(t("events.none"))}</p>`; return; }
  $("#event-list").innerHTML = shown.map((ev) => {
    const d = ev.data || {};
    const family = ev.type.split(".")[1];
    let extra = "";
    if (family === "detection" || family === "alert") {
      const place = detectionPlace(d);
      const kind = ev.type.includes("road_works") ? "road_works" : "muck_truck";
      const facts = kind === "muck_truck"
        ? `${t("det.heading")} ${d.heading_deg ?? "–"}° · ${t("det.speed")} ${d.speed_mps ?? "–"} m/s`
        : `${t("det.permit")} ${d.permit_id || t("det.none")}`;
      const imgs = (d.evidence || []).slice(0, 2).map((e) => `<img alt="${esc(t("events.evidence"))}" loading="lazy" `
        + `src="/api/v1/evidence/${encodeURIComponent(e.name)}?access_token=${encodeURIComponent(api.token)}">`).join("");
      extra = `<div><b>${esc(t(`det.${kind}`))}</b> · ${esc(facts)}</div>${imgs}`
        + (place ? `<button data-goto="${place[0]},${place[1]}">${esc(t("events.showOnMap"))}</button>` : "");
    }
    return `<div class="event-card ${esc(family)}" data-seq="${ev.seq ?? ""}" data-type="${esc(ev.type)}" data-subject="${esc(ev.subject || "")}"
      data-run="${esc(d.run_id || "")}" data-schedule="${esc(d.schedule_id || "")}">
      <div><b>${esc(eventName(ev.type))}</b> ${esc(eventSummary(ev))}</div>
      <div class="meta"><span>${esc(fmtTime(ev.time))}</span><span>${esc(ev.subject || "")}</span><span>${ev.seq != null ? "#" + ev.seq : ""}</span></div>
      ${extra}</div>`;
  }).join("");
}
$("#event-list").addEventListener("click", (e) => {
  const b = e.target.closest("[data-goto]");
  if (!b) return;
  const [lat, lon] = b.dataset.goto.split(",").map(Number);
  showView("map");
  map.setView(lat, lon, 18);
});

// -- clock, rendering, boot ----------------------------------------------------------------------
function tick() { $("#clock").textContent = fmtTime(new Date().toISOString()); }
setInterval(tick, 1000);

function renderAll() {
  applyI18n(document);
  tick();
  if (!state.me) return;
  $("#who").textContent = `${state.me.name} · ${t(`role.${state.me.role}`)}`;
  const st = $("#stream-status").dataset.status;
  if (st) $("#stream-status").textContent = t(`stream.${st}`);
  renderLegend();
  renderFleet(true);
  updateEventFilters();
  if (state.view === "runs") { renderRuns(); renderCalendar(); if (state.detailRun) openRun(state.detailRun); }
  if (state.view === "events") { renderEvents(); $("#alerts-list").dataset.html = ""; refreshAlerts(); }
  map.baseDirty = true;
}

// A synthetic fleet for the frame-rate benchmark (`?bench=N`): N drones reporting at 5 Hz through
// the same handler the event stream feeds.
function benchFleet(n) {
  const o = state.site?.origin || { lat: 30.7416, lon: 121.3415 };
  const t0 = performance.now();
  setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    for (let i = 0; i < n; i++) {
      const r = 200 + 15 * (i % 40), a = s * 0.05 + (i * 2 * Math.PI) / n;
      onEvent({ type: "skypatrol.telemetry.v1", subject: `bench-${i}`, data: {
        lat: o.lat + (r * Math.sin(a)) / 111320, lon: o.lon + (r * Math.cos(a)) / (111320 * Math.cos((o.lat * Math.PI) / 180)),
        heading_deg: ((90 - (a * 180) / Math.PI) + 360) % 360, battery_remaining: 0.9 - (i % 50) / 100,
        flight_mode: "MISSION", in_air: true, state: "airborne", last_seen_s: 0.1, connected: true, alt_rel_m: 60 } });
    }
  }, 200);
}

async function boot() {
  setLang(params.get("lang") || initialLang());
  renderLegend();
  tick();
  if (api.token) {
    try {
      state.me = await api.get("/api/v1/me");
      await start();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { api.setToken(""); showLogin(); } else fail(e);
    }
  } else showLogin();
  const n = Number(params.get("bench") || 0);
  if (n > 0) benchFleet(n);
}
boot();
