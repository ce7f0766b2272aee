"""Imported first by every benchmark: moves the benchmarks folder to the end of ``sys.path``.

``python benchmarks/X.py`` puts this folder first on ``sys.path``, where ``queue.py``
(the task-queue benchmark) would shadow the standard library's ``queue`` for every later
``import queue`` (anyio's asyncio backend, psycopg, concurrent.futures, ...). Last, not
gone: processes a benchmark spawns re-run its script with the same ``sys.path``, and
they import this module again.
"""

import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
_ours = [p for p in sys.path if Path(p or ".").resolve() == _here]
sys.path[:] = [p for p in sys.path if p not in _ours] + _ours[:1]
