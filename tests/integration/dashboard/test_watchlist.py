"""The watchlist API and its matches (exact and fuzzy) in the API and the live feed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from dashboard_server import KEY, Served
from test_live import read_events

from dashcam.domain.sighting import Position, Sighting


def _sighting(plate: str, track_id: int) -> Sighting:
    return Sighting(
        video_id="drive1",
        track_id=track_id,
        plate_text=plate,
        confidence=0.9,
        first_s=1.0 * track_id,
        last_s=1.0 * track_id + 2,
        best_frame_index=30 * track_id,
        best_xyxy=(10.0, 10.0, 110.0, 40.0),
        n_reads=5,
        first_utc_ms=1_715_954_137_000 + 1000 * track_id,
        position=Position(51.5 + track_id * 1e-4, -0.12),
    )


def test_watch_update_and_remove(serve: Callable[..., Served]) -> None:
    s = serve()
    c = s.client
    r = c.post("/api/watchlist", json={"plate": "ab-12 cde", "note": "stolen"})
    assert r.status_code == 200 and r.json()["plate"] == "AB12CDE"
    r = c.post("/api/watchlist", json={"plate": "AB12CDE", "note": "recovered", "max_distance": 1})
    assert r.status_code == 200
    (entry,) = c.get("/api/watchlist").json()["entries"]
    assert (entry["plate"], entry["note"], entry["max_distance"]) == ("AB12CDE", "recovered", 1)
    assert c.delete("/api/watchlist/ab12cde").status_code == 200
    assert c.delete("/api/watchlist/AB12CDE").status_code == 404
    assert c.get("/api/watchlist").json()["entries"] == []
    assert httpx.get(s.url + "/api/watchlist").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plate": "---"}, "plate"),
        ({"plate": "A" * 40}, "plate"),
        ({"plate": "AB12CDE", "max_distance": 3}, "max_distance"),
    ],
)
def test_bad_entries_are_refused(
    serve: Callable[..., Served], body: dict[str, object], field: str
) -> None:
    r = serve().client.post("/api/watchlist", json=body)
    assert r.status_code == 422 and field in r.json()["detail"]


def test_matches_exact_and_fuzzy_reach_the_live_feed(serve: Callable[..., Served]) -> None:
    s = serve()
    s.st.repo.upsert_video("drive1", "/nas/drive1.mp4")
    s.st.repo.replace_sightings(
        "drive1", [_sighting("AB12CDE", 1), _sighting("XY99ZZZ", 2), _sighting("KL55MNO", 3)]
    )
    c = s.client
    (before,) = read_events(s.url + f"/api/live?key={KEY}", 1)
    assert before["watch_matches"] == []
    c.post("/api/watchlist", json={"plate": "AB12CDE"})
    c.post("/api/watchlist", json={"plate": "XY99ZZ2", "max_distance": 1, "note": "van"})
    matches = c.get("/api/watchlist").json()["matches"]
    assert sorted((m["plate_text"], m["watched"], m["distance"]) for m in matches) == [
        ("AB12CDE", "AB12CDE", 0.0),
        ("XY99ZZZ", "XY99ZZ2", 0.3),  # Z/2 is a confusable pair
    ]
    # The first event may be the snapshot all dashboards share this tick; the next is new.
    ev = read_events(s.url + f"/api/live?key={KEY}", 2)[-1]
    assert {m["plate_text"] for m in ev["watch_matches"]} == {"AB12CDE", "XY99ZZZ"}
    van = next(m for m in ev["watch_matches"] if m["plate_text"] == "XY99ZZZ")
    assert van["note"] == "van" and van["video_id"] == "drive1" and van["lat"] == 51.5002
