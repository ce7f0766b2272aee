"""Prometheus metrics of one server (a registry per app, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
