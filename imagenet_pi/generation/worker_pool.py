"""Tasks run on forked worker processes, with every failure reported by the task it hit.

A build fans its work out to worker processes made by `fork`: they share the parent's
memory as it was when they started (the parsed annotations, the features), so nothing
large is pickled and a worker starts in milliseconds. Each worker runs one task at a
time, sent to it over its own pipe, so the parent always knows what every worker does:

- a task that raises fails the pool with that exception (re-raised in the parent as
  itself when it pickles, else as `WorkerError` with the worker's traceback), or, if
  the pool was made with `errors_as_results`, is given back as a `TaskFailed` result
  for the caller to raise or not;
- a worker that dies (SIGKILL, the out-of-memory killer, a crash) fails the pool at
  once, with a `WorkerError` naming the task it was on and how it died;
- Ctrl-C (SIGINT) reaches the parent only (workers ignore it) and stops every worker;
- the pool always ends with no worker left: closed, failed or interrupted, it kills
  the workers still running and waits for them. A worker whose parent dies is killed
  by the kernel (`PR_SET_PDEATHSIG`, Linux).

With one worker, tasks run in this process, one after the other: the same tasks and
results, no fork.

Workers do not use TensorFlow's runtime (its thread pools and locks are copied in
whatever state they were in at the fork): tasks use numpy, protobuf, PIL and file I/O.
The one exception is the rare odd image (CMYK, PNG, a JPEG with no end marker), which
`ilsvrc.image_fixes` decodes with one TensorFlow kernel that runs on the calling thread
(`tests/end_to_end/test_parallel_build.py` builds such images on workers forked after
the parent has used TensorFlow's thread pools).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from imagenet_pi import errors

logger = logging.getLogger(__name__)

# A worker sends its progress to the parent at most this often (seconds).
_PROGRESS_INTERVAL = 0.2
# How long a pool being closed waits for an idle worker to exit before killing it (seconds).
_EXIT_GRACE = 5.0
_PR_SET_PDEATHSIG = 1


class Task(Protocol):
    """A unit of work: picklable, and able to say what it works on (for error messages)."""

    def describe(self) -> str: ...


# `run_task(task, progress)` runs one task and returns its (picklable) result;
# `progress(n)` reports n more items done.
RunTask = Callable[[Any, Callable[[int], None]], Any]
OnProgress = Callable[[Any, int], None]


class WorkerError(errors.ImagenetPiError, RuntimeError):
    """A worker died, or raised an error that could not be sent to the parent as itself."""


@dataclasses.dataclass(frozen=True)
class Done:
    """A finished task and what it returned."""

    task: Any
    result: Any


@dataclasses.dataclass(frozen=True)
class TaskFailed:
    """The result of a task that raised, in a pool made with `errors_as_results`.

    Attributes:
      error: the exception, as `results` would have raised it (a worker's traceback as
        its cause).
    """

    error: BaseException


@dataclasses.dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: multiprocessing.connection.Connection
    task: Any = None  # the task it is on, None when idle


class WorkerPool:
    """Runs tasks on `num_workers` forked processes (in this process if `num_workers` is 1).

    Use it as a context manager; `submit` tasks (also while iterating), and iterate
    `results()` for them as they finish, in any order:

        with WorkerPool(run_task, num_workers=4) as pool:
            for task in tasks:
                pool.submit(task)
            for done in pool.results():
                ...

    Args:
      run_task: `(task, progress) -> result`. Workers call the function they inherited
        at fork time, with the memory it sees as it was then: tasks carry anything
        computed later.
      num_workers: processes to run tasks on (>= 1).
      on_progress: called in this process with `(task, n)` as a task reports progress.
      death_hint: appended to the message of a worker that died (what to do).
      errors_as_results: give the error of a task that raises as its result, a
        `TaskFailed`, and go on; a worker's death still fails the pool.
    """

    def __init__(
        self,
        run_task: RunTask,
        num_workers: int,
        on_progress: OnProgress | None = None,
        death_hint: str = "",
        errors_as_results: bool = False,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"num_workers: expected an integer >= 1, found {num_workers}")
        if num_workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
            logger.warning(
                "This platform cannot fork processes: the %d workers asked for run as one, "
                "in this process.",
                num_workers,
            )
            num_workers = 1
        self._run_task = run_task
        self._num_workers = num_workers
        self._on_progress = on_progress or (lambda task, n: None)
        self._death_hint = death_hint
        self._errors_as_results = errors_as_results
        self._pending: collections.deque[Any] = collections.deque()
        self._workers: list[_Worker] = []
        self._next_id = 0

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    @property
    def in_process(self) -> bool:
        """Whether tasks run in this process (one worker)."""
        return self._num_workers == 1

    def submit(self, task: Any) -> None:
        """Queues `task`; it runs when a worker is free (tasks start in submission order)."""
        self._pending.append(task)

    def discard(self, predicate: Callable[[Any], bool]) -> list[Any]:
        """Removes the queued tasks that have not started and match `predicate`; returns them."""
        removed = [task for task in self._pending if predicate(task)]
        self._pending = collections.deque(task for task in self._pending if not predicate(task))
        return removed

    def results(self) -> Iterator[Done]:
        """Runs the queued tasks, yielding each as it finishes, until none is left.

        Raises the first error of a task (unless `errors_as_results`), or `WorkerError`
        when a worker dies; the pool is then unusable (close it, or leave its `with` block).
        """
        if self.in_process:
            while self._pending:
                task = self._pending.popleft()
                try:
                    result = self._run_task(task, lambda n, task=task: self._on_progress(task, n))
                except Exception as error:
                    if not self._errors_as_results:
                        raise
                    result = TaskFailed(error)
                yield Done(task, result)
            return
        while self._pending or self._busy():
            self._dispatch()
            busy = self._busy()
            waited = [worker.connection for worker in busy]
            ready = multiprocessing.connection.wait(
                waited + [worker.process.sentinel for worker in busy]
            )
            for worker in busy:
                if worker.connection in ready or worker.process.sentinel in ready:
                    yield from self._receive(worker)

    def close(self, kill: bool = False) -> None:
        """Stops every worker: idle ones are told to exit, busy ones (or all, if `kill`) killed."""
        self._pending.clear()
        for worker in self._workers:
            if worker.task is None and not kill:
                with contextlib.suppress(OSError, ValueError):
                    worker.connection.send(None)
            else:
                _kill(worker.process)
        deadline = time.monotonic() + _EXIT_GRACE
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _kill(worker.process)
                worker.process.join()
            worker.connection.close()
        self._workers = []

    # --- Worker processes ----------------------------------------------------------------

    def _busy(self) -> list[_Worker]:
        return [worker for worker in self._workers if worker.task is not None]

    def _dispatch(self) -> None:
        """Gives queued tasks to idle workers, starting workers as needed."""
        while self._pending:
            worker = next((w for w in self._workers if w.task is None), None)
            if worker is None:
                if len(self._workers) == self._num_workers:
                    return
                worker = self._start_worker()
            task = self._pending.popleft()
            worker.task = (self._next_id, task)
            self._next_id += 1
            try:
                worker.connection.send(worker.task)
            except OSError:  # it died while idle
                self._raise_death(worker)

    def _start_worker(self) -> _Worker:
        parent_end, child_end = multiprocessing.Pipe(duplex=True)
        process = multiprocessing.get_context("fork").Process(
            target=_worker_main,
            args=(child_end, parent_end, self._run_task, os.getpid()),
            daemon=True,  # killed by multiprocessing at exit if the pool was never closed
        )
        with warnings.catch_warnings():
            # JAX warns at every fork of a process that uses it; workers never call JAX.
            warnings.filterwarnings(
                "ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning
            )
            process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        self._workers.append(worker)
        return worker

    def _receive(self, worker: _Worker) -> Iterator[Done]:
        """Handles what `worker` sent (or its death)."""
        while worker.task is not None:
            try:
                if not worker.connection.poll():
                    if worker.process.is_alive():
                        return
                    self._raise_death(worker)
                message = worker.connection.recv()
            except (EOFError, OSError):
                self._raise_death(worker)
            kind, _, *payload = message
            _, task = worker.task
            if kind == "progress":
                self._on_progress(task, payload[0])
            elif kind == "done":
                worker.task = None
                yield Done(task, payload[0])
            else:
                error, worker_traceback = payload
                worker.task = None
                if error is not None:
                    error.__cause__ = WorkerError(  # as `raise error from ...` sets it
                        f"raised in worker process {worker.process.pid} on {task.describe()}:\n"
                        f"{worker_traceback}"
                    )
                else:
                    error = WorkerError(
                        f"The worker process {worker.process.pid} failed on {task.describe()}:\n"
                        f"{worker_traceback}"
                    )
                if not self._errors_as_results:
                    raise error
                yield Done(task, TaskFailed(error))

    def _raise_death(self, worker: _Worker) -> None:
        worker.process.join(1.0)
        code = worker.process.exitcode
        if code is None:
            how = "it closed its pipe"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how = f"killed by signal {name}"
            if -code == signal.SIGKILL:
                how += " (sent by `kill -9` or by the kernel's out-of-memory killer)"
        else:
            how = f"it exited with status {code}"
        _, task = worker.task
        raise WorkerError(
            f"The worker process {worker.process.pid} died while working on "
            f"{task.describe()}: {how}.{' ' + self._death_hint if self._death_hint else ''}"
        )


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    with contextlib.suppress(OSError, AttributeError):
        process.kill()


def _worker_main(
    connection: multiprocessing.connection.Connection,
    parent_end: multiprocessing.connection.Connection,
    run_task: RunTask,
    parent_pid: int,
) -> None:
    """A worker's loop: run each task received, send back its result or error."""
    parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent_pid)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, task = message
        progress = _Progress(connection, task_id)
        try:
            result = run_task(task, progress)
        except BaseException as error:
            progress.flush()
            connection.send(("error", task_id, _portable(error), traceback.format_exc()))
            continue
        progress.flush()
        connection.send(("done", task_id, result))


class _Progress:
    """A worker's `progress(n)`: sums counts, sends them at most every `_PROGRESS_INTERVAL`."""

    def __init__(self, connection: multiprocessing.connection.Connection, task_id: int) -> None:
        self._connection = connection
        self._task_id = task_id
        self._count = 0
        self._sent_at = time.monotonic()

    def __call__(self, n: int) -> None:
        self._count += n
        if time.monotonic() - self._sent_at >= _PROGRESS_INTERVAL:
            self.flush()

    def flush(self) -> None:
        if self._count:
            self._connection.send(("progress", self._task_id, self._count))
            self._count = 0
        self._sent_at = time.monotonic()


def _portable(error: BaseException) -> BaseException | None:
    """`error` if it survives pickling (as the same type and message), else None."""
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:
        return None
    return copy if type(copy) is type(error) and str(copy) == str(error) else None


def _die_with_parent(parent_pid: int) -> None:
    """Asks the kernel to kill this process when its parent dies (Linux), and checks now."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)
