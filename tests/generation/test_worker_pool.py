"""Tasks on forked worker processes: a worker's death fails the pool naming its task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from imagenet_pi.generation import worker_pool


class _Task:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"task {self.name}"


def test_worker_pool_names_the_task_of_a_worker_that_died(tmp_path):
    def run(task, progress):
        if task.name == "b":
            os.kill(os.getpid(), signal.SIGKILL)
        return task.name

    with (
        pytest.raises(worker_pool.WorkerError) as error,
        worker_pool.WorkerPool(run, num_workers=2, death_hint="Try again.") as pool,
    ):
        for name in "abc":
            pool.submit(_Task(name))
        list(pool.results())
    message = str(error.value)
    assert "died while working on task b: killed by signal SIGKILL" in message
    assert message.endswith("Try again.")


_FORK_IN_A_JAX_PROCESS = """
import jax.numpy as jnp
from imagenet_pi.generation import worker_pool

jnp.ones(3).block_until_ready()  # JAX's threads are running


class Named:
    def describe(self):
        return "a task"


with worker_pool.WorkerPool(lambda task, progress: 7, num_workers=2) as pool:
    pool.submit(Named())
    pool.submit(Named())
    print(sorted(done.result for done in pool.results()))
"""


def test_workers_forked_in_a_jax_process_bring_no_jax_warning():
    # JAX warns at every fork of a process that uses it; the workers never call JAX.
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", _FORK_IN_A_JAX_PROCESS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[7, 7]"
    assert "os.fork() was called" not in result.stderr


def test_without_fork_the_workers_asked_for_run_in_this_process(monkeypatch, caplog):
    monkeypatch.setattr(worker_pool.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with worker_pool.WorkerPool(lambda task, progress: os.getpid(), num_workers=4) as pool:
        pool.submit(_Task("a"))
        pool.submit(_Task("b"))
        pids = [done.result for done in pool.results()]
    assert pids == [os.getpid(), os.getpid()]
    assert "cannot fork processes: the 4 workers asked for run as one" in caplog.text


@pytest.mark.parametrize("workers", [1, 2])
def test_errors_as_results_gives_a_task_error_back_and_runs_the_other_tasks(workers):
    def run(task, progress):
        if task.name == "b":
            raise ValueError("b is bad")
        return task.name

    with worker_pool.WorkerPool(run, num_workers=workers, errors_as_results=True) as pool:
        for name in "abc":
            pool.submit(_Task(name))
        results = {done.task.name: done.result for done in pool.results()}
    assert results["a"] == "a" and results["c"] == "c"
    failed = results["b"]
    assert isinstance(failed, worker_pool.TaskFailed)
    assert isinstance(failed.error, ValueError) and str(failed.error) == "b is bad"
    if workers > 1:  # the worker's traceback, as the pool would raise it
        assert "raised in worker process" in str(failed.error.__cause__)
