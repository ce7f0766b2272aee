// The live view's cameras card: each relay camera with its newest stored sightings.
// Fed by the live feed's `cameras` (see docs/relay.md); uses the page helpers of app.js
// (h, table, empty, plateLink, fmtTime).
"use strict";

function renderCameras(cams) {
  return cams.length ? h("div", {}, cams.map((c) =>
    h("div", { class: "camera", "data-camera": c.name },
      h("h3", {}, c.name, h("span", { class: "muted" }, ` · ${c.n_sightings} sightings`)),
      c.last.length ? table(["Plate", "Seen", "Conf#", "Reads#"],
        c.last.map((sg) => h("tr", { "data-sighting": sg.id },
          h("td", {}, plateLink(sg.plate_text)),
          h("td", { class: "muted" }, fmtTime(sg.last_utc_ms)),
          h("td", { class: "num" }, sg.confidence.toFixed(2)),
          h("td", { class: "num" }, sg.n_reads)))) : empty("no plate yet"))))
    : empty("no live camera has stored a sighting");
}
