"""Where a live camera's closed track becomes a stored sighting, and is handed on.

:class:`SightingRecorder` writes the best crop under ``<crops_root>/<camera>/crops/``,
then, in one transaction, makes sure the camera has its row among the videos (id
``camera:<name>``, status ``live``, its URL as path, its crop folder as output folder) and
adds the sighting with its reads. Search, ``/sightings``, exports, the dashboard and the
watchlist read that one table, so a camera's sightings show next to recorded ones.

After the commit every listener gets the stored sighting: **the one hook** for whatever
should react to a new sighting (events, MQTT, webhooks). A listener's error is logged and
never undoes or blocks the store.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from dashcam.stages.live import LiveSighting
from dashcam.store.results import ResultsRepository, StoredSighting
from dashcam.store.schema import VideoStatus

log = logging.getLogger(__name__)

CROP_QUALITY = 90


@dataclass(frozen=True)
class StoredLiveSighting:
    """What listeners get: the camera's name and the sighting as stored (with its id)."""

    camera: str
    stored: StoredSighting


SightingListener = Callable[[StoredLiveSighting], None]


class SightingRecorder:
    """Stores closed live tracks through :class:`ResultsRepository`. Thread-safe as the
    repository is; the relay calls it from its one sighting thread."""

    def __init__(
        self,
        repo: ResultsRepository,
        crops_root: Path,
        *,
        camera_urls: dict[str, str] | None = None,
        listeners: Sequence[SightingListener] = (),
    ) -> None:
        self.repo = repo
        self.crops_root = Path(crops_root)
        self.camera_urls = camera_urls if camera_urls is not None else {}
        self.listeners = list(listeners)
        self.stored = 0

    def subscribe(self, listener: SightingListener) -> None:
        """Call ``listener`` with every sighting stored from now on."""
        self.listeners.append(listener)

    def camera_dir(self, camera: str) -> Path:
        return self.crops_root / camera

    def record(self, live: LiveSighting) -> StoredLiveSighting:
        """Store one closed track (crop file, then the row and its reads) and hand it on."""
        sg = live.sighting
        folder = self.camera_dir(live.camera)
        if live.crop is not None and live.crop.size:
            name = f"crops/{sg.best_utc_ms or 0}_{uuid.uuid4().hex[:12]}.jpg"
            ok, buf = cv2.imencode(".jpg", live.crop, [cv2.IMWRITE_JPEG_QUALITY, CROP_QUALITY])
            if ok:
                (folder / "crops").mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(buf.tobytes())
                sg = replace(sg, best_crop_path=name)
        url = self.camera_urls.get(live.camera, "")
        with self.repo.transaction() as c:
            self.repo.ensure_video(c, sg.video_id, url)
            self.repo.update_video(
                sg.video_id, c, status=VideoStatus.LIVE, path=url, output_dir=str(folder.resolve())
            )
            (sid,) = self.repo.add_sightings(sg.video_id, [sg], c)
        self.stored += 1
        done = StoredLiveSighting(live.camera, StoredSighting(sid, sg))
        for listener in self.listeners:
            try:
                listener(done)
            except Exception:  # a listener never undoes or blocks the store
                log.exception("sighting listener %r failed", listener)
        return done
