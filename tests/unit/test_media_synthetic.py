"""Pure parts of the synthetic clip maker and metadata parsing: plates, texts, NMEA lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from dashcam.domain.gps import GpsFix
from dashcam.media.drive import nmea_lines
from dashcam.media.metadata import parse_creation_time
from dashcam.media.plates import DIGITS, LETTERS, plate_texts, render_plate

_FORMATS = r"[A-Z]{3}\d{4}|\d[A-Z]{3}\d{3}|[A-Z]{2}\d{2}[A-Z]{3}|[A-Z]{2}\d{3}[A-Z]{2}"


def test_plate_texts_are_distinct_unambiguous_and_seeded() -> None:
    texts = plate_texts(40, np.random.default_rng(5))
    assert len(set(texts)) == 40
    for text in texts:
        assert 6 <= len(text) <= 7
        assert set(text) <= set(LETTERS + DIGITS)
        assert not set(text) & set("OI01Q")
        assert re.fullmatch(_FORMATS, text)
    assert plate_texts(40, np.random.default_rng(5)) == texts
    assert plate_texts(40, np.random.default_rng(6)) != texts


@pytest.mark.parametrize("height", [24, 40, 60])
def test_render_plate_is_light_plate_with_dark_text(height: int) -> None:
    plate = render_plate("KX52ABC", height)
    assert plate.dtype == np.uint8
    assert plate.shape[0] == height and plate.shape[2] == 3
    assert 3.5 <= plate.shape[1] / plate.shape[0] <= 4.5
    gray = plate.mean(axis=2)
    assert np.median(gray) > 200  # light background
    assert gray[:, 0].mean() < 160  # thin dark border
    # the characters are dark and span most of the plate height
    m = max(2, height // 12)  # inside the border
    dark_rows = np.where((gray[m:-m, m:-m] < 100).any(axis=1))[0]
    assert 0.55 * height <= dark_rows[-1] - dark_rows[0] + 1 <= 0.85 * height
    dark_cols = np.where((gray[m:-m, m:-m] < 100).sum(axis=0) > 1)[0]
    assert dark_cols[-1] - dark_cols[0] > 0.7 * plate.shape[1]


def test_render_plate_differs_per_text_and_rejects_tiny() -> None:
    assert not np.array_equal(render_plate("ABC2345"), render_plate("ABC2346"))
    with pytest.raises(ValueError, match="height_px"):
        render_plate("ABC2345", 4)


def _checksum_ok(line: str) -> bool:
    body, cs = line.split("$", 1)[1].split("*")
    x = 0
    for ch in body:
        x ^= ord(ch)
    return f"{x:02X}" == cs


def test_nmea_lines_prefix_checksum_and_coordinates() -> None:
    fix = GpsFix(1715934600000, 51.5007, -0.1246, speed_mps=13.0, bearing_deg=75.0, altitude_m=21.5)
    rmc, gga = nmea_lines([fix])
    assert rmc.startswith("[1715934600000]$GPRMC,083000.00,A,5130.04200,N,00007.47600,W,")
    assert rmc.split(",")[9] == "170524"
    assert abs(float(rmc.split(",")[7]) - 13.0 / (1852 / 3600)) < 0.01
    assert gga.startswith("[1715934600000]$GPGGA,083000.00,5130.04200,N,00007.47600,W,1,")
    assert ",21.5,M," in gga
    assert _checksum_ok(rmc) and _checksum_ok(gga)
    assert not _checksum_ok(rmc.replace("5130", "5131"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-17T08:30:00.000000Z", datetime(2024, 5, 17, 8, 30, tzinfo=UTC)),
        ("2024-05-17 08:30:00", datetime(2024, 5, 17, 8, 30, tzinfo=UTC)),
        ("2024-05-17T10:30:00+02:00", datetime(2024, 5, 17, 8, 30, tzinfo=UTC)),
        ("1970-01-01T00:00:00.000000Z", None),  # camera without a clock
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_creation_time(text: str | None, expected: datetime | None) -> None:
    got = parse_creation_time(text)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None
