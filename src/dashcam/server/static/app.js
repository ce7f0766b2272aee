// dashcam dashboard: vanilla JS, no build step, no external URLs.
// Data comes from the server's JSON API and the live feed /api/live (server-sent events
// read with fetch streaming), through fetchAuthed (session.js, loaded first).
"use strict";

const view = document.getElementById("view");
const state = { live: null, config: null, watch: new Set(), route: 0, timers: [],
  seenMatch: null, imgCache: new Map() };

// --- DOM helpers (text only: never innerHTML with data) -----------------------------------
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid !== null && kid !== undefined) {
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
  }
  return el;
}
const badge = (status) => h("span", { class: `badge ${status}` }, status);
const plateTag = (text) => h("span", { class: "plate" }, text);
const plateLink = (text) => h("a", { href: `#/plate/${encodeURIComponent(text)}` }, plateTag(text));
// a live camera's sightings are stored under "camera:<name>": no video page to link to
const videoLink = (id) => (id.startsWith("camera:") ? h("span", { class: "mono" }, id) :
  h("a", { href: `#/video/${encodeURIComponent(id)}`, class: "mono" }, id));
const empty = (text) => h("div", { class: "empty" }, text);
const card = (title, ...kids) => h("section", { class: "card" }, h("h2", {}, title), ...kids);
function table(headers, rows, attrs) {
  return h("table", attrs || {},
    h("thead", {}, h("tr", {}, headers.map((c) =>
      h("th", { class: c.endsWith("#") ? "num" : null }, c.replace(/#$/, ""))))),
    h("tbody", {}, rows));
}

function fmtTime(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}
function fmtIso(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : "—"; }
// A video's recorded time and the clock it came from (the GPS track's, the container's,
// the one burned into its frames, or its file name's).
function fmtRecorded(v) {
  if (!v.recorded_at) return "—";
  const clock = {
    container: "container clock", gps: "GPS clock", overlay: "overlay clock",
    filename: "file name clock",
  }[v.recorded_clock];
  return `${fmtIso(v.recorded_at)} UTC${clock ? ` (${clock})` : ""}`;
}
// The moment a sighting's time and place are shown for: its best read (the crop's).
const bestMs = (sg) => (sg.best_utc_ms ?? sg.first_utc_ms);
const bestS = (sg) => (sg.best_s ?? sg.first_s);
function fmtAge(s) {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60);
  return m ? `${m} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}
function fmtPlace(pos) {
  if (!pos) return "—";
  return `${pos.lat.toFixed(5)}, ${pos.lon.toFixed(5)}`;
}
function baseName(p) { return p ? p.split(/[\\/]/).pop() : "—"; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(path, opts) {
  const r = await fetchAuthed(path, opts);
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(`${r.status}: ${detail}`);
  }
  return r.json();
}
async function cropImg(url, alt) {
  const img = h("img", { alt });
  if (!url) return empty("no crop");
  let src = state.imgCache.get(url);
  if (!src) {
    const r = await fetchAuthed(url);
    if (!r.ok) return empty("crop missing");
    src = URL.createObjectURL(await r.blob());
    state.imgCache.set(url, src);
  }
  img.src = src;
  return img;
}
function fillCrop(box, url, alt) {
  cropImg(url, alt).then((el) => box.replaceChildren(el)).catch(() => {});
  return box;
}

// --- live feed --------------------------------------------------------------------------------
function setConn(on) {
  const el = document.getElementById("conn");
  el.className = `conn ${on ? "on" : "off"}`;
  el.title = on ? "live feed connected" : "live feed disconnected";
}
function onLive(data) {
  state.live = data;
  // A match is new when its (watched plate, sighting) pair was not in an earlier event.
  const matches = data.watch_matches || [];
  const keyOf = (m) => `${m.watched}:${m.sighting_id}`;
  if (state.seenMatch === null) state.seenMatch = new Set(matches.map(keyOf));
  const fresh = matches.filter((m) => !state.seenMatch.has(keyOf(m)));
  if (fresh.length) showAlert(fresh);
  if (currentRoute().name === "live") renderLiveData(data);
}
function showAlert(fresh) {
  fresh.forEach((m) => state.seenMatch.add(`${m.watched}:${m.sighting_id}`));
  const bar = document.getElementById("alert-bar");
  const m = fresh[0];
  bar.replaceChildren("Watchlist match: ", plateLink(m.plate_text),
    ` seen in `, videoLink(m.video_id),
    fresh.length > 1 ? ` (+${fresh.length - 1} more)` : "", "  ",
    h("button", { class: "ghost", onclick: () => {
      bar.hidden = true;
    } }, "Dismiss"));
  bar.hidden = false;
}
async function liveLoop() {
  for (;;) {
    try {
      const r = await fetchAuthed("/api/live", { cache: "no-store" });
      if (!r.ok || !r.body) throw new Error(`live: ${r.status}`);
      setConn(true);
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart()).join("\n");
          if (data) onLive(JSON.parse(data));
        }
      }
    } catch (e) { console.warn(e); }
    setConn(false);
    await sleep(2000);
  }
}

// --- routing ------------------------------------------------------------------------------------
function currentRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("?");
  const [name, arg] = parts[0].split("/");
  const params = new URLSearchParams(parts[1] || "");
  return { name: name || "live", arg: arg ? decodeURIComponent(arg) : null, params };
}
async function render() {
  const token = ++state.route;
  state.timers.forEach(clearInterval);
  state.timers = [];
  const r = currentRoute();
  const nav = { live: "live", videos: "videos", video: "videos", plates: "plates",
    plate: "plates", watchlist: "watchlist" }[r.name];
  document.querySelectorAll("[data-nav]").forEach((a) =>
    a.classList.toggle("active", a.dataset.nav === nav));
  const pages = { live: renderLive, videos: renderVideos, video: renderVideo,
    plates: renderPlates, plate: renderPlate, watchlist: renderWatchlist };
  const page = pages[r.name] || renderLive;
  try {
    await page(r, () => token === state.route);
  } catch (e) {
    if (token === state.route) view.replaceChildren(h("p", { class: "error" }, String(e)));
  }
}
function every(ms, fn) { state.timers.push(setInterval(fn, ms)); }
async function loadWatch() {
  const wl = await api("/api/watchlist");
  state.watch = new Set(wl.entries.map((e) => e.plate));
  return wl;
}

// --- live view -------------------------------------------------------------------------------
function renderLive() {
  document.title = "Live · dashcam";
  view.replaceChildren(
    h("h1", {}, "Live system"),
    h("div", { class: "grid" },
      card("Workers", h("div", { id: "workers" }, empty("waiting for the live feed…"))),
      card("Queue", h("div", { id: "backlog" }, empty("…"))),
      card("Throughput, tasks done per minute (last 10 min)", h("div", { id: "throughput" })),
      card("Recent tasks", h("div", { id: "recent-tasks" })),
      card("Watchlist matches", h("div", { id: "matches" })),
      card("Cameras, last plates", h("div", { id: "cameras" })),
      card("Recent failures", h("div", { id: "failures" })),
      card("Processing now", h("div", { id: "processing" })),
      card("Events", h("div", { id: "events" }, empty("…")))));
  if (state.live) renderLiveData(state.live);
}
function renderLiveData(d) {
  const put = (id, el) => { const box = document.getElementById(id); if (box) box.replaceChildren(el); };
  put("workers", d.workers.length ? table(
    ["Worker", "Kind", "State", "Task", "Heartbeat#"],
    d.workers.map((w) => h("tr", { "data-worker": w.worker_id, class: w.stale ? "stale" : null },
      h("td", { class: "mono" }, w.worker_id),
      h("td", {}, w.kind),
      h("td", {}, w.stale ? badge("stale") : badge(w.state === "busy" ? "running" : w.state)),
      h("td", {}, w.task_id ? `${w.task_type || ""} #${w.task_id}` : "—"),
      h("td", { class: "num age" }, `${fmtAge(w.heartbeat_age_s)} ago`)))) :
    empty("no worker has reported yet"));

  const q = d.queue;
  const types = Object.keys(q.tasks).sort();
  put("backlog", types.length ? table(
    ["Task type", "Backlog#", "Running#", "Retry#", "Done#", "Dead#", "Per min#"],
    types.map((tt) => {
      const c = q.tasks[tt];
      return h("tr", { "data-type": tt },
        h("td", { class: "mono" }, tt),
        h("td", { class: "num", "data-col": "backlog" }, q.backlog[tt] || 0),
        h("td", { class: "num", "data-col": "running" }, c.running || 0),
        h("td", { class: "num", "data-col": "retry" }, c.retry || 0),
        h("td", { class: "num", "data-col": "done" }, c.done || 0),
        h("td", { class: "num", "data-col": "dead" }, c.dead || 0),
        h("td", { class: "num" }, (q.throughput_per_min[tt] || 0).toFixed(1)));
    })) : empty("no tasks yet"));

  const series = d.throughput_per_minute || {};
  const sTypes = Object.keys(series).sort();
  put("throughput", sTypes.length ? h("div", {}, sTypes.map((tt) => {
    const v = series[tt];
    const max = Math.max(1, ...v);
    return h("div", { class: "tp-row" },
      h("span", { class: "mono" }, tt),
      h("div", { class: "spark", title: v.join(", ") },
        v.map((n, i) => h("span", { style: `height:${Math.max(2, (100 * n) / max)}%`,
          title: `${v.length - 1 - i} min ago: ${n}` }))),
      h("span", { class: "num" }, `${v[v.length - 1]} /min`));
  })) : empty("nothing finished in the last 10 minutes"));

  put("recent-tasks", d.recent_tasks.length ? table(
    ["#", "Type", "Status", "Video", "Worker", "Updated"],
    d.recent_tasks.map((t) => h("tr", { "data-task": t.id },
      h("td", { class: "mono" }, t.id),
      h("td", { class: "mono" }, t.task_type),
      h("td", { class: "status" }, badge(t.status)),
      h("td", {}, t.video_id ? videoLink(t.video_id) : "—"),
      h("td", { class: "mono muted" }, t.worker_id || "—"),
      h("td", { class: "muted" }, fmtIso(t.updated_at))))) : empty("no tasks yet"));

  put("matches", d.watch_matches.length ? table(
    ["Plate", "Watched", "When", "Video"],
    d.watch_matches.map((m) => h("tr", { class: "watch", "data-sighting": m.sighting_id },
      h("td", {}, plateLink(m.plate_text)),
      h("td", {}, m.watched === m.plate_text ? "exact" : `≈ ${m.watched}`,
        m.note ? h("span", { class: "muted" }, ` — ${m.note}`) : null),
      h("td", { class: "muted" }, fmtTime(m.first_utc_ms)),
      h("td", {}, videoLink(m.video_id))))) : empty("no watched plate seen"));

  put("cameras", renderCameras(d.cameras || [])); // cameras.js

  put("failures", d.failures.length ? h("div", {}, d.failures.map((f) =>
    h("div", { class: "failure", "data-task": f.id },
      h("div", {}, badge(f.status), " ", h("span", { class: "mono" }, `${f.task_type} #${f.id}`),
        f.video_id ? [" · ", videoLink(f.video_id)] : null,
        h("span", { class: "muted" }, ` · attempt ${f.attempts}/${f.max_attempts} · ${fmtIso(f.updated_at)}`)),
      h("pre", {}, f.error))))
    : empty("no failures"));

  put("processing", d.processing.length ? table(["Video", "File", "Progress"],
    d.processing.map((v) => h("tr", {},
      h("td", {}, videoLink(v.id)), h("td", { class: "muted" }, baseName(v.path)),
      h("td", {}, progressBar(v.progress)))))
    : empty("no video is being processed"));
  put("events", renderEvents(d.events)); // events.js
}
function progressBar(p) {
  const pct = Math.round(100 * (p || 0));
  return h("span", {}, `${pct}%`,
    h("span", { class: "progress" }, h("span", { style: `width:${pct}%` })));
}

