"""The loop of one worker process (detector or CPU kind).

A worker talks to the orchestrator over its own pipe only, so killing it can never leave
a shared lock held: it says which category it wants next (the busiest of its kind, read
from the shared status map), gets tasks, runs them and sends the results back. A small
thread keeps the pipe drained into a local queue, so the orchestrator's sends never wait
on a busy worker (and a worker sending a large result can never deadlock with it). The
worker heartbeats into its row of the status map while idle and around every task.

Ctrl+C reaches every process of the terminal's group; workers ignore SIGINT and leave
the decision to the orchestrator, which drains them or ends them.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection

from dashcam.config import Settings
from dashcam.errors import describe
from dashcam.pipeline.handlers import Handlers
from dashcam.pipeline.status import StatusBoard
from dashcam.pipeline.tasks import Done, Failed, Ready, Stop, Task
from dashcam.stages.category import TaskCategory, WorkerKind

log = logging.getLogger(__name__)


def worker_main(
    index: int,
    kind: WorkerKind,
    conn: Connection,
    board: StatusBoard,
    settings: Settings,
    heartbeat_interval_s: float,
    threads: int,
) -> None:
    """Entry point of a worker process; returns when told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads > 0:
        import cv2

        cv2.setNumThreads(threads)
    handlers = Handlers(settings)
    pid = os.getpid()
    board.register(index, pid, kind)
    inbox: queue.SimpleQueue[Task | Stop] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(conn, inbox), daemon=True, name="dashcam-inbox").start()
    current: TaskCategory | None = None
    try:
        conn.send(Ready(worker=index, pid=pid, want=board.busiest(kind)))
        while True:
            board.beat(index, current, busy=False)
            try:
                msg = inbox.get(timeout=heartbeat_interval_s)
            except queue.Empty:
                continue
            if isinstance(msg, Stop):
                return
            current = msg.category
            board.beat(index, current, busy=True)
            reply = _run(handlers, msg, index, kind, board)
            board.task_done(index)
            conn.send(reply)
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        return
    finally:
        handlers.close()
        board.beat(index, None, busy=False)


def _receive(conn: Connection, inbox: queue.SimpleQueue[Task | Stop]) -> None:
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            inbox.put(Stop("orchestrator gone"))
            return
        inbox.put(msg)
        if isinstance(msg, Stop):
            return


def _run(
    handlers: Handlers, task: Task, index: int, kind: WorkerKind, board: StatusBoard
) -> Done | Failed:
    t0 = time.perf_counter()
    try:
        result, name = handlers.run(task)
    except Exception as exc:
        log.debug("task %s failed", task.task_id, exc_info=True)
        return Failed(
            worker=index,
            task_id=task.task_id,
            error=describe(exc),
            traceback=traceback.format_exc(),
            want=board.busiest(kind),
        )
    return Done(
        worker=index,
        task_id=task.task_id,
        result=result,
        stage_name=name,
        want=board.busiest(kind),
        elapsed_s=time.perf_counter() - t0,
    )
