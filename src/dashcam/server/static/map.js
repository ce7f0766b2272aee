// The video page's map: the GPS track over map tiles (when `map_tile_url` is configured;
// a light grid otherwise) with a marker per sighting. Uses app.js's helpers (h, s, state).
"use strict";

// Web Mercator in pixels at zoom z (the tile scheme), so a tile layer lines up when set.
function mercator(lat, lon, z) {
  const n = 256 * 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return [((lon + 180) / 360) * n,
    ((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n];
}
function trackMap(track, sightings, onSelect) {
  const pts = track.filter((p) => p && p.length >= 3 && isFinite(p[1]) && isFinite(p[2]));
  const spots = sightings.filter((sg) => sg.position);
  const all = pts.map((p) => [p[1], p[2]]).concat(spots.map((sg) => [sg.position.lat, sg.position.lon]));
  if (!all.length) return empty("this video has no GPS track");
  const lats = all.map((p) => p[0]);
  const lons = all.map((p) => p[1]);
  const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const [x0, y0] = mercator(Math.max(...lats), Math.min(...lons), 0);
  const [x1, y1] = mercator(Math.min(...lats), Math.max(...lons), 0);
  const span0 = Math.max(x1 - x0, y1 - y0, 1e-9);
  const z = Math.max(0, Math.min(19, Math.floor(Math.log2(800 / span0))));
  const [ax, ay] = mercator(Math.max(...lats), Math.min(...lons), z);
  const [bx, by] = mercator(Math.min(...lats), Math.max(...lons), z);
  // Coordinates relative to the track's centre: browsers draw SVG in float32, which has
  // no precision left for absolute pixel coordinates at street zoom (~1e8).
  const cx = (ax + bx) / 2, cy = (ay + by) / 2;
  const P = (lat, lon) => { const [x, y] = mercator(lat, lon, z); return [x - cx, y - cy]; };
  const W = 1000, H = 420;
  // Fit the track into a W:H box centred on it, with a margin.
  const scale = Math.max((bx - ax) / (W * 0.86), (by - ay) / (H * 0.82), 1e-6);
  const vw = W * scale, vh = H * scale;
  const vb = [-vw / 2, -vh / 2, vw, vh];
  const u = vw / W; // user units per screen pixel (at full width)
  const svg = s("svg", { class: "track-map", viewBox: vb.join(" "),
    preserveAspectRatio: "xMidYMid meet", role: "img", "aria-label": "GPS track" });
  const tileUrl = state.config && state.config.map_tile_url;
  if (tileUrl) {
    const g = s("g", { class: "tiles" });
    const left = cx + vb[0], top = cy + vb[1];
    for (let tx = Math.floor(left / 256) - 1; tx <= Math.floor((left + vw) / 256) + 1; tx++) {
      for (let ty = Math.floor(top / 256) - 1; ty <= Math.floor((top + vh) / 256) + 1; ty++) {
        const href = tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
        g.append(s("image", { href, x: tx * 256 - cx, y: ty * 256 - cy, width: 256, height: 256 }));
      }
    }
    svg.append(g);
  } else {
    // A light grid stands in for a map (no tiles leave this network unless configured).
    const g = s("g", { stroke: "#dde3ea", "stroke-width": 1, "vector-effect": "non-scaling-stroke" });
    const step = vw / 10;
    for (let i = 0; i <= 10; i++) {
      g.append(s("line", { x1: vb[0] + i * step, y1: vb[1], x2: vb[0] + i * step, y2: vb[1] + vh,
        "vector-effect": "non-scaling-stroke" }));
    }
    for (let i = 0; i <= Math.ceil(vh / step); i++) {
      g.append(s("line", { x1: vb[0], y1: vb[1] + i * step, x2: vb[0] + vw, y2: vb[1] + i * step,
        "vector-effect": "non-scaling-stroke" }));
    }
    svg.append(g);
  }
  if (pts.length) {
    const xy = pts.map((p) => P(p[1], p[2]));
    svg.append(s("polyline", { class: "track-line",
      points: xy.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(" ") }));
    svg.append(s("circle", { class: "endpoint start", cx: xy[0][0], cy: xy[0][1], r: 6 * u,
      "vector-effect": "non-scaling-stroke" }, s("title", {}, "start")));
    const last = xy[xy.length - 1];
    svg.append(s("circle", { class: "endpoint end", cx: last[0], cy: last[1], r: 6 * u,
      "vector-effect": "non-scaling-stroke" }, s("title", {}, "end")));
  }
  for (const sg of spots) {
    const [x, y] = P(sg.position.lat, sg.position.lon);
    const watched = state.watch.has(sg.plate_text);
    svg.append(s("circle", { class: `marker${watched ? " watch" : ""}`, cx: x, cy: y, r: 8 * u,
      "data-sighting": sg.id, "data-plate": sg.plate_text, "vector-effect": "non-scaling-stroke",
      onclick: () => onSelect(sg.id) },
    s("title", {}, `${sg.plate_text}: best read at ${bestS(sg).toFixed(1)} s`)));
    svg.append(s("text", { class: "marker-label", x: x + 11 * u, y: y - 9 * u,
      "font-size": 12 * u }, sg.plate_text));
  }
  // Scale bar: metres per user unit at this zoom and latitude.
  const mPerUnit = (156543.03392 * Math.cos((midLat * Math.PI) / 180)) / 2 ** z;
  const target = 120 * u * mPerUnit;
  const nice = [1, 2, 5].flatMap((m) => [1, 10, 100, 1000, 10000].map((e) => m * e))
    .sort((a, b) => a - b).filter((n) => n <= target).pop() || 1;
  const len = nice / mPerUnit;
  const sx = vb[0] + 16 * u, sy = vb[1] + vh - 16 * u;
  svg.append(s("g", { class: "scale" },
    s("line", { x1: sx, y1: sy, x2: sx + len, y2: sy, stroke: "#334155", "stroke-width": 3,
      "vector-effect": "non-scaling-stroke" }),
    s("text", { x: sx, y: sy - 6 * u, "font-size": 12 * u, fill: "#334155" },
      nice >= 1000 ? `${nice / 1000} km` : `${nice} m`)));
  return h("div", { class: "map-wrap" }, svg,
    h("div", { class: "legend" },
      h("span", {}, h("i", { style: "background:#2563eb" }), `track (${pts.length} GPS points)`),
      h("span", {}, h("i", { style: "background:#15803d" }), "start"),
      h("span", {}, h("i", { style: "background:#111827" }), "end"),
      h("span", {}, h("i", { style: "background:#f59e0b" }), `sightings (${spots.length})`),
      h("span", {}, h("i", { style: "background:#f97316" }), "watchlist")));
}
