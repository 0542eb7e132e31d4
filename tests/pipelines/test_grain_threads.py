"""The grain back end without worker processes: its read threads, their batches, and how they
stop."""

from __future__ import annotations

import gc
import threading

import jax_batches
import numpy as np
import pytest

_iterator = jax_batches.iterator
_take = jax_batches.take
_names = jax_batches.file_names


def test_grain_read_threads_all_run_and_do_not_change_batches(builds, caplog):
    """Every read thread gets a batch in flight (grain runs no more threads than its
    prefetch buffer holds, and says so in a warning), and batches depend only on their step."""
    kwargs = dict(split="train", train=True, seed=3)
    two = _take(_iterator(builds, "grain", read_threads=2, **kwargs), 3)
    with caplog.at_level("WARNING"):
        four = _take(_iterator(builds, "grain", read_threads=4, **kwargs), 3)
    assert not [r for r in caplog.records if "smaller than num_threads" in r.getMessage()]
    for a, b in zip(two, four):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])


def _grain_iterator_and_its_read_threads(builds) -> tuple[object, list[threading.Thread]]:
    before = set(threading.enumerate())
    iterator = _iterator(builds, "grain", split="validation", train=False, read_threads=2)
    next(iterator)
    started = [t for t in set(threading.enumerate()) - before if t.name.startswith("grain")]
    assert started  # grain read ahead in its threads
    return iterator, started


def _still_running(threads: list[threading.Thread]) -> list[threading.Thread]:
    for thread in threads:
        thread.join(timeout=60)  # a guard against a hang, not a wait for a race
    return [thread for thread in threads if thread.is_alive()]


def test_closing_a_grain_iterator_stops_its_read_threads(builds):
    iterator, started = _grain_iterator_and_its_read_threads(builds)
    iterator.close()
    assert not _still_running(started)


@pytest.mark.slow
def test_dropping_a_grain_iterator_stops_its_read_threads(builds):
    """grain's read threads stop (and their buffered batches go) with the iterator."""
    iterator, started = _grain_iterator_and_its_read_threads(builds)
    del iterator
    gc.collect()  # the iterator may sit in a reference cycle: collect it now, not some day
    assert not _still_running(started)
