"""What installing and checking catalogue models costs: ``models get`` from a loopback
publisher, ``verify``, and the sha256 check every load does, at the sizes of the
catalogue's models (about 3.6 MB yolox-nano, 36 MB yolox-s, 97 MB yolox-m).

No real weights can be fetched where the tests run, so the files are random bytes of
those sizes and the download is not probed as a model (the probe is one model load,
timed by the backends' own benchmarks). Also times a resumed download: the first
transfer cut at half, then the rest.

Run: ``.venv/bin/python benchmarks/models.py [--sizes-mb 3.6 36 97]``. Prints JSON.
"""

from __future__ import annotations

import _syspath  # noqa: F401  (first: keeps queue.py from shadowing the stdlib)

# isort: split
import argparse
import http.server
import json
import os
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from dashcam.backends.catalogue import CATALOGUE, ModelFile
from dashcam.backends.model_fetch import fetch
from dashcam.backends.model_store import problems, read_manifest, require

SPEC = CATALOGUE["yolox-s"]


def _server(files: dict[str, bytes], cut: dict[str, int]) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            data = files[self.path.rsplit("/", 1)[-1]]
            start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0])
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            stop = cut.pop("next", None)
            self.wfile.write(data[start:stop] if stop else data[start:])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(size_mb: float, root: Path) -> dict[str, object]:
    name = f"bench-{size_mb}.onnx"
    data = os.urandom(int(size_mb * 1e6))
    files, cut = {name: data}, {}
    server = _server(files, cut)
    mirror = f"http://127.0.0.1:{server.server_address[1]}"
    spec = replace(SPEC, files=(ModelFile(f"{mirror}/{name}", name),))
    out: dict[str, object] = {"size_mb": size_mb}
    try:
        models = root / f"m{size_mb}"
        t0 = time.perf_counter()
        fetch(spec, models, mirror=mirror)
        out["get_s"] = round(time.perf_counter() - t0, 3)
        entry = read_manifest(models)[spec.name]
        t0 = time.perf_counter()
        assert problems(entry, models) == []
        out["verify_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        require(models, spec.name)
        out["load_check_s"] = round(time.perf_counter() - t0, 3)
        resumed = root / f"r{size_mb}"
        cut["next"] = len(data) // 2
        try:
            fetch(spec, resumed, mirror=mirror)
        except Exception as exc:  # the cut transfer: expected
            out["cut_error"] = type(exc).__name__
        t0 = time.perf_counter()
        fetch(spec, resumed, mirror=mirror)
        out["resume_rest_s"] = round(time.perf_counter() - t0, 3)
        out["resumed_sha256_matches"] = (
            read_manifest(resumed)[spec.name].files[0].sha256 == entry.files[0].sha256
        )
        out["get_mb_per_s"] = round(size_mb / max(float(out["get_s"]), 1e-9), 1)  # type: ignore[arg-type]
    finally:
        server.shutdown()
        server.server_close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[3.6, 36.0, 97.0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(s, Path(tmp)) for s in args.sizes_mb]
    print(json.dumps({"benchmark": "models", "loopback": True, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
