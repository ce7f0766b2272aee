"""Task categories of the frame path, and which kind of worker runs each."""

from __future__ import annotations

from enum import StrEnum


class WorkerKind(StrEnum):
    DETECTOR = "detector"  # "GPU" workers: model inference (CUDA when present, else CPU)
    CPU = "cpu"


class TaskCategory(StrEnum):
    VEHICLE_DETECT = "VEHICLE_DETECT"
    PLATE_DETECT = "PLATE_DETECT"
    OCR = "OCR"
    VEHICLE_TRACK = "VEHICLE_TRACK"
    PLATE_SMOOTH = "PLATE_SMOOTH"
    SUMMARY = "SUMMARY"
    FINAL_WRITE = "FINAL_WRITE"

    @property
    def kind(self) -> WorkerKind:
        return WorkerKind.DETECTOR if self in _DETECTOR else WorkerKind.CPU


_DETECTOR = {TaskCategory.VEHICLE_DETECT, TaskCategory.PLATE_DETECT, TaskCategory.OCR}
