"""Prometheus metrics of one server (a registry per app, so tests can run several)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from dashcam.events.announcer import Announcer


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.claims = Counter("dashcam_task_claims", "Tasks claimed", ["task_type"], registry=r)
        self.completions = Counter(
            "dashcam_task_completions", "Tasks completed", ["task_type"], registry=r
        )
        self.failures = Counter(
            "dashcam_task_failures", "Task failures reported", ["task_type"], registry=r
        )
        self.lease_expiries = Counter(
            "dashcam_lease_expiries",
            "Expired leases requeued or killed by the reaper",
            ["task_type"],
            registry=r,
        )
        self.worker_heartbeats = Counter(
            "dashcam_worker_heartbeats", "Worker heartbeats received", ["kind"], registry=r
        )
        self.frames_processed = Counter(
            "dashcam_frames_processed", "Video frames analysed by heavy workers", registry=r
        )
        self.plates_read = Counter("dashcam_plates_read", "Plate sightings stored", registry=r)
        self.processing_seconds = Histogram(
            "dashcam_processing_seconds",
            "Heavy processing time per video",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.tasks = Gauge(
            "dashcam_tasks", "Tasks by type and state", ["task_type", "state"], registry=r
        )
        self.workers_seen = Gauge(
            "dashcam_workers", "Known workers by kind and liveness", ["kind", "stale"], registry=r
        )

    def watch_events(self, events: Announcer) -> None:
        """Export the event destinations' counts (read at each scrape)."""
        self.registry.register(_EventsCollector(events))


class _EventsCollector(Collector):
    def __init__(self, events: Announcer) -> None:
        self.events = events

    def collect(self) -> Iterator[Metric]:
        labels = ["sink", "kind"]
        published = CounterMetricFamily(
            "dashcam_events_published", "Events published by this process", labels=[]
        )
        published.add_metric([], self.events.hub.last_seq)
        delivered = CounterMetricFamily(
            "dashcam_events_delivered", "Events a destination acknowledged", labels=labels
        )
        dropped = CounterMetricFamily(
            "dashcam_events_dropped",
            "Events dropped: the destination's buffer was full (broker away)",
            labels=labels,
        )
        failed = CounterMetricFamily(
            "dashcam_events_failed", "Events given up after every retry", labels=labels
        )
        queued = GaugeMetricFamily(
            "dashcam_events_queued", "Events waiting for a destination", labels=labels
        )
        connected = GaugeMetricFamily(
            "dashcam_events_connected", "1 while the MQTT broker is connected", labels=labels
        )
        for st in self.events.hub.status():
            key = [st.name, st.kind]
            delivered.add_metric(key, st.delivered)
            dropped.add_metric(key, st.dropped)
            failed.add_metric(key, st.failed)
            queued.add_metric(key, st.queued)
            if st.connected is not None:
                connected.add_metric(key, 1.0 if st.connected else 0.0)
        yield from (published, delivered, dropped, failed, queued, connected)
