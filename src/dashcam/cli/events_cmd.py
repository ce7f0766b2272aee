"""``dashcam events tail``: the server's live event stream, one event per line (like
``mosquitto_sub -v``), and ``dashcam events schema``: the payloads' JSON Schema."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import typer

from dashcam.cli.common import settings_from
from dashcam.domain.events import (
    EVENT_ADAPTER,
    EventType,
    PlateReadEvent,
    SightingEvent,
    VideoEvent,
    WatchlistHitEvent,
    WorkerEvent,
)
from dashcam.errors import DashcamError, InputError

events_app = typer.Typer(help="The events dashcam publishes (MQTT, webhooks, dashboard).")


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str | None, str, str]]:
    """``(id, event, data)`` for each server-sent event in ``lines``.

    >>> list(sse_events(iter(["retry: 2000", "", "id: 3", "event: sighting", "data: {}", ""])))
    [('3', 'sighting', '{}')]
    """
    eid: str | None = None
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield eid, name, "\n".join(data)
            name, data = "message", list[str]()
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            eid = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)


@events_app.command("tail")
def tail(
    server_url: str | None = typer.Option(
        None, "--server", metavar="URL", help="The server (default: DASHCAM_SERVER_URL)."
    ),
    types: list[EventType] = typer.Option(
        [], "--type", "-t", help="Only these event types (repeatable)."
    ),
    backlog: int = typer.Option(0, "--backlog", help="First print this many recent events."),
    count: int = typer.Option(0, "--count", "-n", help="Exit after this many events (0: never)."),
    raw: bool = typer.Option(False, "--json", help="Print the JSON only (one object a line)."),
) -> None:
    """Print the server's events as they happen: ``<type> <JSON>`` per line."""
    settings = settings_from()
    base = (server_url or settings.server_url).rstrip("/")
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    params: list[tuple[str, str | int | float | bool | None]] = [("type", t.value) for t in types]
    if backlog:
        params.append(("backlog", backlog))
    printed = 0
    last_id: str | None = None
    while True:
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            with httpx.stream(
                "GET",
                f"{base}/api/events",
                params=params,
                headers=headers,
                timeout=httpx.Timeout(10.0, read=None),
            ) as r:
                if r.status_code in (401, 403):
                    raise InputError(f"{base}: the API key was refused (DASHCAM_API_KEY)")
                r.raise_for_status()
                for eid, name, data in sse_events(r.iter_lines()):
                    last_id = eid or last_id
                    typer.echo(data if raw else f"{name} {data}")
                    printed += 1
                    if count and printed >= count:
                        return
        except httpx.HTTPStatusError as exc:
            raise DashcamError(f"{base}/api/events: HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            if last_id is None:  # never connected: say so rather than wait forever
                raise DashcamError(f"cannot reach {base}: {exc}") from None
            typer.echo(f"events tail: connection lost ({exc}); reconnecting", err=True)
            time.sleep(2.0)


@events_app.command("schema")
def schema(
    markdown: bool = typer.Option(False, "--markdown", help="As the tables of docs/events.md."),
) -> None:
    """The JSON Schema of every event payload (docs/events.md shows it as tables)."""
    if markdown:
        typer.echo(schema_markdown(), nl=False)
    else:
        typer.echo(json.dumps(EVENT_ADAPTER.json_schema(), indent=2, sort_keys=True))


def _type_name(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{prop['const']!r}`".replace("'", '"')
    if "enum" in prop:
        return " or ".join(f'`"{v}"`' for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    kind = str(prop.get("type", "any"))
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def schema_markdown() -> str:
    """One table per event model (field, JSON type, meaning), from the models. Every
    payload carries every field (``null`` where the type allows it and nothing is known)."""
    parts = []
    for model in (SightingEvent, WatchlistHitEvent, PlateReadEvent, VideoEvent, WorkerEvent):
        props = model.model_json_schema()["properties"]
        order = ["type", *(k for k in props if k != "type")]
        rows = [
            f"| `{k}` | {_type_name(props[k])} | {props[k].get('description', '')} |" for k in order
        ]
        head = f"### {model.__name__}\n\n| field | type | meaning |\n|---|---|---|\n"
        parts.append(head + "\n".join(rows) + "\n")
    return "\n".join(parts)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
