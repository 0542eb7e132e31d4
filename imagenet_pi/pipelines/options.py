"""What each back end of `imagenet_pi.input_pipeline` can be told, checked on construction.

Each back end has its own options: a knob one back end would ignore is not an option of
the other, so it cannot be passed to it unnoticed. Like grain's `ReadOptions`, each
options class checks its values in `__post_init__`, and a bad value raises `ValueError`
naming the option, what it expects and what it got.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

import numpy as np

_INT64 = (-(2**63), 2**63 - 1)


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """`value` as an int if it is an integer (not a bool) in `low..high`; else ValueError."""
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not (is_int and low <= value and (high is None or value <= high)):
        expected = f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"
        if (low, high) == _INT64:
            expected = "an integer that fits in 64 bits"
        raise ValueError(f"{name}: expected {expected}, found {value!r}")
    return int(value)


def check_seed(name: str, value: Any) -> int:
    """A seed: any integer that fits in int64 (TensorFlow's and numpy's seeds)."""
    return check_int(name, value, *_INT64)


def check_bool(name: str, value: Any) -> bool:
    """`value` if it is True or False (numpy's bools too); else ValueError."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: expected True or False, found {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`; else ValueError listing them."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name}: expected one of {listed}, found {value!r}")
    return value


Backend = Literal["tfdata", "grain"]


@dataclasses.dataclass(frozen=True)
class TfDataOptions:
    """Options of the "tfdata" back end (tf.data over a TFRecord build).

    Attributes:
      shuffle_buffer_size: examples in tf.data's shuffle buffer when training (>= 1).
      deterministic: keep tf.data's order fixed (a little slower).
    """

    name: ClassVar[str] = "tfdata"
    file_format: ClassVar[str] = "tfrecord"

    shuffle_buffer_size: int = 10_000
    deterministic: bool = True

    def __post_init__(self) -> None:
        check_int("shuffle_buffer_size", self.shuffle_buffer_size, 1)
        check_bool("deterministic", self.deterministic)


@dataclasses.dataclass(frozen=True)
class GrainOptions:
    """Options of the "grain" back end (grain over an array_record build).

    Attributes:
      worker_count: grain worker processes. 0: grain reads in threads of this process
        and one tf.data pipeline here decodes (the fastest); N: each worker reads and
        decodes whole batches, one TensorFlow call a batch (for hosts whose main process
        is busy). Batches and states do not depend on it.
      read_threads: grain threads each reading a batch of records, in each process (>= 1).
    """

    name: ClassVar[str] = "grain"
    file_format: ClassVar[str] = "array_record"

    worker_count: int = 0
    read_threads: int = 2

    def __post_init__(self) -> None:
        check_int("worker_count", self.worker_count, 0)
        check_int("read_threads", self.read_threads, 1)


BackendOptions = TfDataOptions | GrainOptions
BACKENDS: dict[str, type[TfDataOptions] | type[GrainOptions]] = {
    TfDataOptions.name: TfDataOptions,
    GrainOptions.name: GrainOptions,
}


def backend_options(value: Any) -> BackendOptions:
    """The options of a back end given by name ("tfdata", "grain": its defaults) or as
    its options object."""
    if isinstance(value, TfDataOptions | GrainOptions):
        return value
    if isinstance(value, str) and value in BACKENDS:
        return BACKENDS[value]()
    raise ValueError(
        f"backend: expected 'tfdata', 'grain', a TfDataOptions or a GrainOptions, found {value!r}"
    )


def knob_fields(options_class: type) -> tuple[str, ...]:
    """The option names of a back end's options class."""
    return tuple(field.name for field in dataclasses.fields(options_class))


def backend_of_knob(knob: str) -> type[TfDataOptions] | type[GrainOptions] | None:
    """The back end whose option `knob` is, if any."""
    for options_class in BACKENDS.values():
        if knob in knob_fields(options_class):
            return options_class
    return None


def refuse_other_backends_knobs(knobs: Iterable[str], backend: BackendOptions) -> None:
    """Raises TypeError naming the first of `knobs` that `backend` does not take."""
    for knob in knobs:
        owner = backend_of_knob(knob)
        if owner is not None and not isinstance(backend, owner):
            raise TypeError(
                f"{knob} is an option of backend={owner.name!r} ({owner.__name__}); "
                f"backend={backend.name!r} would ignore it: drop it, or pass "
                f"backend={owner.name!r}"
            )
