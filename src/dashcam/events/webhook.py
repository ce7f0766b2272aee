"""Webhooks: every event POSTed as JSON to a URL, signed, retried with backoff.

One thread per URL, so a receiver that hangs delays only its own deliveries, never
processing and never the other URLs. ``publish`` appends to a bounded buffer (oldest
dropped and counted). Each request is bounded by ``timeout_s``; a 5xx, 408, 429 or a
network error is retried up to ``max_attempts`` with exponential backoff; any other
4xx is given up at once (the receiver refused the event itself).

Signature: ``X-Dashcam-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` with
``DASHCAM_WEBHOOK_SECRET`` (like GitHub's ``X-Hub-Signature-256``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import deque

import httpx

from dashcam.domain.events import Event
from dashcam.events.status import SinkStatus

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dashcam-Signature"
EVENT_HEADER = "X-Dashcam-Event"
_RETRY_STATUS = {408, 425, 429}


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``.

    >>> signature("s", b"{}")
    'sha256=143ca8d517ba1b181025d732b1cf275d90104fca57bb02a565542978aa18c4b6'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_s(attempt: int, base_s: float = 0.5, max_s: float = 30.0) -> float:
    """Wait before retry ``attempt`` (1 = after the first failure): doubling, capped.

    >>> [backoff_s(n) for n in (1, 2, 3, 10)]
    [0.5, 1.0, 2.0, 30.0]
    """
    return float(min(max_s, base_s * 2 ** (attempt - 1)))


class WebhookSink:
    kind = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        buffer: int = 1000,
        max_attempts: int = 5,
        timeout_s: float = 5.0,
        backoff_base_s: float = 0.5,
    ) -> None:
        self.url = url
        self.name = url
        self.secret = secret
        self.buffer = buffer
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.delivered = 0
        self.dropped = 0
        self.failed = 0
        self.retries = 0
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._queue: deque[Event] = deque()
        self._busy = False
        self._stop = threading.Event()
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def publish(self, event: Event) -> None:
        with self._cond:
            if len(self._queue) >= self.buffer:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
            self._cond.notify_all()

    def status(self) -> SinkStatus:
        with self._cond:
            return SinkStatus(
                name=self.name,
                kind=self.kind,
                connected=None,
                queued=len(self._queue) + self._busy,
                delivered=self.delivered,
                dropped=self.dropped,
                failed=self.failed,
                last_error=self.last_error,
            )

    def drained(self) -> bool:
        with self._cond:
            return not self._queue and not self._busy

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued for up to ``timeout_s``, then stop (a request still
        running is abandoned when the time is up)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout_s)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=1.0)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stop.is_set(), timeout=1.0)
                if self._stop.is_set() or not self._queue:
                    continue
                event = self._queue.popleft()
                self._busy = True
            try:
                ok = self._deliver(event)
            finally:
                with self._cond:
                    self._busy = False
                    if ok:
                        self.delivered += 1
                    else:
                        self.failed += 1
                    self._cond.notify_all()

    def _deliver(self, event: Event) -> bool:
        body = event.model_dump_json().encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: event.type.value}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        for attempt in range(1, self.max_attempts + 1):
            try:
                r = self._http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if r.is_success:
                    return True
                error = f"HTTP {r.status_code}"
                if r.status_code < 500 and r.status_code not in _RETRY_STATUS:
                    self._note(error)
                    return False
            self._note(error)
            if attempt < self.max_attempts:
                with self._cond:
                    self.retries += 1
                if self._stop.wait(backoff_s(attempt, self.backoff_base_s)):
                    return False
        log.warning("webhook %s: gave up on a %s event: %s", self.url, event.type, error)
        return False

    def _note(self, error: str) -> None:
        with self._cond:
            self.last_error = error
