"""Imported first by every benchmark: takes the benchmarks folder off ``sys.path``.

``python benchmarks/X.py`` puts this folder first on ``sys.path``, where ``queue.py``
(the task-queue benchmark) would shadow the standard library's ``queue`` for every later
``import queue`` (anyio's asyncio backend, psycopg, concurrent.futures, ...).
"""

import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
