"""The overlay's date/time/speed/position parser and the clock it gives a video."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashcam.domain.overlay_clock import (
    DateOrder,
    OverlayReading,
    overlay_clock,
    parse_overlay,
)
from dashcam.media.overlay_burn import ClipOverlay, ClockFormat, clock_text, overlay_line


def ms(*args: int) -> int:
    return round(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2024/05/17 08:30:12", ms(2024, 5, 17, 8, 30, 12)),
        ("2024-05-17 08:30:12", ms(2024, 5, 17, 8, 30, 12)),
        ("17.05.2024 08:30:12", ms(2024, 5, 17, 8, 30, 12)),
        ("7/27/2018 4:11:12 PM", ms(2018, 7, 27, 16, 11, 12)),
        ("7/27/2018 12:01:00 AM", ms(2018, 7, 27, 0, 1, 0)),
        ("12/1/2019 12:30:45 PM", ms(2019, 12, 1, 12, 30, 45)),
        ("27/07/2018 16:11:12", ms(2018, 7, 27, 16, 11, 12)),  # month 27 cannot be
        ("2024/05/17 08:30", ms(2024, 5, 17, 8, 30)),
        # separators and spaces lost by OCR
        ("7272018 41112PM", ms(2018, 7, 27, 16, 11, 12)),
        ("7/27/2018 41112 PM", ms(2018, 7, 27, 16, 11, 12)),
        ("20240517083012", ms(2024, 5, 17, 8, 30, 12)),
        ("2024/0517 08:3012", ms(2024, 5, 17, 8, 30, 12)),
        ("17052024 083012", ms(2024, 5, 17, 8, 30, 12)),
        ("2O24/05/17 O8:30:12", ms(2024, 5, 17, 8, 30, 12)),  # O for 0
        ("17.05.2024 08.30.12", ms(2024, 5, 17, 8, 30, 12)),
    ],
)
def test_parse_overlay_reads_date_and_time(text: str, shown: int) -> None:
    r = parse_overlay(text)
    assert r is not None and r.shown_ms == shown


@pytest.mark.parametrize(
    ("text", "order", "shown"),
    [
        ("05/06/2024 10:00:00", DateOrder.MDY, ms(2024, 5, 6, 10)),
        ("05/06/2024 10:00:00", DateOrder.DMY, ms(2024, 6, 5, 10)),
        ("05/06/2024 10:00:00", None, ms(2024, 5, 6, 10)),
        ("05.06.2024 10:00:00", None, ms(2024, 6, 5, 10)),
    ],
)
def test_date_order(text: str, order: DateOrder | None, shown: int) -> None:
    r = parse_overlay(text, order)
    assert r is not None and r.shown_ms == shown


@pytest.mark.parametrize(
    ("text", "speed", "lat", "lon"),
    [
        ("2024/05/17 08:30:12 56 km/h", 56.0, None, None),
        ("2024/05/17 08:30:12 56KMH", 56.0, None, None),
        ("7/27/2018 4:11:12 PM 35 MPH", pytest.approx(56.33, abs=0.01), None, None),
        ("2024/05/17 08:30:12 N51.50070 W0.12460", None, 51.5007, -0.1246),
        ("17.05.2024 08:30:12 51.50070N 0.12460E 40km/h", 40.0, 51.5007, 0.1246),
        ("2024/05/17 08:30:12 -33.86880, 151.20930", None, -33.8688, 151.2093),
    ],
)
def test_speed_and_position(
    text: str, speed: float | None, lat: float | None, lon: float | None
) -> None:
    r = parse_overlay(text)
    assert r is not None
    assert r.shown_ms == ms(2024, 5, 17, 8, 30, 12) or "2018" in text
    assert (r.speed_kmh, r.lat, r.lon) == (speed, lat, lon)


@pytest.mark.parametrize(
    "text",
    ["", "KX52ABC", "DASHCAM", "2024/13/45 08:30:12", "7/27/2018 25:11:12", "13:11:12 PM 7272018"],
)
def test_not_a_clock(text: str) -> None:
    r = parse_overlay(text)
    assert r is None or r.shown_ms is None


@pytest.mark.parametrize("fmt", list(ClockFormat))
def test_every_burned_format_reads_back(fmt: ClockFormat) -> None:
    """What the clip maker burns (each format, with speed) parses to the same second."""
    t = datetime(2023, 11, 24, 19, 5, 7, tzinfo=UTC)
    text = overlay_line(ClipOverlay(fmt, speed="mph"), t, None)
    r = parse_overlay(text)
    assert r is not None and r.shown_ms == ms(2023, 11, 24, 19, 5, 7)
    squeezed = text.replace("/", "").replace(":", "").replace(".", "").replace("-", "")
    r = parse_overlay(squeezed)
    assert r is not None and r.shown_ms == ms(2023, 11, 24, 19, 5, 7), squeezed
    assert clock_text(fmt, t) in text


def test_clock_is_median_of_frames_and_drops_misreads() -> None:
    start_s = 1_700_000_000.37  # the clock at the first frame
    readings: list[tuple[float, OverlayReading | None]] = [
        (t, OverlayReading(int(start_s + t) * 1000)) for t in (0.0, 0.7, 1.4, 2.1, 2.8, 3.5)
    ]
    readings.append((4.2, OverlayReading(int(start_s + 4.2 + 3600) * 1000)))  # misread hour
    readings.append((4.9, None))  # nothing read
    clock = overlay_clock(readings)
    assert clock is not None
    assert (clock.n_used, clock.n_read) == (6, 7)
    assert abs(clock.start_ms - start_s * 1000) <= 150


def test_no_clock_when_readings_disagree() -> None:
    readings = [(0.0, OverlayReading(1_000_000)), (1.0, OverlayReading(9_000_000))]
    assert overlay_clock(readings) is None
    assert overlay_clock([(0.0, OverlayReading(None, speed_kmh=50.0))]) is None
