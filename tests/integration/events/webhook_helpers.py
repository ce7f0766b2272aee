"""A local HTTP receiver for the webhook tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200); with ``hang`` set
    it holds every request until ``release`` is set."""

    statuses: list[int] = field(default_factory=list)
    hang: bool = False
    bodies: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    waiting: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if rec.hang:
                rec.waiting.release()
                rec.release.wait(60)
            status = rec.statuses.pop(0) if rec.statuses else 200
            rec.bodies.append((body, dict(self.headers)))
            rec.answered.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        rec.release.set()
        httpd.shutdown()
        httpd.server_close()
