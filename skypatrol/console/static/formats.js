// Mission and shape files read in the browser: QGC .plan, QGC WPL (.waypoints), KML, GeoJSON.
// A mission file becomes {kind: "mission", plan, line}; a shape becomes {kind: "polygon" | "line"
// | "points", points: [[lon, lat]...]} for the planner.

const POSITIONAL = new Set([16, 17, 18, 19, 21, 22, 82]); // waypoint, loiters, land, take-off, spline

function planLine(plan) {
  const out = [];
  for (const it of plan.mission?.items || []) {
    const p = it.params || [];
    if (it.type === "SimpleItem" && POSITIONAL.has(it.command) && p[4] && p[5]) out.push([p[5], p[4]]);
  }
  return out;
}

export function readQgcPlan(text) {
  const plan = JSON.parse(text);
  if (plan.fileType !== "Plan" || !plan.mission) throw new Error("not a QGroundControl .plan file");
  return { kind: "mission", plan, line: planLine(plan) };
}

/** QGC WPL 110: line 0 is home; the rest become the items of a .plan document. */
export function readWaypoints(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!/^QGC WPL 1[12]0/.test(lines[0] || "")) throw new Error("not a QGC WPL file (first line)");
  const rows = lines.slice(1).map((l) => l.split(/\s+/).map(Number));
  if (!rows.length) throw new Error("no waypoints");
  const home = rows[0];
  const items = rows.slice(1).map((r, i) => ({
    type: "SimpleItem", autoContinue: r[11] !== 0, command: r[3], doJumpId: i + 1, frame: r[2],
    params: [r[4], r[5], r[6], r[7], r[8], r[9], r[10]], AMSLAltAboveTerrain: null, Altitude: r[10], AltitudeMode: 1,
  }));
  const plan = {
    fileType: "Plan", version: 1, groundStation: "SkyPatrol console",
    mission: { version: 2, firmwareType: 12, vehicleType: 2, cruiseSpeed: 10, hoverSpeed: 5,
      plannedHomePosition: [home[8], home[9], home[10]], items },
    geoFence: { circles: [], polygons: [], version: 2 }, rallyPoints: { points: [], version: 2 },
  };
  return { kind: "mission", plan, line: planLine(plan) };
}

function shapeFromGeometries(geoms) {
  const poly = geoms.find((g) => g.type === "Polygon" || g.type === "MultiPolygon");
  if (poly) {
    const ring = poly.type === "Polygon" ? poly.coordinates[0] : poly.coordinates[0][0];
    return { kind: "polygon", points: ring.slice(0, -1).map((c) => [c[0], c[1]]) };
  }
  const line = geoms.find((g) => g.type === "LineString");
  if (line) return { kind: "line", points: line.coordinates.map((c) => [c[0], c[1]]) };
  const pts = geoms.filter((g) => g.type === "Point").map((g) => [g.coordinates[0], g.coordinates[1]]);
  if (pts.length) return { kind: "points", points: pts };
  throw new Error("no polygon, line or point in it");
}

export function readGeoJson(text) {
  const doc = JSON.parse(text);
  const geoms = [];
  const walk = (o) => {
    if (!o) return;
    if (o.type === "FeatureCollection") o.features.forEach(walk);
    else if (o.type === "Feature") walk(o.geometry);
    else if (o.type === "GeometryCollection") o.geometries.forEach(walk);
    else if (o.type === "MultiPoint") o.coordinates.forEach((c) => geoms.push({ type: "Point", coordinates: c }));
    else if (o.coordinates) geoms.push(o);
  };
  walk(doc);
  return shapeFromGeometries(geoms);
}

export function readKml(text) {
  const xml = new DOMParser().parseFromString(text, "application/xml");
  if (xml.querySelector("parsererror")) throw new Error("not well-formed XML");
  const coords = (el) => el.textContent.trim().split(/\s+/).map((c) => c.split(",").map(Number));
  const geoms = [];
  xml.querySelectorAll("Polygon").forEach((p) => {
    const outer = p.querySelector("outerBoundaryIs coordinates") || p.querySelector("coordinates");
    if (outer) geoms.push({ type: "Polygon", coordinates: [coords(outer)] });
  });
  xml.querySelectorAll("LineString").forEach((l) => {
    const c = l.querySelector("coordinates");
    if (c) geoms.push({ type: "LineString", coordinates: coords(c) });
  });
  xml.querySelectorAll("Point").forEach((p) => {
    const c = p.querySelector("coordinates");
    if (c) geoms.push({ type: "Point", coordinates: coords(c)[0] });
  });
  return shapeFromGeometries(geoms);
}

export function readMissionFile(name, text) {
  const n = name.toLowerCase();
  if (n.endsWith(".plan")) return readQgcPlan(text);
  if (n.endsWith(".waypoints") || n.endsWith(".txt")) return readWaypoints(text);
  if (n.endsWith(".kml")) return readKml(text);
  if (n.endsWith(".geojson") || n.endsWith(".json")) return readGeoJson(text);
  throw new Error("unknown file type (.plan, .waypoints, .kml, .geojson)");
}
