"""Executors of the stages: the inline runner (one process) and the multiprocess engine."""
