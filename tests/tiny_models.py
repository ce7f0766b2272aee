"""Tiny ONNX models with the published input/output signatures of the catalogue formats,
and a loopback HTTP server that serves them like a publisher (for ``dashcam models get``).

Each model computes something simple but input-dependent, so the tests can tell whether
the backend prepared the image the way the format wants (size, colour order, scale,
padding corner) and decoded the output the way its publisher does:

- :func:`build_oim_yolov9` — open-image-models' YOLOv9 end2end plate detector:
  ``images`` float32 ``(1, 3, S, S)`` RGB 0..1 -> ``(N, 7)`` rows ``batch, x1, y1, x2,
  y2, class, score`` after its in-graph NMS (``N`` dynamic). Here: the 4x4 grid cells
  whose mean brightness is high, each as a box of its cell.
- :func:`build_yolox` — a YOLOX COCO export: ``images`` float32 ``(1, 3, S, S)`` BGR
  0..255, top-left letterbox -> ``output`` ``(1, N, 85)``, boxes relative to their grid
  cell. Here: one car in the stride-32 cell (col 3, row 5), ``dx = dy = 0.5``, ``w = 4``
  and ``h = 2`` cells, scored only when the image's blue channel reaches 255 on the
  0..255 scale (so an RGB or 0..1 input scores nothing).
- :func:`build_fast_plate_ocr` — a fast-plate-ocr recogniser: ``input`` uint8
  ``(N, H, W, C)`` -> ``plate`` ``(N, slots, len(alphabet))`` softmax (v2 also
  ``region`` ``(N, len(plate_regions))``), with its plate config. Here: the slots say
  ``?B123CD`` then pads, where ``?`` is ``A`` when the crop is redder than blue and ``B``
  when bluer (RGB order matters), and the region head says ``Italy`` (or as told).
"""

from __future__ import annotations

import hashlib
import http.server
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

FPO_ALPHABET = string.digits + string.ascii_uppercase + "_"
FPO_TEXT = "?B123CD"
#: 66 region labels like the v2 global models' (country names and an Unknown class).
FPO_REGIONS = [
    "Argentina", "Brazil", "Italy", "Germany", "France", "Spain", "United States",
    "Unknown",
] + [f"Region {i}" for i in range(58)]  # fmt: skip


def _save(graph: onnx.GraphProto, path: Path, opset: int = 13) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(value, name)


def build_oim_yolov9(path: Path, size: int = 384) -> Path:
    """An open-image-models-style end2end plate detector (see module docstring)."""
    cell = size // 4
    boxes = np.array(
        [[c * cell, r * cell, (c + 1) * cell, (r + 1) * cell] for r in range(4) for c in range(4)],
        np.float32,
    )
    inits = [
        _const("boxes", boxes),
        _const("zeros", np.zeros((16, 1), np.float32)),
        _const("flat", np.array([16, 1], np.int64)),
        _const("two", np.array(2.0, np.float32)),
        _const("one", np.array(1.0, np.float32)),
        _const("half", np.array(0.5, np.float32)),
        _const("ax0", np.array([0], np.int64)),
    ]
    nodes = [
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[cell, cell],
                         strides=[cell, cell]),
        helper.make_node("ReduceMean", ["pooled"], ["grey"], axes=[1], keepdims=1),
        helper.make_node("Reshape", ["grey", "flat"], ["means"]),
        helper.make_node("Mul", ["means", "two"], ["m2"]),
        helper.make_node("Sub", ["m2", "one"], ["m2s"]),
        helper.make_node("Relu", ["m2s"], ["score"]),
        helper.make_node("Concat", ["zeros", "boxes", "zeros", "score"], ["rows"], axis=1),
        helper.make_node("Reshape", ["score", "ax0_flat"], ["score_flat"]),
        helper.make_node("Greater", ["score_flat", "half"], ["keep"]),
        helper.make_node("NonZero", ["keep"], ["nz"]),
        helper.make_node("Squeeze", ["nz", "ax0"], ["idx"]),
        helper.make_node("Gather", ["rows", "idx"], ["output"], axis=0),
    ]  # fmt: skip
    inits.append(_const("ax0_flat", np.array([16], np.int64)))
    graph = helper.make_graph(
        nodes,
        "oim_yolov9_end2end",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 7])],
        inits,
    )
    return _save(graph, path)


