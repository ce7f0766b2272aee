"""A self-contained HTML report: sightings with crops, and the GPS track as inline SVG.

No scripts, fonts or tiles from elsewhere: it opens offline from the output folder or
as an e-mail attachment (crops are embedded as data URIs).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dashcam.domain.sighting import Sighting

_W, _H, _PAD = 720, 420, 24


def _fmt_utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_s(s: float) -> str:
    m, sec = divmod(s, 60)
    return f"{int(m):d}:{sec:04.1f}"


def track_svg(points: Sequence[tuple[float, float]], sightings: Sequence[Sighting]) -> str:
    """SVG of a lat/lon polyline (equirectangular, north up) with a numbered marker per
    sighting that has a position. Empty string when there is no track."""
    marks = [(i + 1, s) for i, s in enumerate(sightings) if s.position is not None]
    all_pts = list(points) + [(s.position.lat, s.position.lon) for _, s in marks if s.position]
    if len(all_pts) < 1:
        return ""
    lat0 = sum(p[0] for p in all_pts) / len(all_pts)
    kx = math.cos(math.radians(lat0))
    xs = [p[1] * kx for p in all_pts]
    ys = [p[0] for p in all_pts]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min((_W - 2 * _PAD), (_H - 2 * _PAD)) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def proj(lat: float, lon: float) -> tuple[float, float]:
        return (_W / 2 + (lon * kx - cx) * scale, _H / 2 - (lat - cy) * scale)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj(*p) for p in points))
    parts = [
        f'<svg class="track" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="GPS track">',
        f'<rect width="{_W}" height="{_H}" fill="#f4f6f8"/>',
    ]
    if len(points) >= 2:
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#2b6cb0" stroke-width="3" '
            'stroke-linejoin="round"/>'
        )
        sx, sy = proj(*points[0])
        parts.append(
            f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="5" fill="#2f855a"><title>start'
            "</title></circle>"
        )
    for n, s in marks:
        assert s.position is not None
        x, y = proj(s.position.lat, s.position.lon)
        label = html.escape(s.plate_text or "plate")
        parts.append(
            f'<g class="marker"><circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="#c53030" '
            f'stroke="white" stroke-width="2"><title>{n}: {label}</title></circle>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" '
            f'fill="white" font-family="sans-serif">{n}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _crop_uri(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_report(
    *,
    title: str,
    video_name: str,
    sightings: Sequence[Sighting],
    track_points: Sequence[tuple[float, float]],
    output_dir: Path,
    notes: Sequence[str] = (),
) -> str:
    """The report's HTML. Crop paths in ``sightings`` are relative to ``output_dir``."""
    rows = []
    for i, s in enumerate(sightings, start=1):
        crop = _crop_uri(output_dir / s.best_crop_path if s.best_crop_path else None)
        img = f'<img src="{crop}" alt="crop of {html.escape(s.plate_text)}">' if crop else "—"
        place = (
            f"{s.position.lat:.6f}, {s.position.lon:.6f}" if s.position is not None else "unknown"
        )
        rows.append(
            "<tr>"
            f"<td>{i}</td><td>{img}</td>"
            f'<td class="plate">{html.escape(s.plate_text) or "(not read)"}</td>'
            f"<td>{s.confidence:.2f}</td>"
            f"<td>{_fmt_s(s.first_s)} – {_fmt_s(s.last_s)}<br><small>best read "
            f"{_fmt_utc(s.best_utc_ms)}</small></td>"
            f"<td>{place}</td><td>{s.n_reads}</td>"
            "</tr>"
        )
    svg = track_svg(track_points, sightings) or "<p>No GPS track.</p>"
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1a202c; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td, th {{ border-bottom: 1px solid #e2e8f0; padding: .4rem .8rem; text-align: left; }}
td.plate {{ font-family: monospace; font-size: 1.2rem; font-weight: bold; }}
img {{ max-height: 48px; border: 1px solid #a0aec0; }}
svg.track {{ max-width: 100%; height: auto; border: 1px solid #cbd5e0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Video: <code>{html.escape(video_name)}</code> — {len(sightings)} sighting(s)</p>
<ul>{note_html}</ul>
<h2>Track</h2>
{svg}
<h2>Sightings</h2>
<table><thead><tr><th>#</th><th>Best crop</th><th>Plate</th><th>Confidence</th>
<th>Time (first – last)</th><th>Position (best read)</th><th>Reads</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""
