"""Client for a vision-language model behind any OpenAI-compatible chat-completions endpoint.

E.g. Qwen3-VL served by vLLM (``vllm serve Qwen/Qwen3-VL-8B-Instruct`` ->
``http://host:8000/v1``) or Ollama (``http://host:11434/v1``). Images travel inline as
base64 data URLs. Sync methods use :class:`httpx.Client`; ``a``-prefixed ones use
:class:`httpx.AsyncClient` (the live relay's CV worker is asyncio).

Request building and response parsing are pure functions; only ``_post``/``_apost`` do I/O.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import numpy as np

from dashcam.backends.protocols import ImageBGR
from dashcam.errors import BackendUnavailable, DashcamError, InputError

PLATE_PROMPT = (
    "Read every vehicle licence plate visible in the image. Answer with JSON only, no prose: "
    '{"plates": [{"text": "<plate characters, no spaces>", "confidence": <0..1>, '
    '"vehicle": "<colour make type, or empty>"}]}. If no plate is readable answer '
    '{"plates": []}.'
)

ImageInput = bytes | ImageBGR


class VlmError(DashcamError):
    """The VLM endpoint answered, but with an error status or an unusable body."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class VlmPlateRead:
    """One plate the VLM says it read. ``confidence`` is the model's own, when it gave one."""

    text: str
    confidence: float | None = None
    vehicle: str = ""


def encode_jpeg(image: ImageBGR, quality: int = 90) -> bytes:
    """BGR ``(H, W, 3)`` uint8 -> JPEG bytes."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"image of shape {image.shape} could not be JPEG-encoded")
    return bytes(buf.tobytes())


def data_url(image: ImageInput) -> str:
    """An image as a ``data:image/...;base64,`` URL; arrays are JPEG-encoded first.

    >>> data_url(b"\\xff\\xd8\\xff\\xe0rest")[:30]
    'data:image/jpeg;base64,/9j/4HJ'
    """
    data = encode_jpeg(image) if isinstance(image, np.ndarray) else bytes(image)
    if data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
    else:
        raise InputError("VLM image: expected JPEG, PNG or WebP bytes (or a BGR array)")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def chat_request(
    model: str, prompt: str, images: Sequence[ImageInput], max_tokens: int
) -> dict[str, Any]:
    """The JSON body of one chat-completions call: the prompt and the images in one turn."""
    if not images:
        raise InputError("VLM request: at least one image is needed")
    content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    content += [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in images]
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def completion_text(body: object) -> str:
    """The assistant text of a chat-completions response body."""
    try:
        content = body["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise VlmError(f"VLM response has no choices[0].message.content: {body!r:.200}") from exc
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise VlmError(f"VLM response content is not text: {content!r:.200}")
    return content.strip()


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _json_candidates(text: str) -> list[str]:
    out = [m.group(1) for m in _FENCE.finditer(text)]
    out.append(text)
    for open_c, close_c in (("{", "}"), ("[", "]")):
        start, end = text.find(open_c), text.rfind(close_c)
        if 0 <= start < end:
            out.append(text[start : end + 1])
    return out


def parse_plates(text: str) -> list[VlmPlateRead]:
    """Plates from a model answer, leniently: bare JSON, a fenced block, JSON inside prose,
    ``{"plates": [...]}`` or a bare list, items as objects or strings.

    >>> parse_plates('Sure! ```json\\n{"plates": [{"text": "AB12 CDE", "confidence": 0.9}]}\\n```')
    [VlmPlateRead(text='AB12CDE', confidence=0.9, vehicle='')]
    """
    for candidate in _json_candidates(text):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            data = data.get("plates", data.get("results", [data] if "text" in data else []))
        if isinstance(data, list):
            return [p for p in (_plate(item) for item in data) if p is not None]
    raise VlmError(f"VLM answer is not the JSON asked for: {text!r:.200}")


def _plate(item: object) -> VlmPlateRead | None:
    if isinstance(item, str):
        text, conf, vehicle = item, None, ""
    elif isinstance(item, dict):
        text = str(item.get("text") or item.get("plate") or item.get("plate_text") or "")
        raw_conf = item.get("confidence")
        try:
            conf = None if raw_conf is None else min(1.0, max(0.0, float(raw_conf)))
        except (TypeError, ValueError):
            conf = None
        vehicle = str(item.get("vehicle") or "")
    else:
        return None
    text = re.sub(r"[\s\-·•]", "", text).upper()
    return VlmPlateRead(text, conf, vehicle) if text else None


class VlmClient:
    """One model on one OpenAI-compatible endpoint.

    ``base_url`` is the API root including ``/v1`` (``http://localhost:8000/v1``).
    Unreachable endpoint -> :class:`BackendUnavailable` naming the URL; an error status or
    unusable answer -> :class:`VlmError` with ``status_code``.
    """

    name = "vlm"

    def __init__(
        self,
        base_url: str,
        model: str,
        prompt: str,
        api_key: str | None = None,
        timeout_s: float = 60,
        max_tokens: int = 512,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.prompt = prompt
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client: httpx.Client | None = None

    # --- sync ------------------------------------------------------------------------
    def describe(self, images: Sequence[ImageInput], prompt: str | None = None) -> str:
        """The model's answer to ``prompt`` (default: the client's) about ``images``."""
        body = chat_request(self.model, prompt or self.prompt, images, self.max_tokens)
        return completion_text(self._post(body))

    def read_plates(self, image: ImageInput, prompt: str = PLATE_PROMPT) -> list[VlmPlateRead]:
        """Plates the model reads in one image (empty list: it saw none)."""
        return parse_plates(self.describe([image], prompt))

    def _post(self, body: dict[str, Any]) -> object:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s, headers=self._headers)
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._checked(response)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> VlmClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- async -----------------------------------------------------------------------
    async def adescribe(self, images: Sequence[ImageInput], prompt: str | None = None) -> str:
        """Async :meth:`describe`."""
        body = chat_request(self.model, prompt or self.prompt, images, self.max_tokens)
        return completion_text(await self._apost(body))

    async def aread_plates(
        self, image: ImageInput, prompt: str = PLATE_PROMPT
    ) -> list[VlmPlateRead]:
        """Async :meth:`read_plates`."""
        return parse_plates(await self.adescribe([image], prompt))

    async def _apost(self, body: dict[str, Any]) -> object:
        # One client per call: an AsyncClient is bound to the loop that first used it.
        async with httpx.AsyncClient(timeout=self.timeout_s, headers=self._headers) as client:
            try:
                response = await client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from exc
        return self._checked(response)

    # --- shared ----------------------------------------------------------------------
    def _unreachable(self, exc: httpx.HTTPError) -> DashcamError:
        if isinstance(exc, httpx.TimeoutException):
            return BackendUnavailable(f"VLM endpoint {self.url} timed out after {self.timeout_s}s")
        return BackendUnavailable(f"VLM endpoint {self.url} is unreachable: {exc}")

    def _checked(self, response: httpx.Response) -> object:
        if response.status_code >= 400:
            raise VlmError(
                f"VLM endpoint {self.url} answered HTTP {response.status_code}: "
                f"{response.text[:200]}",
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise VlmError(
                f"VLM endpoint {self.url} answered non-JSON: {response.text[:200]!r}",
                status_code=response.status_code,
            ) from exc
