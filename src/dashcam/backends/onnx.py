"""onnxruntime sessions for the models that ship inside the ``rapidocr`` wheel.

One place that finds a shipped model file and opens a CPU session with a chosen thread
count, for the OCR recogniser and the text detector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashcam.errors import BackendUnavailable


def shipped_model(file_name: str, what: str) -> Path:
    """Path of ``file_name`` inside the installed ``rapidocr`` package's models folder."""
    try:
        import rapidocr
    except ImportError as exc:
        raise BackendUnavailable(
            f"{what} needs the 'rapidocr' package (pip install 'rapidocr==3.10.*')"
        ) from exc
    path = Path(rapidocr.__file__).parent / "models" / file_name
    if not path.is_file():
        raise BackendUnavailable(f"{what}: model file not found: {path}")
    return path


def onnx_session(path: Path, threads: int, what: str) -> Any:
    """A CPU onnxruntime session on ``path``; ``threads`` > 0 sets its intra-op threads.

    Its threads sleep instead of spinning between runs: the engine's workers, the relay's
    CV worker and the server's workers share a few cores, where spinning threads burn the
    time the others need (about a fifth less CPU per photo, measured with other work running).
    """
    if not path.is_file():
        raise BackendUnavailable(f"{what}: model file not found: {path}")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendUnavailable(f"{what} needs the 'onnxruntime' package") from exc
    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
