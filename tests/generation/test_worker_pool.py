"""Tasks on forked worker processes: a worker's death fails the pool naming its task."""

from __future__ import annotations

import os
import signal

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
