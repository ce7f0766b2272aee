"""GPX 1.0/1.1 tracks, read and written with ``gpxpy``.

Reading keeps track and route points with a time (points without one, and positions
out of range, are counted as rejected); speed and course come from GPX 1.0 elements or
any extension element of that name (Garmin ``gpxtpx:speed``). Writing gives GPX 1.1
with speed and course in a Garmin ``TrackPointExtension`` v2.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import gpxpy
import gpxpy.gpx

from dashcam.domain.gps import GpsFix, GpsTrack, valid_lat_lon

TPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _root_name(text: str) -> str:
    for _event, el in ET.iterparse(io.StringIO(text), events=("start",)):
        return _local(el.tag)
    return ""


def _extension_value(elements: Iterable[ET.Element], name: str) -> float | None:
    for ext in elements:
        for el in ext.iter():
            if _local(el.tag) == name and el.text and el.text.strip():
                return float(el.text)
    return None


def _points(doc: gpxpy.gpx.GPX) -> Iterator[gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXRoutePoint]:
    for trk in doc.tracks:
        for seg in trk.segments:
            yield from seg.points
    for rte in doc.routes:
        yield from rte.points


def parse_gpx(text: str) -> tuple[list[GpsFix], int]:
    """``trkpt``/``rtept`` with ``time``, optional ``ele``, ``speed``, ``course`` (GPX 1.0,
    or any extension element of that name in 1.1). Points without time are rejected.
    ValueError for XML that is not GPX or cannot be parsed."""
    try:
        root = _root_name(text)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from exc
    if root != "gpx":
        raise ValueError(f"XML root is <{root}>, not <gpx>")
    try:
        doc = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise ValueError(str(exc)) from exc
    fixes: list[GpsFix] = []
    rejected = 0
    for p in _points(doc):
        when = p.time
        if when is None or not valid_lat_lon(p.latitude, p.longitude):
            rejected += 1
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            # route points have no speed field; GPX 1.1 keeps both in extensions
            speed = getattr(p, "speed", None)
            if speed is None:
                speed = _extension_value(p.extensions, "speed")
            course = getattr(p, "course", None)
            if course is None:
                course = _extension_value(p.extensions, "course")
        except ValueError:
            rejected += 1
            continue
        fixes.append(
            GpsFix(
                timestamp_ms=round(when.timestamp() * 1000),
                lat=float(p.latitude),
                lon=float(p.longitude),
                speed_mps=speed,
                bearing_deg=course,
                altitude_m=p.elevation,
            )
        )
    return fixes, rejected


def render_gpx(track: GpsTrack) -> str:
    """GPX 1.1, one ``trk``/``trkseg``; UTC times to the millisecond."""
    doc = gpxpy.gpx.GPX()
    doc.creator = "dashcam"
    doc.nsmap["gpxtpx"] = TPX_NS
    seg = gpxpy.gpx.GPXTrackSegment()
    for f in track:
        point = gpxpy.gpx.GPXTrackPoint(
            latitude=f.lat,
            longitude=f.lon,
            elevation=f.altitude_m,
            time=datetime.fromtimestamp(f.timestamp_ms // 1000, tz=UTC).replace(
                microsecond=f.timestamp_ms % 1000 * 1000
            ),
        )
        if f.speed_mps is not None or f.bearing_deg is not None:
            ext = ET.Element(f"{{{TPX_NS}}}TrackPointExtension")
            if f.speed_mps is not None:
                ET.SubElement(ext, f"{{{TPX_NS}}}speed").text = repr(f.speed_mps)
            if f.bearing_deg is not None:
                ET.SubElement(ext, f"{{{TPX_NS}}}course").text = repr(f.bearing_deg)
            point.extensions.append(ext)
        seg.points.append(point)
    trk = gpxpy.gpx.GPXTrack()
    trk.segments.append(seg)
    doc.tracks.append(trk)
    return doc.to_xml(version="1.1") + "\n"