def yolox_rows(size: int) -> int:
    return sum((size // s) ** 2 for s in (8, 16, 32))


def build_yolox(path: Path, size: int = 416) -> Path:
    """A YOLOX-style COCO detector (see module docstring)."""
    n = yolox_rows(size)
    raw_boxes = np.zeros((1, n, 4), np.float32)
    scores = np.zeros((1, n, 81), np.float32)
    g8, g16, g32 = size // 8, size // 16, size // 32
    row = g8 * g8 + g16 * g16 + 5 * g32 + 3  # stride 32, row 5, col 3
    raw_boxes[0, row] = [0.5, 0.5, np.log(4.0), np.log(2.0)]
    scores[0, row, 0] = 0.9  # objectness
    scores[0, row, 1 + 2] = 0.95  # COCO class 2: car
    inits = [
        _const("raw_boxes", raw_boxes),
        _const("raw_scores", scores),
        _const("c0", np.array([0], np.int64)),
        _const("c1", np.array([1], np.int64)),
        _const("lo", np.array(200.0, np.float32)),
        _const("span", np.array(55.0, np.float32)),
        _const("zero", np.array(0.0, np.float32)),
        _const("one", np.array(1.0, np.float32)),
    ]
    nodes = [
        helper.make_node("Slice", ["images", "c0", "c1", "c1"], ["ch0"]),
        helper.make_node("ReduceMax", ["ch0"], ["peak"], keepdims=0),
        helper.make_node("Sub", ["peak", "lo"], ["above"]),
        helper.make_node("Div", ["above", "span"], ["ratio"]),
        helper.make_node("Clip", ["ratio", "zero", "one"], ["gate"]),
        helper.make_node("Mul", ["raw_scores", "gate"], ["gated"]),
        helper.make_node("Concat", ["raw_boxes", "gated"], ["output"], axis=2),
    ]
    graph = helper.make_graph(
        nodes,
        "yolox",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n, 85])],
        inits,
    )
    return _save(graph, path)


@dataclass(frozen=True)
class FpoFiles:
    model: Path
    config: Path


def fpo_config(
    *, slots: int = 10, height: int = 64, width: int = 128, mode: str = "rgb",
    regions: list[str] | None = None,
) -> dict[str, object]:  # fmt: skip
    out: dict[str, object] = {
        "max_plate_slots": slots,
        "alphabet": FPO_ALPHABET,
        "pad_char": "_",
        "img_height": height,
        "img_width": width,
        "keep_aspect_ratio": False,
        "interpolation": "linear",
        "image_color_mode": mode,
        "padding_color": [114, 114, 114],
    }
    if regions:
        out["plate_regions"] = regions
    return out


