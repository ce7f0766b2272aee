"""Media edge: video decoding and sampling, metadata, telemetry files, synthetic clips."""
