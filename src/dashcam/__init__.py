"""dashcam: dashcam and camera video into searchable, GPS-aligned plate sightings."""

__version__ = "0.1.0"
