// The console's map: Web Mercator on one <canvas>, no map library and no tile server needed.
// The base (site layers, optional XYZ tiles) is drawn once per view change into an offscreen
// canvas; each animation frame copies it and draws what moves (drones, trails) on top, so a
// hundred drones cost a hundred small paths per frame, never a DOM node each.
import { wgs84ToGcj02 } from "./gcj02.js";

const TILE = 256;
const TRAIL_MAX = 120;
export const ZONE_COLOURS = {
  PROHIBITED: "#dc2626",
  REQ_AUTHORISATION: "#ea580c",
  CONDITIONAL: "#ca8a04",
  NO_RESTRICTION: "#16a34a",
};

function mercX(lon) { return (lon + 180) / 360; }
function mercY(lat) {
  const s = Math.sin((lat * Math.PI) / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
}
function unmercLon(x) { return x * 360 - 180; }
function unmercLat(y) { return (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI; }

function circleRing(lon, lat, radiusM, n = 48) {
  const out = [];
  const dLat = radiusM / 111320;
  const dLon = radiusM / (111320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= n; i++) {
    const a = (i / n) * 2 * Math.PI;
    out.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return out;
}

export class PatrolMap {
  constructor(container, { markers = "canvas" } = {}) {
    this.el = container;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "map-canvas";
    this.canvas.tabIndex = 0;
    this.el.appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.base = document.createElement("canvas");
    this.markerMode = markers; // "canvas" (ours) or "dom" (one SVG element per drone: the naive peer)
    this.domLayer = null;
    if (markers === "dom") {
      this.domLayer = document.createElement("div");
      this.domLayer.className = "map-dom-markers";
      this.domTrails = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      this.domTrails.setAttribute("class", "map-dom-trails");
      this.domLayer.appendChild(this.domTrails);
      this.el.appendChild(this.domLayer);
    }
    this.center = [mercX(121.3415), mercY(30.7416)];
    this.zoom = 15;
    this.layers = { base: [], zones: [], route: [], plans: [], detections: [], violations: [], draft: null };
    this.visible = { roads: true, world: true, zones: true, routes: true, drones: true, trails: true,
      detections: true, violations: true };
    this.drones = new Map(); // id -> {lat, lon, heading, battery, mode, link, state, trail: [[x, y]...], el}
    this.tiles = null; // {url, gcj02, cache}
    this.draw = null; // {mode: polygon|line|points, points: [[lon, lat]...], onChange}
    this.baseDirty = true;
    this.frames = 0;
    this.selected = null;
    this.onDroneClick = null;
    this._bindInput();
    this._resize();
    new ResizeObserver(() => this._resize()).observe(this.el);
    const loop = () => { this._frame(); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  }

  // -- projection ----------------------------------------------------------------------------
  get scale() { return TILE * 2 ** this.zoom; }
  project(lat, lon) {
    const s = this.scale;
    return [(mercX(lon) - this.center[0]) * s + this.w / 2, (mercY(lat) - this.center[1]) * s + this.h / 2];
  }
  unproject(x, y) {
    const s = this.scale;
    const mx = this.center[0] + (x - this.w / 2) / s;
    const my = this.center[1] + (y - this.h / 2) / s;
    return [unmercLat(my), unmercLon(mx)];
  }
  /** Where (lat, lon) is in page coordinates (for tests and tools that click on the map). */
  pagePoint(lat, lon) {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = this.project(lat, lon);
    return [r.left + x, r.top + y];
  }
  setView(lat, lon, zoom) {
    this.center = [mercX(lon), mercY(lat)];
    if (zoom !== undefined) this.zoom = zoom;
    this.baseDirty = true;
  }
  fit(bounds, pad = 40) { // bounds [[minLon, minLat], [maxLon, maxLat]]
    const [[x0, y0], [x1, y1]] = bounds;
    const mx0 = mercX(x0), mx1 = mercX(x1), my0 = mercY(y1), my1 = mercY(y0);
    this.center = [(mx0 + mx1) / 2, (my0 + my1) / 2];
    const zx = Math.log2((this.w - 2 * pad) / TILE / Math.max(mx1 - mx0, 1e-9));
    const zy = Math.log2((this.h - 2 * pad) / TILE / Math.max(my1 - my0, 1e-9));
    this.zoom = Math.max(3, Math.min(19, Math.min(zx, zy)));
    this.baseDirty = true;
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    this.w = this.el.clientWidth || 800;
    this.h = this.el.clientHeight || 600;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(this.w * dpr);
      c.height = Math.round(this.h * dpr);
    }
    this.canvas.style.width = `${this.w}px`;
    this.canvas.style.height = `${this.h}px`;
    this.dpr = dpr;
    this.baseDirty = true;
  }

  // -- input: pan, zoom, draw ----------------------------------------------------------------
  _bindInput() {
    let down = null;
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      down = { x: e.clientX, y: e.clientY, c: [...this.center], moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener("pointermove", (e) => {
      if (!down) return;
      const dx = e.clientX - down.x, dy = e.clientY - down.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) down.moved = true;
      if (down.moved) {
        this.center = [down.c[0] - dx / this.scale, down.c[1] - dy / this.scale];
        this.baseDirty = true;
      }
    });
    c.addEventListener("pointerup", (e) => {
      const d = down;
      down = null;
      if (!d || d.moved) return;
      const r = c.getBoundingClientRect();
      this._click(e.clientX - r.left, e.clientY - r.top);
    });
    c.addEventListener("dblclick", (e) => {
      e.preventDefault();
      if (this.draw && this.draw.mode !== "points" && !this.draw.done) {
        const pts = this.draw.points; // the double-click's second click repeated the last vertex
        if (pts.length >= 2) {
          const [a, b] = [pts[pts.length - 1], pts[pts.length - 2]];
          if (Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6) pts.pop();
        }
        this.finishDraw();
      }
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomAt(e.clientX - r.left, e.clientY - r.top, e.deltaY < 0 ? 0.5 : -0.5);
    }, { passive: false });
  }
  zoomAt(x, y, dz) {
    const [lat, lon] = this.unproject(x, y);
    this.zoom = Math.max(3, Math.min(20, this.zoom + dz));
    const [nx, ny] = this.project(lat, lon);
    this.center = [this.center[0] + (nx - x) / this.scale, this.center[1] + (ny - y) / this.scale];
    this.baseDirty = true;
  }
  _click(x, y) {
    const [lat, lon] = this.unproject(x, y);
    if (this.draw && !this.draw.done) {
      this.draw.points.push([lon, lat]);
      this.baseDirty = true;
      this.draw.onChange?.(this.draw);
      return;
    }
    for (const [id, d] of this.drones) {
      const [dx, dy] = this.project(d.lat, d.lon);
      if (Math.hypot(dx - x, dy - y) < 14) { this.onDroneClick?.(id); return; }
    }
  }
  startDraw(mode, onChange) {
    this.draw = { mode, points: [], done: false, onChange };
    this.canvas.classList.add("drawing");
    this.baseDirty = true;
  }
  finishDraw() {
    if (!this.draw) return null;
    const need = { polygon: 3, line: 2, points: 1 }[this.draw.mode];
    if (this.draw.points.length < need) return null;
    this.draw.done = true;
    this.canvas.classList.remove("drawing");
    this.baseDirty = true;
    this.draw.onChange?.(this.draw);
    return this.draw;
  }
  setDraft(mode, points) { // an uploaded shape shown as if drawn
    this.draw = { mode, points, done: true, onChange: null };
    this.canvas.classList.remove("drawing");
    this.baseDirty = true;
  }
  clearDraw() { this.draw = null; this.canvas.classList.remove("drawing"); this.baseDirty = true; }

  // -- data ----------------------------------------------------------------------------------
  setBase(features) { this.layers.base = features; this.baseDirty = true; }
  setZones(features) { this.layers.zones = features; this.baseDirty = true; }
  setRoute(lines) { this.layers.route = lines; this.baseDirty = true; } // [[[lon, lat]...]...]
  setViolations(v) { this.layers.violations = v; this.baseDirty = true; } // [{lat, lon, zone_id, kind}]
  setDetections(d) { this.layers.detections = d; this.baseDirty = true; }
  setLayerVisible(name, on) { this.visible[name] = on; this.baseDirty = true; }
  setTiles(cfg) {
    this.tiles = cfg && cfg.url ? { ...cfg, cache: new Map() } : null;
    this.baseDirty = true;
  }

  updateDrone(id, t) {
    let d = this.drones.get(id);
    if (!d) {
      d = { trail: [], el: null };
      this.drones.set(id, d);
      if (this.domLayer) {
        d.el = document.createElementNS("http://www.w3.org/2000/svg", "svg");
        d.el.setAttribute("width", "28");
        d.el.setAttribute("height", "28");
        d.el.setAttribute("viewBox", "-14 -14 28 28");
        d.el.innerHTML = '<path d="M0,-11 L8,9 L0,4 L-8,9 Z" fill="#0ea5e9" stroke="#fff"/>'
          + '<text y="22" font-size="8" text-anchor="middle"></text>';
        d.el.classList.add("drone-marker");
        this.domLayer.appendChild(d.el);
        d.trailEl = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
        d.trailEl.setAttribute("fill", "none");
        d.trailEl.setAttribute("stroke", "rgba(14,165,233,0.55)");
        this.domTrails.appendChild(d.trailEl);
      }
    }
    if (t.lat == null || t.lon == null) return d;
    Object.assign(d, {
      lat: t.lat, lon: t.lon, heading: t.heading_deg ?? d.heading ?? 0,
      battery: t.battery_remaining ?? d.battery, mode: t.flight_mode ?? d.mode,
      state: t.state ?? d.state, link: t.connected === false ? 0 : linkQuality(t.last_seen_s),
      inAir: t.in_air, alt: t.alt_rel_m, seen: performance.now(),
    });
    const mx = mercX(t.lon), my = mercY(t.lat);
    const last = d.trail[d.trail.length - 1];
    if (!last || Math.abs(last[0] - mx) + Math.abs(last[1] - my) > 2e-9) {
      d.trail.push([mx, my]);
      if (d.trail.length > TRAIL_MAX) d.trail.shift();
    }
    if (d.el) {
      d.el.querySelector("path").setAttribute("transform", `rotate(${d.heading})`);
      d.el.querySelector("text").textContent = id;
    }
    return d;
  }
  removeDrone(id) {
    const d = this.drones.get(id);
    if (d?.el) { d.el.remove(); d.trailEl.remove(); }
    this.drones.delete(id);
  }
  dronePositions() {
    const out = {};
    for (const [id, d] of this.drones) if (d.lat != null) out[id] = [d.lat, d.lon];
    return out;
  }

  // -- drawing -------------------------------------------------------------------------------
  _frame() {
    this.frames++;
    const ctx = this.ctx;
    if (this.baseDirty) { this._drawBase(); this.baseDirty = false; }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this._drawDrones(ctx);
  }

  _path(ctx, coords, close) {
    coords.forEach(([lon, lat], i) => {
      const [x, y] = this.project(lat, lon);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    if (close) ctx.closePath();
  }

  _geometry(ctx, g, close) {
    if (!g) return;
    if (g.type === "Polygon") g.coordinates.forEach((r) => this._path(ctx, r, true));
    else if (g.type === "MultiPolygon") g.coordinates.forEach((p) => p.forEach((r) => this._path(ctx, r, true)));
    else if (g.type === "LineString") this._path(ctx, g.coordinates, close);
    else if (g.type === "MultiLineString") g.coordinates.forEach((l) => this._path(ctx, l, close));
  }

  _drawTiles(ctx) {
    const t = this.tiles;
    const z = Math.max(0, Math.min(19, Math.round(this.zoom)));
    const n = 2 ** z;
    const k = this.scale / (TILE * n); // screen px per tile px
    let ox = 0, oy = 0;
    if (t.gcj02) { // GCJ-02 tiles: shift them so WGS84 features land on the right street
      const [cLat, cLon] = this.unproject(this.w / 2, this.h / 2);
      const [gLat, gLon] = wgs84ToGcj02(cLat, cLon);
      ox = (mercX(gLon) - mercX(cLon)) * this.scale;
      oy = (mercY(gLat) - mercY(cLat)) * this.scale;
    }
    const x0 = Math.floor((this.center[0] * this.scale - this.w / 2 + ox) / (TILE * k));
    const y0 = Math.floor((this.center[1] * this.scale - this.h / 2 + oy) / (TILE * k));
    const x1 = Math.floor((this.center[0] * this.scale + this.w / 2 + ox) / (TILE * k));
    const y1 = Math.floor((this.center[1] * this.scale + this.h / 2 + oy) / (TILE * k));
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) {
        if (y < 0 || y >= n) continue;
        const xx = ((x % n) + n) % n;
        const url = t.url.replace("{z}", z).replace("{x}", xx).replace("{y}", y);
        let img = t.cache.get(url);
        if (!img) {
          img = new Image();
          img.onload = () => { this.baseDirty = true; };
          img.onerror = () => { img.failed = true; };
          img.src = url;
          t.cache.set(url, img);
          if (t.cache.size > 400) t.cache.delete(t.cache.keys().next().value);
        }
        if (img.complete && !img.failed && img.naturalWidth) {
          const sx = x * TILE * k - (this.center[0] * this.scale - this.w / 2) - ox;
          const sy = y * TILE * k - (this.center[1] * this.scale - this.h / 2) - oy;
          ctx.drawImage(img, sx, sy, TILE * k + 0.5, TILE * k + 0.5);
        }
      }
    }
  }

  _drawBase() {
    const ctx = this.base.getContext("2d");
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = "#eef2f5";
    ctx.fillRect(0, 0, this.w, this.h);
    if (this.tiles) this._drawTiles(ctx);
    const mpp = 40075016 * Math.cos(unmercLat(this.center[1]) * Math.PI / 180) / this.scale; // metres per px
    // World features and roads: the offline base.
    for (const f of this.layers.base) {
      const p = f.properties, g = f.geometry;
      if (p.layer === "world" && this.visible.world) {
        ctx.beginPath();
        this._geometry(ctx, g);
        if (p.kind === "truck_route") {
          ctx.setLineDash([6, 4]); ctx.strokeStyle = "#7c5a3a"; ctx.lineWidth = 1.5; ctx.stroke(); ctx.setLineDash([]);
        } else if (p.kind === "road") {
          ctx.strokeStyle = "#cbd5e1"; ctx.lineWidth = Math.max(2, (p.width_m || 8) / mpp); ctx.stroke();
        } else {
          ctx.fillStyle = p.permitted ? "rgba(234,179,8,0.25)" : "rgba(249,115,22,0.3)"; ctx.fill();
        }
      } else if (p.layer === "road" && this.visible.roads) {
        ctx.beginPath();
        this._geometry(ctx, g);
        ctx.lineCap = "round"; ctx.lineJoin = "round";
        ctx.strokeStyle = "#94a3b8"; ctx.lineWidth = Math.max(3, (p.width_m || 10) / mpp) + 2; ctx.stroke();
        ctx.strokeStyle = "#ffffff"; ctx.lineWidth = Math.max(2, (p.width_m || 10) / mpp); ctx.stroke();
        if (this.zoom > 14 && g.type === "LineString") {
          const c = g.coordinates[Math.floor(g.coordinates.length / 2)];
          const [x, y] = this.project(c[1], c[0]);
          ctx.fillStyle = "#475569"; ctx.font = "12px sans-serif";
          ctx.fillText(document.documentElement.lang.startsWith("zh") ? (p.name_zh || p.name) : (p.name || ""), x + 4, y - 6);
        }
      }
    }
    // Zones, coloured by restriction; out of force: dashed outline only.
    if (this.visible.zones) {
      for (const f of this.layers.zones) {
        const p = f.properties, g = f.geometry;
        const colour = ZONE_COLOURS[p.restriction] || "#64748b";
        ctx.beginPath();
        if (g.type === "Point" && p.radius_m) this._path(ctx, circleRing(g.coordinates[0], g.coordinates[1], p.radius_m), true);
        else this._geometry(ctx, g);
        if (p.active !== false) { ctx.fillStyle = colour + "33"; ctx.fill(); ctx.setLineDash([]); }
        else ctx.setLineDash([5, 5]);
        ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.stroke(); ctx.setLineDash([]);
        if (this.zoom > 13.5) {
          const c = g.type === "Point" ? g.coordinates : g.coordinates[0][0];
          const [x, y] = this.project(c[1], c[0]);
          ctx.fillStyle = colour; ctx.font = "bold 11px sans-serif";
          ctx.fillText(p.id, x + 3, y - 3);
        }
      }
    }
    // Docks.
    for (const f of this.layers.base) {
      if (f.properties.layer !== "dock") continue;
      const [x, y] = this.project(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      ctx.fillStyle = "#1e3a8a"; ctx.fillRect(x - 4, y - 4, 8, 8);
    }
    // Planned routes: stored plans faint, the preview strong.
    if (this.visible.routes) {
      ctx.lineJoin = "round";
      for (const line of this.layers.plans) {
        ctx.beginPath(); this._path(ctx, line); ctx.strokeStyle = "rgba(79,70,229,0.45)"; ctx.lineWidth = 2; ctx.stroke();
      }
      for (const line of this.layers.route) {
        ctx.beginPath(); this._path(ctx, line); ctx.strokeStyle = "#4f46e5"; ctx.lineWidth = 2.5; ctx.stroke();
        for (const [lon, lat] of line) {
          const [x, y] = this.project(lat, lon);
          ctx.fillStyle = "#4f46e5"; ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 7); ctx.fill();
        }
      }
    }
    // Detections: road-works sites and muck-truck tracks with their direction.
    if (this.visible.detections) {
      for (const d of this.layers.detections) {
        const g = d.geometry;
        if (!g) continue;
        ctx.beginPath(); this._geometry(ctx, g);
        if (d.kind === "road_works") {
          ctx.fillStyle = "rgba(245,158,11,0.35)"; ctx.fill(); ctx.strokeStyle = "#b45309"; ctx.lineWidth = 2; ctx.stroke();
        } else {
          ctx.strokeStyle = "#7c2d12"; ctx.lineWidth = 3; ctx.stroke();
          const cs = g.type === "LineString" ? g.coordinates : [];
          if (cs.length >= 2) this._arrow(ctx, cs[cs.length - 2], cs[cs.length - 1], "#7c2d12");
        }
      }
    }
    // The shape being drawn.
    const dr = this.draw;
    if (dr && dr.points.length) {
      ctx.beginPath(); this._path(ctx, dr.points, dr.mode === "polygon" && dr.done);
      if (dr.mode === "polygon") { ctx.fillStyle = "rgba(14,165,233,0.15)"; if (dr.done) ctx.fill(); }
      if (dr.mode !== "points") { ctx.strokeStyle = "#0284c7"; ctx.lineWidth = 2; ctx.setLineDash(dr.done ? [] : [4, 3]); ctx.stroke(); ctx.setLineDash([]); }
      for (const [lon, lat] of dr.points) {
        const [x, y] = this.project(lat, lon);
        ctx.fillStyle = "#fff"; ctx.strokeStyle = "#0284c7"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.arc(x, y, 4, 0, 7); ctx.fill(); ctx.stroke();
      }
    }
    // Violations: where the airspace check found them.
    if (this.visible.violations) {
      for (const v of this.layers.violations) {
        const [x, y] = this.project(v.lat, v.lon);
        ctx.strokeStyle = "#dc2626"; ctx.lineWidth = 3;
        ctx.beginPath(); ctx.arc(x, y, 9, 0, 7); ctx.stroke();
        ctx.beginPath(); ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5); ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); ctx.stroke();
      }
    }
    // Scale bar.
    const metres = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].find((m) => m / mpp > 60) || 10000;
    const px = metres / mpp;
    ctx.fillStyle = "rgba(255,255,255,0.8)"; ctx.fillRect(8, this.h - 26, px + 50, 20);
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(12, this.h - 12); ctx.lineTo(12 + px, this.h - 12); ctx.stroke();
    ctx.fillStyle = "#111"; ctx.font = "11px sans-serif";
    ctx.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, 16 + px, this.h - 9);
    if (this.tiles?.attribution) ctx.fillText(this.tiles.attribution, this.w - 8 - ctx.measureText(this.tiles.attribution).width, this.h - 6);
  }

  _arrow(ctx, a, b, colour) {
    const [x0, y0] = this.project(a[1], a[0]);
    const [x1, y1] = this.project(b[1], b[0]);
    const ang = Math.atan2(y1 - y0, x1 - x0);
    ctx.fillStyle = colour; ctx.beginPath();
    ctx.moveTo(x1 + 9 * Math.cos(ang), y1 + 9 * Math.sin(ang));
    ctx.lineTo(x1 + 7 * Math.cos(ang + 2.5), y1 + 7 * Math.sin(ang + 2.5));
    ctx.lineTo(x1 + 7 * Math.cos(ang - 2.5), y1 + 7 * Math.sin(ang - 2.5));
    ctx.closePath(); ctx.fill();
  }

  _drawDrones(ctx) {
    if (!this.visible.drones) return;
    const s = this.scale, cx = this.center[0] * s - this.w / 2, cy = this.center[1] * s - this.h / 2;
    if (this.visible.trails && this.markerMode === "canvas") {
      ctx.strokeStyle = "rgba(14,165,233,0.55)"; ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (const d of this.drones.values()) {
        const tr = d.trail;
        for (let i = 0; i < tr.length; i++) {
          const x = tr[i][0] * s - cx, y = tr[i][1] * s - cy;
          if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        }
      }
      ctx.stroke();
    }
    if (this.markerMode === "dom") { // the naive peer: one SVG marker and one polyline per drone
      for (const d of this.drones.values()) {
        if (d.lat == null || !d.el) continue;
        const x = mercX(d.lon) * s - cx, y = mercY(d.lat) * s - cy;
        d.el.style.transform = `translate(${x - 14}px, ${y - 14}px)`;
        if (this.visible.trails) d.trailEl.setAttribute("points", d.trail.map((p) => `${p[0] * s - cx},${p[1] * s - cy}`).join(" "));
      }
      return;
    }
    const now = performance.now();
    ctx.font = "11px sans-serif";
    for (const [id, d] of this.drones) {
      if (d.lat == null) continue;
      const x = mercX(d.lon) * s - cx, y = mercY(d.lat) * s - cy;
      if (x < -30 || y < -30 || x > this.w + 30 || y > this.h + 30) continue;
      const stale = now - d.seen > 5000 || d.link === 0;
      const colour = stale ? "#94a3b8" : d.state === "returning" ? "#f59e0b" : d.inAir ? "#0ea5e9" : "#22c55e";
      ctx.save();
      ctx.translate(x, y);
      ctx.rotate(((d.heading || 0) * Math.PI) / 180);
      ctx.beginPath(); ctx.moveTo(0, -11); ctx.lineTo(8, 9); ctx.lineTo(0, 4); ctx.lineTo(-8, 9); ctx.closePath();
      ctx.fillStyle = colour; ctx.fill();
      ctx.strokeStyle = id === this.selected ? "#111827" : "#ffffff"; ctx.lineWidth = id === this.selected ? 2.5 : 1.5; ctx.stroke();
      ctx.restore();
      // Battery bar and link bars beside the icon; the label under it.
      const b = Math.max(0, Math.min(1, d.battery ?? 0));
      ctx.fillStyle = "#1f2937"; ctx.fillRect(x + 11, y - 9, 4, 16);
      ctx.fillStyle = b > 0.3 ? "#22c55e" : b > 0.15 ? "#f59e0b" : "#dc2626";
      ctx.fillRect(x + 11, y - 9 + 16 * (1 - b), 4, 16 * b);
      for (let i = 0; i < 3; i++) {
        ctx.fillStyle = i < (d.link ?? 0) ? "#0f172a" : "#cbd5e1";
        ctx.fillRect(x + 17 + i * 3, y + 7 - (i + 1) * 4, 2, (i + 1) * 4);
      }
      if (this.drones.size <= 30 || id === this.selected) {
        ctx.fillStyle = "#0f172a";
        ctx.fillText(`${id} ${d.mode || ""}`, x - 16, y + 22);
      }
    }
  }
}

/** 0..3 bars from the age of the last telemetry. */
export function linkQuality(lastSeenS) {
  if (lastSeenS == null) return 3;
  if (lastSeenS < 1) return 3;
  if (lastSeenS < 2) return 2;
  if (lastSeenS < 5) return 1;
  return 0;
}