// --- videos --------------------------------------------------------------------------------------
async function renderVideos(r, current) {
  document.title = "Videos · dashcam";
  const box = h("div", {}, empty("loading…"));
  view.replaceChildren(h("h1", {}, "Videos"), h("section", { class: "card" }, box));
  const load = async () => {
    const videos = await api("/videos");
    if (!current()) return;
    box.replaceChildren(videos.length ? table(
      ["Video", "File", "Status", "Duration", "Recorded", "Sightings#", "Location"],
      videos.map((v) => h("tr", { "data-video": v.id },
        h("td", {}, videoLink(v.id)),
        h("td", {}, baseName(v.path)),
        h("td", {}, badge(v.status), v.status === "processing" ? progressBar(v.progress) : null,
          v.error ? h("div", { class: "error" }, v.error.slice(0, 120)) : null),
        h("td", {}, fmtDuration(v.duration_s)),
        h("td", { class: "muted" }, fmtRecorded(v)),
        h("td", { class: "num" }, v.n_sightings),
        h("td", { class: "mono muted", title: v.location || "" }, v.location || "—"))),
      { id: "videos-table" }) : empty("no videos yet: dashcam ingest <folder>"));
  };
  await load();
  every(5000, () => load().catch(() => {}));
}

async function renderVideo(r, current) {
  const id = r.arg;
  document.title = `${id} · dashcam`;
  const [v, sightings] = await Promise.all([
    api(`/videos/${encodeURIComponent(id)}`),
    api(`/videos/${encodeURIComponent(id)}/sightings`),
    loadWatch().catch(() => null),
    loadConfig(),
  ]);
  if (!v.track.length) v.track = (await api(`/api/videos/${encodeURIComponent(id)}/track`)).track;
  if (!current()) return;
  const select = (sid) => {
    document.querySelectorAll(".marker").forEach((m) =>
      m.classList.toggle("selected", m.dataset.sighting === String(sid)));
    document.querySelectorAll(".crop-card").forEach((c) =>
      c.classList.toggle("selected", c.dataset.sighting === String(sid)));
    const el = document.querySelector(`.crop-card[data-sighting="${sid}"]`);
    if (el) el.scrollIntoView({ block: "nearest", behavior: "smooth" });
  };
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Status"), h("dd", {}, badge(v.status),
      v.status === "processing" ? progressBar(v.progress) : null),
    h("dt", {}, "File"), h("dd", { class: "mono" }, v.path),
    h("dt", {}, "Duration"), h("dd", {}, fmtDuration(v.duration_s)),
    h("dt", {}, "Resolution"), h("dd", {}, v.width ? `${v.width}×${v.height} @ ${v.fps} fps` : "—"),
    h("dt", {}, "Recorded"), h("dd", { id: "recorded" }, fmtRecorded(v)),
    h("dt", {}, "GPS points"), h("dd", {}, v.track.length),
    h("dt", {}, "Sightings"), h("dd", {}, sightings.length),
    h("dt", {}, "Location"), h("dd", { class: "mono" }, v.location || "—"),
    v.error ? [h("dt", {}, "Error"), h("dd", { class: "error" }, v.error)] : null);
  const crops = sightings.length ? h("div", { class: "crops", id: "crops" }, sightings.map((sg) =>
    h("div", { class: `crop-card${state.watch.has(sg.plate_text) ? " watch" : ""}`,
      "data-sighting": sg.id, onclick: () => select(sg.id) },
      fillCrop(h("div", { class: "img" }), sg.crop_url, sg.plate_text),
      h("div", { class: "meta" }, plateLink(sg.plate_text),
        state.watch.has(sg.plate_text) ? [" ", badge("watch")] : null,
        h("div", {}, `${sg.first_s.toFixed(1)}–${sg.last_s.toFixed(1)} s · ${sg.n_reads} reads · ${Math.round(100 * sg.confidence)}%`),
        h("div", { title: "place of the best read (the crop)" },
          `best ${bestS(sg).toFixed(1)} s: ${fmtPlace(sg.position)}`)))))
    : empty("no plates were read in this video");
  view.replaceChildren(
    h("h1", {}, "Video ", h("span", { class: "mono" }, v.id)),
    h("div", { class: "grid" },
      h("section", { class: "card wide" }, h("h2", {}, "GPS track and sightings"),
        trackMap(v.track, sightings, select)),
      card("Details", facts),
      card("Tasks", v.tasks.length ? table(["#", "Type", "Status", "Attempts", "Error"],
        v.tasks.map((t) => h("tr", {}, h("td", { class: "mono" }, t.id),
          h("td", { class: "mono" }, t.task_type), h("td", {}, badge(t.status)),
          h("td", { class: "num" }, `${t.attempts}/${t.max_attempts}`),
          h("td", { class: "error" }, (t.error || "").slice(0, 160))))) : empty("no tasks")),
      h("section", { class: "card wide" }, h("h2", {}, `Best crops (${sightings.length})`), crops)));
}