def build_fast_plate_ocr(
    model_path: Path,
    config_path: Path,
    *,
    v2: bool = True,
    slots: int = 10,
    height: int = 64,
    width: int = 128,
    mode: str = "rgb",
    flat: bool = False,
    region: str = "Italy",
) -> FpoFiles:
    """A fast-plate-ocr-style recogniser and its plate config (see module docstring).

    ``v2``: a ``region`` head and ``plate_regions``; ``flat``: the plate output as
    ``(N, slots * len(alphabet))`` as older exports give it; ``mode``: ``rgb`` or
    ``grayscale`` (then the first slot is always ``A``); ``region``: the label the
    region head favours.
    """
    vocab = len(FPO_ALPHABET)
    logits = np.full((slots, vocab), -4.0, np.float32)
    text = FPO_TEXT.ljust(slots, "_")
    for k, ch in enumerate(text):
        if ch != "?":
            logits[k, FPO_ALPHABET.index(ch)] = 4.0
    steer = np.zeros((1, slots * vocab), np.float32)
    steer[0, FPO_ALPHABET.index("A")] = 0.1  # slot 0: + k (R - B)
    steer[0, FPO_ALPHABET.index("B")] = -0.1
    channels = 3 if mode == "rgb" else 1
    inits = [
        _const("logits", logits.reshape(1, -1)),
        _const("steer", steer),
        _const("shape3", np.array([-1, slots, vocab], np.int64)),
        _const("c0", np.array([0], np.int64)),
        _const("c1", np.array([1], np.int64)),
        _const("c2", np.array([2], np.int64)),
        _const("c3", np.array([3], np.int64)),
        _const("ax3", np.array([3], np.int64)),
        _const("zero", np.array(0.0, np.float32)),
        _const("one", np.array(1.0, np.float32)),
        _const("bias", np.array(20.0, np.float32)),
    ]
    nodes = [
        helper.make_node("Cast", ["input"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x"], ["means"], axes=[1, 2], keepdims=0),  # (N, C)
    ]
    if channels == 3:
        nodes += [
            helper.make_node("Slice", ["means", "c0", "c1", "c1"], ["red"]),
            helper.make_node("Slice", ["means", "c2", "c3", "c1"], ["blue"]),
            helper.make_node("Sub", ["red", "blue"], ["diff"]),  # (N, 1)
        ]
    else:
        nodes += [
            helper.make_node("Slice", ["means", "c0", "c1", "c1"], ["grey"]),
            helper.make_node("Mul", ["grey", "zero"], ["g0"]),
            helper.make_node("Add", ["g0", "bias"], ["diff"]),  # always 'A'
        ]
    nodes += [
        helper.make_node("Mul", ["diff", "zero"], ["d0"]),
        helper.make_node("Add", ["d0", "one"], ["ones"]),  # (N, 1) of 1
        helper.make_node("MatMul", ["ones", "logits"], ["base"]),
        helper.make_node("MatMul", ["diff", "steer"], ["delta"]),
        helper.make_node("Add", ["base", "delta"], ["flat_logits"]),
        helper.make_node("Reshape", ["flat_logits", "shape3"], ["slot_logits"]),
        helper.make_node("Softmax", ["slot_logits"], ["probs"], axis=-1),
    ]
    vocab_out: list[object] = ["N", slots * vocab] if flat else ["N", slots, vocab]
    if flat:
        inits.append(_const("shape2", np.array([-1, slots * vocab], np.int64)))
        nodes.append(helper.make_node("Reshape", ["probs", "shape2"], ["plate"]))
    else:
        nodes.append(helper.make_node("Identity", ["probs"], ["plate"]))
    outputs = [helper.make_tensor_value_info("plate", TensorProto.FLOAT, vocab_out)]
    if v2:
        region_logits = np.full((1, len(FPO_REGIONS)), -3.0, np.float32)
        region_logits[0, FPO_REGIONS.index(region)] = 5.0
        inits.append(_const("region_logits", region_logits))
        nodes += [
            helper.make_node("MatMul", ["ones", "region_logits"], ["rl"]),
            helper.make_node("Softmax", ["rl"], ["region"], axis=-1),
        ]
        outputs.append(
            helper.make_tensor_value_info("region", TensorProto.FLOAT, ["N", len(FPO_REGIONS)])
        )
    graph = helper.make_graph(
        nodes,
        "fast_plate_ocr",
        [helper.make_tensor_value_info("input", TensorProto.UINT8, ["N", height, width, channels])],
        outputs,
        inits,
    )
    _save(graph, model_path)
    config = fpo_config(
        slots=slots, height=height, width=width, mode=mode, regions=FPO_REGIONS if v2 else None
    )
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return FpoFiles(model_path, config_path)


# --- a publisher on loopback ----------------------------------------------------------


@dataclass
class Publisher:
    """What the loopback server serves and what it was asked.

    ``files`` maps a file name to its bytes; ``cut_after`` makes the next answer for a
    file stop after that many bytes (then the connection closes); ``requests`` records
    ``(file name, Range header or None)``.
    """

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def add(self, path: Path) -> str:
        self.files[path.name] = path.read_bytes()
        return hashlib.sha256(self.files[path.name]).hexdigest()


def _handler(pub: Publisher) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            rng = self.headers.get("Range")
            pub.requests.append((name, rng))
            data = pub.files.get(name)
            if data is None:
                self.send_error(404)
                return
            start = 0
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = pub.cut_after.pop(name, None)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(pub: Publisher) -> Iterator[Publisher]:
    """Serve ``pub`` on 127.0.0.1 (a free port) until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(pub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pub.url = f"http://127.0.0.1:{server.server_address[1]}/models"
    try:
        yield pub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
