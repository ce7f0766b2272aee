"""Wire messages of the live relay: WebSocket JSON frames and HTTP bodies.

Every WebSocket message is a JSON object with a ``type`` field; each type is one
pydantic model with ``type: Literal[...]``. Workers send ``register`` and ``heartbeat``;
the relay sends ``registered``, ``job_available``, ``heartbeat_ack`` and ``error``.

Example::

    >>> parse_worker_message('{"type":"heartbeat"}')
    HeartbeatMessage(type='heartbeat')
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from dashcam.errors import InputError
from dashcam.services.task_results import plain_json

WORKER_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"


class WireError(InputError):
    """A message from a worker could not be understood (not JSON, unknown type, too big)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- worker -> relay ----------------------------------------------------------------


class RegisterData(_Strict):
    worker_id: str = Field(pattern=WORKER_ID_PATTERN)


class RegisterMessage(_Strict):
    type: Literal["register"] = "register"
    data: RegisterData


class HeartbeatMessage(_Strict):
    type: Literal["heartbeat"] = "heartbeat"


WorkerMessage = Annotated[RegisterMessage | HeartbeatMessage, Field(discriminator="type")]
_WORKER_MESSAGE: TypeAdapter[RegisterMessage | HeartbeatMessage] = TypeAdapter(WorkerMessage)


# --- relay -> worker ----------------------------------------------------------------


class RegisteredData(_Strict):
    worker_id: str
    key: str


class RegisteredMessage(_Strict):
    type: Literal["registered"] = "registered"
    data: RegisteredData


class JobMetadata(_Strict):
    resolution: str = Field(description="Frame size as WIDTHxHEIGHT, e.g. 1280x720")
    camera_url: str | None = None
    attempt: int = 1


class JobOffer(_Strict):
    """What a worker is told about a job: enough to decide and to fetch its frames."""

    id: str
    type: Literal["frame_analysis"] = "frame_analysis"
    service_id: str
    timestamp: float = Field(description="Capture time of the first frame, Unix seconds")
    frames: list[str] = Field(description="Frame UUIDs, fetch each from /jobs/{id}/frames/{uuid}")
    metadata: JobMetadata


class JobAvailableMessage(_Strict):
    type: Literal["job_available"] = "job_available"
    job: JobOffer


class HeartbeatAckMessage(_Strict):
    type: Literal["heartbeat_ack"] = "heartbeat_ack"


class ErrorData(_Strict):
    error: str
    detail: str = ""


class ErrorMessage(_Strict):
    type: Literal["error"] = "error"
    data: ErrorData


RelayMessage = Annotated[
    RegisteredMessage | JobAvailableMessage | HeartbeatAckMessage | ErrorMessage,
    Field(discriminator="type"),
]
_RELAY_MESSAGE: TypeAdapter[
    RegisteredMessage | JobAvailableMessage | HeartbeatAckMessage | ErrorMessage
] = TypeAdapter(RelayMessage)


# --- HTTP bodies --------------------------------------------------------------------


class ClaimRequest(_Strict):
    worker_id: str = Field(pattern=WORKER_ID_PATTERN)


class CompleteRequest(_Strict):
    worker_id: str = Field(pattern=WORKER_ID_PATTERN)
    result: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _result_is_plain_json(self) -> CompleteRequest:
        if not plain_json(self.result):
            raise ValueError("result: not plain JSON (NaN, Infinity, too deep)")
        return self


class FailRequest(_Strict):
    worker_id: str = Field(pattern=WORKER_ID_PATTERN)
    error: str = Field(max_length=4000)


class AddServiceRequest(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    url: str = Field(min_length=1, max_length=2000)


# --- parsing ------------------------------------------------------------------------


def parse_worker_message(
    text: str | bytes, max_bytes: int = 64 * 1024
) -> RegisterMessage | HeartbeatMessage:
    """One worker message, or :class:`WireError` saying why not (``error`` names the kind)."""
    if len(text) > max_bytes:
        raise WireError("message_too_large", f"{len(text)} bytes > {max_bytes}")
    try:
        raw = json.loads(text)
    except RecursionError:  # nested deeper than the parser goes
        raise WireError("invalid_json", "nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError("invalid_json", str(exc)) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise WireError("invalid_message", "expected a JSON object with a string 'type'")
    if raw["type"] not in ("register", "heartbeat"):
        raise WireError("unknown_type", f"unknown message type {raw['type'][:64]!r}")
    try:
        return _WORKER_MESSAGE.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WireError("invalid_message", f"{where}: {first['msg']}") from None


def parse_relay_message(
    text: str | bytes,
) -> RegisteredMessage | JobAvailableMessage | HeartbeatAckMessage | ErrorMessage | None:
    """A relay message as a worker sees it; ``None`` for types this version does not know."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or raw.get("type") not in (
        "registered",
        "job_available",
        "heartbeat_ack",
        "error",
    ):
        return None
    return _RELAY_MESSAGE.validate_python(raw)


def error_message(error: str, detail: str = "") -> ErrorMessage:
    return ErrorMessage(data=ErrorData(error=error, detail=detail))


def wire_error_parts(exc: WireError) -> tuple[str, str]:
    """``(error, detail)`` of a :class:`WireError` built as ``WireError(error, detail)``."""
    args = [str(a) for a in exc.args] + ["", ""]
    return args[0], args[1]