async function loadConfig() {
  if (!state.config) state.config = await api("/api/config");
  return state.config;
}

// --- plates ----------------------------------------------------------------------------------------
function sightingRows(rows, withDistance) {
  return rows.map((sg) => h("tr", {
    "data-plate": sg.plate_text, "data-sighting": sg.id,
    class: state.watch.has(sg.plate_text) ? "watch" : null },
  h("td", {}, plateLink(sg.plate_text),
    state.watch.has(sg.plate_text) ? [" ", badge("watch")] : null),
  withDistance ? h("td", { class: "num" }, sg.distance) : null,
  h("td", {}, fmtTime(bestMs(sg))),
  h("td", { class: "mono" }, fmtPlace(sg.position)),
  h("td", {}, videoLink(sg.video_id), h("span", { class: "muted" }, ` @ ${bestS(sg).toFixed(1)} s`)),
  h("td", {}, fillCrop(h("div", { class: "thumb" }), sg.crop_url, sg.plate_text))));
}
async function renderPlates(r, current) {
  document.title = "Plates · dashcam";
  const q = (r.params.get("q") || "").toUpperCase();
  const dist = r.params.get("d") || "1";
  const input = h("input", { type: "search", name: "q", value: q, placeholder: "e.g. AB12CDE",
    "aria-label": "plate", autofocus: true });
  const dInput = h("input", { type: "number", name: "d", value: dist, min: 0, max: 4, step: 0.5,
    style: "width:80px", "aria-label": "max distance", title: "max edit distance" });
  const results = h("div", { id: "search-results" },
    empty("Type a plate. Near misses count: one wrong character, O/0, I/1, B/8 …; * and ? are wildcards."));
  view.replaceChildren(h("h1", {}, "Plate search"),
    h("section", { class: "card" },
      h("form", { class: "search-form", onsubmit: (ev) => {
        ev.preventDefault();
        location.hash = `#/plates?q=${encodeURIComponent(input.value.trim())}&d=${dInput.value}`;
      } }, input, h("label", { class: "muted" }, "max distance ", dInput),
      h("button", { type: "submit" }, "Search")),
      results));
  if (!q) return;
  const [hits] = await Promise.all([
    api(`/plates/search?q=${encodeURIComponent(q)}&max_distance=${encodeURIComponent(dist)}`),
    loadWatch().catch(() => null)]);
  if (!current()) return;
  const plates = new Set(hits.map((x) => x.plate_text));
  results.replaceChildren(hits.length ? h("div", {},
    h("p", { class: "muted" }, `${hits.length} sighting(s) of ${plates.size} plate(s) near `,
      plateTag(q)),
    table(["Plate", "Distance#", "Time (best read)", "Place (best read)", "Video", "Crop"],
      sightingRows(hits, true)))
    : empty(`nothing within distance ${dist} of ${q}`));
}

