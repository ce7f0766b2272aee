"""Processors per task category. Each stage is one object with one verb; the inline runner
and the multiprocess engine both run these same objects."""
