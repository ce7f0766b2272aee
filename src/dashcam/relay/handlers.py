"""Job handlers the CV worker ships with: ``plates`` (our recogniser) and ``vlm`` (any
OpenAI-compatible chat-completions endpoint). Heavy imports happen when one is built.

Each is a :class:`~dashcam.relay.worker.JobHandler`; pick one by name with
:func:`make_handler`. Results are JSON-able dicts, one entry per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from dashcam.config import Settings, load_settings
from dashcam.domain.overlay import OverlayMask
from dashcam.errors import BackendUnavailable, DecodeError, InputError
from dashcam.relay.messages import JobOffer
from dashcam.relay.worker import JobHandler

T = TypeVar("T")


def decode_jpeg(jpeg: bytes) -> Any:
    """JPEG bytes -> BGR ``uint8`` array ``(H, W, 3)``; :class:`DecodeError` if not an image."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DecodeError(f"frame of {len(jpeg)} bytes is not a decodable image")
    return image


async def in_daemon_thread(fn: Callable[[Any], T], arg: Any) -> T:
    """``fn(arg)`` in a daemon thread: unlike ``asyncio.to_thread`` a stopping worker does
    not wait for a model call in flight (the process exits; its job is re-offered)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, exc: BaseException | None) -> None:
        if done.done():
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(cast(T, value))

    def run() -> None:
        try:
            value, exc = fn(arg), None
        except BaseException as e:  # handed to the awaiting task
            value, exc = None, e
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(settle, value, exc)

    threading.Thread(target=run, name="plates-model", daemon=True).start()
    return await done


class PlatesHandler:
    """Runs :class:`~dashcam.stages.recognise.PlateRecogniser` on every frame of a job.

    Per camera it learns where the camera burns its own text into the frame
    (:class:`~dashcam.domain.overlay.OverlayMask`): reads there are not reported.
    """

    name = "plates"

    def __init__(self, settings: Settings | None = None) -> None:
        try:
            from dashcam.stages.recognise import PlateRecogniser
        except ImportError as exc:  # pragma: no cover - the module ships with dashcam
            raise BackendUnavailable(f"plates backend cannot load: {exc}") from exc
        self._recogniser = PlateRecogniser(settings or load_settings())
        # the recogniser holds model sessions: one frame at a time through it
        self._lock = asyncio.Lock()
        self._overlays: dict[str, OverlayMask] = {}

    async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]:
        plates: list[dict[str, Any]] = []
        overlay = self._overlays.setdefault(job.service_id, OverlayMask())
        for frame_id, jpeg in zip(job.frames, frames, strict=True):
            image = decode_jpeg(jpeg)
            async with self._lock:
                results = await in_daemon_thread(self._recogniser.recognise, image)
            overlay.observe(job.timestamp, [r.xyxy for r in results])
            results = [r for r in results if not overlay.covers(r.xyxy)]
            plates.extend(
                {
                    "frame": frame_id,
                    "text": r.text,
                    "confidence": float(r.confidence),
                    "xyxy": [float(v) for v in r.xyxy],
                    "alternatives": [[t, p] for t, p in r.alternatives(5)],
                }
                for r in results
            )
        return {
            "backend": self.name,
            "frames": len(frames),
            "plates": plates,
            "model_info": self.model_info(),
        }

    def model_info(self) -> dict[str, str]:
        """The plate detector and reader in use (installed models by their names)."""
        return {
            "plate_detector": self._recogniser.detector.name,
            "plate_reader": self._recogniser.name,
        }


class VlmHandler:
    """Sends a job's frames to a vision-language model and returns its answer as text."""

    name = "vlm"

    def __init__(
        self,
        base_url: str,
        model: str,
        prompt: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60,
    ) -> None:
        from dashcam.backends.vlm import PLATE_PROMPT, VlmClient

        self.model = model
        prompt = prompt or PLATE_PROMPT
        self._client = VlmClient(base_url, model, prompt, api_key=api_key, timeout_s=timeout_s)

    async def handle(self, job: JobOffer, frames: list[bytes]) -> dict[str, Any]:
        from dashcam.backends.vlm import VlmError, parse_plates

        text = await self._client.adescribe(frames)
        try:  # a custom --prompt may ask for prose: then only the text is reported
            plates: list[dict[str, Any]] | None = [
                {"text": p.text, "confidence": p.confidence, "vehicle": p.vehicle}
                for p in parse_plates(text)
            ]
        except VlmError:
            plates = None
        return {
            "backend": self.name,
            "model": self.model,
            "frames": len(frames),
            "text": text,
            "plates": plates,
        }


HANDLERS: dict[str, Callable[..., JobHandler]] = {
    "plates": PlatesHandler,
    "vlm": VlmHandler,
}


def make_handler(name: str, **options: Any) -> JobHandler:
    """Build the handler registered as ``name`` (``plates`` or ``vlm``)."""
    factory = HANDLERS.get(name)
    if factory is None:
        raise InputError(f"unknown backend {name!r}; choose one of {', '.join(sorted(HANDLERS))}")
    return factory(**options)
