"""Property-based runs of an HTTP API from its own OpenAPI schema (schemathesis + hypothesis).

Every operation gets valid requests (positive) and invalid ones (negative); each answer is
checked for 5xx, undocumented status codes, content types and the documented response
schema. Bounded: ``max_examples`` per operation and mode, and a wall-clock ``budget_s``
for the whole run. Failures are collected (not shrunk), so one run reports them all.
Server-sent-event operations are sent for real and cut after their headers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class FuzzReport:
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD path mode" -> first failure
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per operation and mode
    sent: dict[str, int] = field(default_factory=dict)  # requests per "METHOD path"

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "requests": self.requests,
            "5xx": self.server_errors,
            "failures": len(self.failures),
            "statuses": dict(sorted(self.statuses.items())),
        }


def _is_stream(op: Any) -> bool:
    responses = op.definition.raw.get("responses", {})
    ok = responses.get("200", {}).get("content", {})
    return "text/event-stream" in ok


def _send_stream(case: Any, base_url: str, headers: dict[str, str]) -> tuple[int, str]:
    kw = case.as_transport_kwargs(base_url=base_url, headers=headers)
    with (
        httpx.Client(timeout=10) as c,
        c.stream(kw["method"], kw["url"], params=kw.get("params"), headers=kw["headers"]) as r,
    ):
        return r.status_code, r.headers.get("content-type", "")


def _checker(
    report: FuzzReport,
    label: str,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    deadline: float,
    prepare: Callable[[Any], None] | None,
) -> Callable[[Any], None]:
    def check(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        if prepare is not None:
            prepare(case)
        report.requests += 1
        op = label.rsplit(" ", 1)[0]
        report.sent[op] = report.sent.get(op, 0) + 1
        if _is_stream(case.operation):
            status, ctype = _send_stream(case, base_url, headers)
            report.statuses[status] = report.statuses.get(status, 0) + 1
            report.server_errors += status >= 500
            if status == 200 and not ctype.startswith("text/event-stream"):
                report.failures.setdefault(label, f"stream answered {ctype}")
            elif status not in (200, 401, 422):
                report.failures.setdefault(label, f"stream answered {status}")
            return
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        code = response.status_code
        report.statuses[code] = report.statuses.get(code, 0) + 1
        report.server_errors += code >= 500
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # keep the first per op and mode
            report.failures.setdefault(label, f"{exc}"[:1500])

    return check


def fuzz_openapi(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    max_examples: int = 25,
    budget_s: float = 90.0,
    prepare: Callable[[Any], None] | None = None,
) -> FuzzReport:
    """Run every operation of the API at ``base_url`` (schema at ``/openapi.json``)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    report = FuzzReport()
    session = requests.Session()
    deadline = time.monotonic() + budget_s
    ops = [r.ok() for r in schema.get_all_operations()]
    report.operations = len(ops)
    for op in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{op.method.upper()} {op.path} {mode.value}"
            check = _checker(report, label, base_url, session, headers or {}, deadline, prepare)
            bounded = settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            t0 = time.monotonic()
            try:
                given(case=op.as_strategy(generation_mode=mode))(bounded(check))()
            except Unsatisfiable:  # no invalid request exists (an operation without inputs)
                continue
            finally:
                report.seconds[label] = round(time.monotonic() - t0, 2)
    session.close()
    return report
