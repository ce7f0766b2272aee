// The live view's Events card: where events go (MQTT, webhooks) and how delivery is doing,
// and the newest events. Fed by the live feed's `events` (see docs/events.md); uses the
// page helpers of app.js (h, table, badge, empty, plateLink, videoLink, fmtIso).
"use strict";

function eventSubject(e) {
  if (e.plate_text) {
    const where = e.camera ? h("span", { class: "muted" }, ` at ${e.camera}`)
      : e.video_id ? [" in ", videoLink(e.video_id)] : null;
    const watched = e.type === "watchlist_hit"
      ? h("span", { class: "muted" }, e.distance ? ` ≈ ${e.watched}` : " (exact)") : null;
    return [plateLink(e.plate_text), watched, where];
  }
  if (e.worker_id) return h("span", { class: "mono" }, `${e.kind} ${e.worker_id}`);
  const n = e.sightings == null ? "" : ` · ${e.sightings} sighting(s)`;
  return [videoLink(e.video_id), h("span", { class: "muted" }, e.error ? ` · ${e.error}` : n)];
}

function deliveryState(d) {
  if (d.connected === true) return badge("connected");
  if (d.connected === false) return badge("disconnected");
  return d.last_error ? badge("retry") : badge("ready");
}

function renderEvents(ev) {
  if (!ev) return empty("events are not running");
  const sinks = ev.destinations.length ? table(
    ["Destination", "State", "Queued#", "Delivered#", "Dropped#", "Failed#", "Last error"],
    ev.destinations.map((d) => h("tr", { "data-sink": d.kind },
      h("td", { class: "mono" }, d.name),
      h("td", {}, deliveryState(d)),
      h("td", { class: "num", "data-col": "queued" }, d.queued),
      h("td", { class: "num", "data-col": "delivered" }, d.delivered),
      h("td", { class: "num", "data-col": "dropped" }, d.dropped),
      h("td", { class: "num", "data-col": "failed" }, d.failed),
      h("td", { class: "muted" }, d.last_error || "—"))))
    : empty("no MQTT broker or webhook set (DASHCAM_MQTT_URL, DASHCAM_WEBHOOK_URLS)");
  const recent = ev.recent.length ? table(["#", "When", "Event", "What"],
    ev.recent.map((e) => h("tr", { "data-event": e.type },
      h("td", { class: "mono muted" }, e.seq),
      h("td", { class: "muted" }, fmtIso(e.at)),
      h("td", {}, badge(e.type)),
      h("td", {}, eventSubject(e)))))
    : empty("no event yet");
  return h("div", {}, h("p", { class: "muted" }, `${ev.published} published`), sinks, recent);
}