async function renderPlate(r, current) {
  const plate = r.arg.toUpperCase();
  document.title = `${plate} · dashcam`;
  const [p] = await Promise.all([api(`/plates/${encodeURIComponent(plate)}`),
    loadWatch().catch(() => null)]);
  if (!current()) return;
  const watched = state.watch.has(plate);
  const btn = h("button", { class: watched ? "danger" : "", id: "watch-toggle",
    onclick: async () => {
      if (watched) await api(`/api/watchlist/${encodeURIComponent(plate)}`, { method: "DELETE" });
      else {
        await api("/api/watchlist", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ plate }) });
      }
      render();
    } }, watched ? "Remove from watchlist" : "Add to watchlist");
  view.replaceChildren(
    h("h1", {}, "Plate ", plateTag(plate), watched ? [" ", badge("watch")] : null),
    h("p", {}, btn, "  ", h("span", { class: "muted" },
      `${p.sightings.length} sighting(s) in ${p.videos.length} video(s)`)),
    h("section", { class: "card" }, p.sightings.length ?
      table(["Plate", "Time (best read)", "Place (best read)", "Video", "Crop"],
        sightingRows(p.sightings, false),
        { id: "plate-sightings" })
      : empty("no sighting of this exact plate; try the search for near misses")));
}

// --- watchlist -------------------------------------------------------------------------------------
async function renderWatchlist(r, current) {
  document.title = "Watchlist · dashcam";
  const wl = await loadWatch();
  if (!current()) return;
  const plate = h("input", { type: "text", class: "plate-input", name: "plate", required: true,
    placeholder: "plate", "aria-label": "plate to watch" });
  const note = h("input", { type: "text", name: "note", placeholder: "note (optional)",
    "aria-label": "note" });
  const dist = h("input", { type: "number", name: "max_distance", value: 0, min: 0, max: 2,
    step: 0.5, style: "width:80px", "aria-label": "max distance" });
  const err = h("span", { class: "error" });
  view.replaceChildren(h("h1", {}, "Watchlist"),
    h("div", { class: "grid" },
      card("Watched plates",
        h("form", { class: "search-form", id: "watch-form", onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            await api("/api/watchlist", { method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ plate: plate.value, note: note.value || null,
                max_distance: Number(dist.value || 0) }) });
            render();
          } catch (e) { err.textContent = e.message; }
        } }, plate, note, h("label", { class: "muted" }, "fuzzy ", dist),
        h("button", { type: "submit" }, "Watch"), err),
        wl.entries.length ? table(["Plate", "Note", "Fuzzy#", "Added", ""],
          wl.entries.map((e) => h("tr", { "data-plate": e.plate },
            h("td", {}, plateLink(e.plate)), h("td", {}, e.note || "—"),
            h("td", { class: "num" }, e.max_distance), h("td", { class: "muted" }, fmtIso(e.created_at)),
            h("td", {}, h("button", { class: "danger", onclick: async () => {
              await api(`/api/watchlist/${encodeURIComponent(e.plate)}`, { method: "DELETE" });
              render();
            } }, "Remove")))), { id: "watch-table" })
          : empty("no plate is watched")),
      card("Matches", wl.matches.length ? table(["Plate", "Watched", "When", "Video"],
        wl.matches.map((m) => h("tr", { class: "watch" }, h("td", {}, plateLink(m.plate_text)),
          h("td", {}, m.watched), h("td", { class: "muted" }, fmtTime(m.first_utc_ms)),
          h("td", {}, videoLink(m.video_id))))) : empty("no sighting of a watched plate"))));
}

// --- start -------------------------------------------------------------------------------------------
document.getElementById("quick-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("quick-q").value.trim();
  if (q) location.hash = `#/plates?q=${encodeURIComponent(q)}&d=1`;
});
window.addEventListener("hashchange", render);
render(); liveLoop();
