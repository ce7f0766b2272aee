"""Durable-queue workers: one base loop, two transports, heavy/archive/monitor kinds."""
