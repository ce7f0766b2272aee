"""Webhooks against a local HTTP receiver: signed bodies, retries on 5xx, and a receiver
that hangs holding up nothing but its own deliveries."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from server_helpers import ThreadServer
from test_mqtt_events import complete_video, sighting, wait_for
from webhook_helpers import Receiver

from dashcam.domain.events import EventType, SightingEvent, VideoEvent, parse_event
from dashcam.events.webhook import SIGNATURE_HEADER, WebhookSink


def test_every_event_arrives_signed_with_the_secret(
    serve: Callable[..., ThreadServer], receiver: Receiver
) -> None:
    srv = serve(webhook_urls=[receiver.url], webhook_secret="hush")
    complete_video(srv, "v1", [sighting("AB12CDE")])
    wait_for(lambda: len(receiver.bodies) == 2, "two webhook deliveries")
    events = []
    for body, headers in receiver.bodies:
        want = "sha256=" + hmac.new(b"hush", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], want)
        assert headers["Content-Type"] == "application/json"
        event = parse_event(body)
        assert headers["X-Dashcam-Event"] == event.type.value
        events.append(event)
    assert [type(e) for e in events] == [SightingEvent, VideoEvent]
    assert events[0].plate_text == "AB12CDE"  # type: ignore[union-attr]
    # A forged body does not verify.
    forged = b'{"type": "sighting"}'
    bad = "sha256=" + hmac.new(b"guess", forged, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(bad, receiver.bodies[0][1][SIGNATURE_HEADER])


def test_a_500_is_retried_with_backoff_until_it_is_taken(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    sink = WebhookSink(receiver.url, backoff_base_s=0.05, max_attempts=5)
    try:
        sink.publish(_video_event("v1"))
        wait_for(sink.drained, "the delivery")
        st = sink.status()
        assert (st.delivered, st.failed, sink.retries) == (1, 0, 2)
        assert receiver.answered == [500, 503, 200]
        assert len({b for b, _ in receiver.bodies}) == 1  # the same event each time
    finally:
        sink.close(1.0)


def test_retries_are_bounded_and_a_refusal_is_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 500, 400]
    sink = WebhookSink(receiver.url, backoff_base_s=0.01, max_attempts=3)
    try:
        sink.publish(_video_event("v1"))  # 500, 500, 500: given up after 3 tries
        sink.publish(_video_event("v2"))  # 400: the receiver refuses it, no retry
        sink.publish(_video_event("v3"))  # 200
        wait_for(sink.drained, "the deliveries")
        st = sink.status()
        assert (st.delivered, st.failed) == (1, 2)
        assert receiver.answered == [500, 500, 500, 400, 200]
        assert st.last_error == "HTTP 400"
    finally:
        sink.close(1.0)


def test_a_hanging_receiver_does_not_hold_up_processing(
    serve: Callable[..., ThreadServer], receiver: Receiver
) -> None:
    receiver.hang = True
    srv = serve(webhook_urls=[receiver.url], webhook_timeout_s=60, events_buffer=3)
    for i in range(6):  # every completion returns while the receiver holds the first event
        complete_video(srv, f"v{i}", [sighting("AB12CDE")])
    assert receiver.waiting.acquire(timeout=20)  # the first delivery is being held
    assert srv.st.events is not None and srv.st.events.flush(20)
    assert not receiver.release.is_set() and receiver.bodies == []
    assert {v.id for v in srv.st.repo.list_videos()} == {f"v{i}" for i in range(6)}
    (st,) = srv.st.events.hub.status()
    assert st.queued == 4 and st.dropped == 12 - 4  # 3 waiting + 1 in flight; the rest dropped
    receiver.release.set()
    receiver.hang = False
    wait_for(lambda: srv.st.events.hub.status()[0].queued == 0, "the queue to empty")  # type: ignore[union-attr]
    assert srv.st.events.hub.status()[0].delivered == 4


def _video_event(video_id: str) -> VideoEvent:
    from datetime import UTC, datetime

    return VideoEvent(type=EventType.VIDEO_PROCESSED, at=datetime.now(UTC), video_id=video_id)
