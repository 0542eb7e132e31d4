"""The one lifecycle of the grain back ends: step counting, state, close and restart.

Both grain back ends (`grain_threads`, `grain_workers`) give the batches of the same
`grain_source.BatchSource`, whose batch depends only on its step. So their position is
the number of batches handed out, and resuming is restarting at that step. A state
records that step and what decides which examples come at each step (`identity`), so
that it is never applied to another stream.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

CLOSED = "this grain stream is closed"


class GrainStream(Iterator[dict], abc.ABC):
    """Raw batches of a grain back end, from a position that `set_state` moves.

    `get_state()` gives `{"step": batches handed out, **identity}`; `set_state(state)`
    checks it against this stream's identity and restarts at its step. After `close()`,
    `next()`, `get_state()` and `set_state()` raise ValueError: a closed stream never
    restarts (make a new one).

    Subclasses start reading at a step (`_start`), give the next batch (`_next_batch`)
    and stop everything they started (`_stop`, idempotent).
    """

    def __init__(self, num_batches: int, identity: Mapping[str, Any]):
        self._num_batches = num_batches
        self._identity = dict(identity)
        self._closed = False
        self._step = 0
        self._start(0)

    @abc.abstractmethod
    def _start(self, step: int) -> None:
        """Starts reading at batch `step` (`self._step` is already `step`)."""

    @abc.abstractmethod
    def _next_batch(self) -> dict:
        """The batch at `self._step`; StopIteration at the end of the stream."""

    @abc.abstractmethod
    def _stop(self) -> None:
        """Stops whatever `_start` started, at once; idempotent."""

    def __iter__(self) -> GrainStream:
        return self

    def __next__(self) -> dict:
        self._check_open()
        batch = self._next_batch()
        self._step += 1
        return batch

    def get_state(self) -> dict[str, Any]:
        """`{"step": batches handed out, **identity}`: plain values (JSON-able)."""
        self._check_open()
        return {"step": self._step, **self._identity}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continues after the `state["step"]` first batches; refuses a state of another
        stream (see `check_state`)."""
        self._check_open()
        step = check_state(state, self._identity, self._num_batches)
        self._stop()
        self._step = step
        self._start(step)

    def close(self) -> None:
        """Stops reading (threads, pipelines, worker processes); idempotent."""
        if not getattr(self, "_closed", True):
            self._closed = True
            self._stop()

    def __del__(self) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(CLOSED)


def check_state(state: Any, identity: Mapping[str, Any], num_batches: int) -> int:
    """The step of `state` if it was saved from a stream of this `identity`; else ValueError
    naming what differs.

    A state of version 0.1.0 of this package, `{"step": n}`, records no identity and is
    refused: the message says how to resume from it knowingly.
    """
    if not isinstance(state, Mapping) or "step" not in state:
        raise ValueError(
            f"set_state expects the dict get_state() of a grain iterator returns "
            f"({{'step': n, {', '.join(repr(key) + ': ...' for key in identity)}}}); "
            f"got {state!r}"
        )
    step = state["step"]
    if set(state) == {"step"}:
        raise ValueError(
            f"set_state got {dict(state)!r}, a state saved by imagenet_pi 0.1.0, which does not "
            f"record what it was saved from ({', '.join(identity)}), so it cannot be checked "
            "against this iterator. If you know it was saved from an iterator made with the "
            "same dataset, split and arguments, resume with "
            f"it.set_state({{**it.get_state(), 'step': {step!r}}})"
        )
    differences = [
        f"{key} {state.get(key, '(missing)')!r} in the state, {value!r} here"
        for key, value in identity.items()
        if key not in state or state[key] != value
    ]
    unknown = sorted(set(state) - set(identity) - {"step"})
    differences += [f"{key} {state[key]!r} in the state, unknown here" for key in unknown]
    if differences:
        raise ValueError(
            f"set_state: this state was saved from another stream ({'; '.join(differences)}). "
            "Make the iterator with the dataset, split and arguments it was saved with "
            "(worker_count, read_threads and output options such as image_size may differ)."
        )
    if (
        isinstance(step, bool)
        or not isinstance(step, int | np.integer)
        or not 0 <= step <= num_batches
    ):
        raise ValueError(
            f"set_state expects 'step' with 0 <= step <= {num_batches} (the batches of this "
            f"stream), as get_state() returns; got {step!r}. Pass back what get_state() "
            "returned, to an iterator made with the same arguments."
        )
    return int(step)
