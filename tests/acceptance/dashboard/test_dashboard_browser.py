"""The dashboard in Debian's Chromium (headless, driven by Playwright) against
``dashcam server`` and ``dashcam worker heavy`` as subprocesses on 127.0.0.1, with synthetic
videos processed end to end. Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashcam.media.synthetic import SyntheticClip, make_clip

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
KEY = "dash-key-42"

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install -e .[dev])"
)
expect = playwright_sync.expect
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    tmp: Path
    clips: list[SyntheticClip]
    client: httpx.Client
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker: subprocess.Popen[bytes] | None = None

    @property
    def incoming(self) -> Path:
        return self.tmp / "nas" / "videos" / "incoming"

    def spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-m", "dashcam", *args],
            env=self.env,
            stdout=(self.tmp / log).open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.procs.append(p)
        return p

    def ingest(self) -> list[dict[str, Any]]:
        r = self.client.post("/videos/ingest", json={"paths": [str(self.incoming)]})
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()
        return rows

    def start_worker(self) -> None:
        if self.worker is None:
            self.worker = self.spawn(["worker", "heavy"], "heavy.log")

    def wait_processed(self, timeout_s: float = 120) -> list[dict[str, Any]]:
        deadline = time.time() + timeout_s
        while True:
            videos: list[dict[str, Any]] = [
                v for v in self.client.get("/videos").json() if v["status"] != "live"
            ]  # a live camera's row holds its sightings: no video to process
            if len(videos) == len(self.clips) and all(v["status"] == "done" for v in videos):
                return videos
            assert time.time() < deadline, (videos, (self.tmp / "heavy.log").read_text()[-3000:])
            time.sleep(0.5)

    def processed(self) -> list[dict[str, Any]]:
        """The videos, processed (ingested and a worker started when a test runs alone)."""
        self.ingest()
        self.start_worker()
        return self.wait_processed()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("dashboard")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHCAM_")}
    env.update(
        {
            "DASHCAM_DATA_DIR": str(tmp / "data"),
            "DASHCAM_NAS_MOUNT": str(tmp / "nas"),
            "DASHCAM_API_KEY": KEY,
            "DASHCAM_SERVER_PORT": str(port),
            "DASHCAM_SERVER_URL": f"http://127.0.0.1:{port}",
            "DASHCAM_POLL_INTERVAL": "0.5",
            "DASHCAM_HEARTBEAT_INTERVAL_S": "1",
        }
    )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    clips = [
        make_clip(
            tmp / "nas" / "videos" / "incoming",
            name=f"drive{i}",
            seed=20 + i,
            duration_s=6.0,
            resolution_wh=(960, 540),
        )
        for i in range(2)
    ]
    st = Stack(url, env, tmp, clips, client)
    st.spawn(["server"], "server.log")
    deadline = time.time() + 60
    while True:
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.time() < deadline, (tmp / "server.log").read_text()
        time.sleep(0.2)
    try:
        yield st
    finally:
        for p in st.procs:
            p.terminate()
        for p in st.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


# Counts the sign-in prompts a page opens (the dialog's showModal), from before its scripts.
COUNT_PROMPTS = """
window.__prompts = 0;
const show = HTMLDialogElement.prototype.showModal;
HTMLDialogElement.prototype.showModal = function () { window.__prompts += 1; show.call(this); };
"""


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A page of a browser signed in once with ``/?key=``."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(stack.url + f"/?key={KEY}")
    yield pg
    ctx.close()


def shot(pg: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_live_view_shows_worker_and_task_queued_then_done(browser: Any, stack: Stack) -> None:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    external: list[str] = []
    pg.on(
        "request",
        lambda r: None if r.url.startswith(stack.url) else external.append(r.url),
    )
    pg.goto(stack.url + "/")
    # The page asks for the key once; a wrong key is refused and asked again.
    pg.locator("#key-dialog").wait_for(state="visible")
    pg.fill("#key-input", "wrong")
    pg.click("#key-form button")
    pg.locator("#key-error").wait_for(state="visible")
    pg.fill("#key-input", KEY)
    pg.click("#key-form button")
    pg.locator("#key-dialog").wait_for(state="hidden")
    pg.locator("#conn.on").wait_for()
    expect(pg.locator("#workers .empty")).to_have_text("no worker has reported yet")

    rows = stack.ingest()
    first = next(r["task_id"] for r in rows if r["task_id"])
    task_status = pg.locator(f'#recent-tasks tr[data-task="{first}"] .status')
    expect(task_status).to_have_text("queued")
    backlog = pg.locator('#backlog tr[data-type="HEAVY_PROCESS_VIDEO"] [data-col="backlog"]')
    expect(backlog).to_have_text(str(len(stack.clips)))
    shot(pg, "live-queued")

    stack.start_worker()
    pg.locator("#workers tr[data-worker]").first.wait_for(timeout=60_000)
    assert "heavy" in pg.locator("#workers tr[data-worker]").first.inner_text()
    pg.locator(f'#recent-tasks tr[data-task="{first}"] .badge.done').wait_for(timeout=90_000)
    done = pg.locator('#backlog tr[data-type="HEAVY_PROCESS_VIDEO"] [data-col="done"]')
    expect(done).to_have_text(str(len(stack.clips)), timeout=90_000)
    # Done heavy tasks queue their archive follow-ups: the backlog shows them.
    archive = pg.locator('#backlog tr[data-type="ARCHIVE_VIDEO"] [data-col="backlog"]')
    expect(archive).to_have_text(str(len(stack.clips)))
    pg.locator("#throughput .spark").first.wait_for()
    # The Events card: each processed video's event, and no destination set.
    processed = pg.locator('#events tr[data-event="video_processed"]')
    expect(processed).to_have_count(len(stack.clips), timeout=30_000)
    expect(pg.locator("#events .empty").first).to_contain_text("no MQTT broker or webhook set")
    shot(pg, "live-done")
    assert external == []
    ctx.close()


def test_search_finds_a_plate_with_one_character_wrong(page: Any, stack: Stack) -> None:
    stack.processed()
    plate = stack.clips[0].plates[0].text
    wrong = plate[:-1] + ("X" if plate[-1] != "X" else "Y")
    page.goto(stack.url + "/#/plates")
    page.fill('input[name="q"]', wrong)
    page.click('.search-form button[type="submit"]')
    row = page.locator(f'#search-results tr[data-plate="{plate}"]').first
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "1"  # distance of one substitution
    page.locator(f'#search-results tr[data-plate="{plate}"] img').first.wait_for()
    shot(page, "plate-search")

    row.locator("a").first.click()
    page.locator("#plate-sightings").wait_for()
    assert page.locator(f'#plate-sightings tr[data-plate="{plate}"]').count() >= 1
    page.locator("#plate-sightings img").first.wait_for()
    shot(page, "plate-page")


def test_video_page_draws_track_and_a_marker_per_sighting(page: Any, stack: Stack) -> None:
    videos = stack.processed()
    page.goto(stack.url + "/#/videos")
    page.locator("#videos-table").wait_for()
    for v in videos:
        assert page.locator(f'tr[data-video="{v["id"]}"] .badge').inner_text() == "done"
    shot(page, "videos")

    vid = videos[0]["id"]
    track = stack.client.get(f"/api/videos/{vid}/track").json()["track"]
    sightings = stack.client.get(f"/videos/{vid}/sightings").json()
    located = [s for s in sightings if s["position"]]
    assert len(track) >= 5 and located
    page.locator(f'tr[data-video="{vid}"] a').first.click()
    line = page.locator("svg.track-map polyline.track-line")
    line.wait_for()
    points = line.get_attribute("points") or ""
    assert len(points.split()) == len(track)
    markers = page.locator("svg.track-map circle.marker")
    assert markers.count() == len(located)
    assert {markers.nth(i).get_attribute("data-plate") for i in range(markers.count())} == {
        s["plate_text"] for s in located
    }
    # Every marker is drawn inside the visible map.
    box = page.locator("svg.track-map").bounding_box()
    for i in range(markers.count()):
        m = markers.nth(i).bounding_box()
        assert box["x"] <= m["x"] and m["x"] + m["width"] <= box["x"] + box["width"]
        assert box["y"] <= m["y"] and m["y"] + m["height"] <= box["y"] + box["height"]
    page.locator("#crops img").first.wait_for()
    markers.first.click()
    assert page.locator(".crop-card.selected").count() == 1
    shot(page, "video")


def test_watched_plate_is_highlighted_and_shown_live(page: Any, stack: Stack) -> None:
    stack.processed()
    plate = stack.clips[1].plates[0].text
    page.goto(stack.url + "/")
    page.locator("#conn.on").wait_for()
    page.goto(stack.url + f"/#/plate/{plate}")
    page.click("#watch-toggle")
    page.locator("#watch-toggle.danger").wait_for()
    # The live feed announces the new match on every page, and the live view lists it.
    page.locator("#alert-bar:not([hidden])").wait_for()
    assert plate in page.locator("#alert-bar").inner_text()
    page.goto(stack.url + "/#/")
    page.locator(f'#matches tr.watch:has-text("{plate}")').first.wait_for()
    page.goto(stack.url + "/#/watchlist")
    page.locator(f'#watch-table tr[data-plate="{plate}"]').wait_for()
    shot(page, "watchlist")
    page.goto(stack.url + "/#/plates?q=" + plate + "&d=1")
    page.locator(f'#search-results tr.watch[data-plate="{plate}"]').first.wait_for()
    assert stack.client.get("/api/watchlist").json()["entries"][0]["plate"] == plate


def test_live_view_lists_a_cameras_last_plates_and_its_watchlist_alert(
    page: Any, stack: Stack
) -> None:
    import numpy as np

    from dashcam.services.live_sightings import SightingRecorder
    from dashcam.stages.live import CameraTracks, LiveRead
    from dashcam.store.database import make_engine
    from dashcam.store.results import ResultsRepository

    # what a relay storing into the server's database writes for a plate at its gate
    engine = make_engine(f"sqlite:///{stack.tmp / 'data' / 'dashcam.db'}")
    recorder = SightingRecorder(ResultsRepository(engine), stack.tmp / "data" / "live")
    tracks = CameraTracks("gate", close_after_s=1.0)
    for k in range(2):
        read = LiveRead("GT24LVE", 0.97, (100 + 5 * k, 300, 190 + 5 * k, 325))
        tracks.add(k, time.time() + 0.2 * k, [read], [np.full((24, 90, 3), 99, np.uint8)])
    for closed in tracks.close():
        recorder.record(closed)
    engine.dispose()
    assert stack.client.post("/api/watchlist", json={"plate": "GT24LVE"}).status_code == 200

    page.goto(stack.url + "/#/")
    page.locator('#cameras [data-camera="gate"] tr:has-text("GT24LVE")').wait_for()
    page.locator('#matches tr.watch:has-text("GT24LVE"):has-text("camera:gate")').wait_for()
    shot(page, "live-cameras")


def test_key_once_then_a_bookmarked_plate_page_shows_its_data_and_sign_out_works(
    browser: Any, stack: Stack
) -> None:
    videos = stack.processed()
    plate = stack.clips[0].plates[0].text
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    ctx.add_init_script(COUNT_PROMPTS)
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(stack.url + f"/?key={KEY}")  # the link with the key, opened once
    assert pg.url == stack.url + "/"  # redirected to the clean URL: no key to bookmark
    pg.locator("#conn.on").wait_for()
    (cookie,) = [c for c in ctx.cookies() if c["name"] == "dashcam_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert KEY not in cookie["value"]
    assert pg.evaluate("document.cookie") == ""  # scripts cannot read it
    assert pg.evaluate("window.__prompts") == 0
    pg.close()

    # A bookmark opened later: a fresh page load straight onto a plate's page.
    bookmark = stack.url + f"/#/plate/{plate}"
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(bookmark)
    pg.locator(f'#plate-sightings tr[data-plate="{plate}"]').first.wait_for()
    pg.locator("#plate-sightings img").first.wait_for()
    assert pg.evaluate("window.__prompts") == 0
    expect(pg.locator("#key-dialog")).to_be_hidden()
    expect(pg.locator("#sign-out")).to_be_visible()
    shot(pg, "plate-bookmark")

    # The video page says when it was recorded, and by which clock.
    pg.goto(stack.url + f"/#/video/{videos[0]['id']}")
    expect(pg.locator("#recorded")).to_contain_text("UTC (container clock)")
    assert pg.evaluate("window.__prompts") == 0

    pg.click("#sign-out")
    pg.locator("#key-dialog").wait_for(state="visible")
    assert [c for c in ctx.cookies() if c["name"] == "dashcam_session"] == []
    expect(pg.locator("#sign-out")).to_be_hidden()
    pg.goto(bookmark)
    pg.reload()
    pg.locator("#key-dialog").wait_for(state="visible")
    expect(pg.locator("#plate-sightings")).to_have_count(0)
    shot(pg, "signed-out")
    ctx.close()
