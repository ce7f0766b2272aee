"""The central server: task API for workers, videos, sightings, search, dashboard, metrics."""
