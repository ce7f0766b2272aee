"""The benchmark scripts run as ``python benchmarks/X.py``, which puts their folder first
on ``sys.path``; ``benchmarks/queue.py`` must then not shadow the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_there_are_benchmarks_and_queue_is_one_of_them() -> None:
    assert "queue.py" in {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_imports_the_syspath_guard_before_anything_else(script: Path) -> None:
    imports = [
        node
        for node in ast.parse(script.read_text()).body
        if isinstance(node, ast.Import)
        or (isinstance(node, ast.ImportFrom) and node.module != "__future__")
    ]
    assert imports, f"{script.name} imports nothing"
    first = imports[0]
    assert isinstance(first, ast.Import) and first.names[0].name == "_syspath", (
        f"{script.name}: first import is line {first.lineno}, expected 'import _syspath'"
    )


def test_with_the_guard_import_queue_is_the_standard_library(tmp_path: Path) -> None:
    # A copy of the folder's guard and queue.py, and a script beside them run the way
    # users run the benchmarks.
    for name in ("_syspath.py", "queue.py"):
        (tmp_path / name).write_bytes((BENCHMARKS / name).read_bytes())
    probe = tmp_path / "probe.py"
    probe.write_text("import _syspath\nimport queue\nprint(queue.__file__)\n")
    out = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert Path(out).resolve().parent != tmp_path.resolve()
    assert Path(out).name == "queue.py"
    # A process the script spawns re-runs it, guard included (benchmarks/pipeline.py).
    spawner = tmp_path / "spawner.py"
    spawner.write_text(
        "import _syspath\n"
        "import multiprocessing as mp\n"
        "from pathlib import Path\n"
        "def child() -> None:\n"
        "    import queue\n"
        "    assert Path(queue.__file__).parent != Path(__file__).parent\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=child)\n"
        "    p.start(); p.join(60)\n"
        "    raise SystemExit(p.exitcode)\n"
    )
    run = subprocess.run(
        [sys.executable, str(spawner)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    # ... and without it the folder's queue.py wins: the guard is what makes the difference.
    bare = subprocess.run(
        [sys.executable, "-c", "import queue; print(queue.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=BENCHMARKS,
    ).stdout.strip()
    assert Path(bare).resolve().parent == BENCHMARKS
