"""The iterator `make_iterator` returns, and what it does to every raw batch.

A raw batch of any back end (`pipelines.raw`) is finished here, the same for every back
end: images in the output dtype, the training labels and PI of the label policy
(`finish_batch`), then placed on devices. `Batches` is the iterator users hold; open
ones are closed at exit.
"""

from __future__ import annotations

import atexit
import dataclasses
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from imagenet_pi import label_policies, pi_features
from imagenet_pi.pipelines.options import Backend

if TYPE_CHECKING:
    import jax

_CLOSED = (
    "this ImageNet-PI iterator is closed (by close() or at the end of its with block): "
    "make a new one with make_iterator"
)


@dataclasses.dataclass(frozen=True)
class OutputOptions:
    """How a raw batch (`pipelines.raw`) becomes the batch `make_iterator` gives.

    Attributes:
      dtype: numpy dtype of the images (np.float32, ml_dtypes.bfloat16, ...).
      policy: which annotator labels each example gets.
      labels_format: `pi_features["annotator_labels"]` as "one_hot" or "index".
      with_file_names: keep `file_name` in batches.
    """

    dtype: np.dtype
    policy: label_policies.LabelPolicy
    labels_format: pi_features.LabelsFormat
    with_file_names: bool


# ---------------------------------------------------------------------------------------
# Every back end: labels and PI, then devices.


def finish_batch(batch: dict, options: OutputOptions) -> dict:
    """Raw batch of any back end (`pipelines.raw`) -> images of the output dtype, labels,
    PI (numpy, `[local_batch, ...]`)."""
    batch = {**batch, "image": batch["image"].astype(options.dtype, copy=False)}
    batch = pi_features.label_and_pi(batch, options.policy, options.labels_format)
    if not options.with_file_names:
        batch.pop("file_name")
    return batch


def _to_devices(batch: dict, num_devices: int, sharding: jax.sharding.Sharding | None) -> dict:
    """Numpy `[num_devices, per_device, ...]`, or global `jax.Array`s on `sharding`."""
    if sharding is None:
        return _map_arrays(lambda x: x.reshape(num_devices, -1, *x.shape[1:]), batch)
    import jax

    def put(array):
        if array.dtype.kind in "SUO":  # strings stay on the host, unsharded
            return array
        return jax.make_array_from_process_local_data(sharding, array)

    return _map_arrays(put, batch)


def _map_arrays(fn, tree: dict) -> dict:
    return {
        key: _map_arrays(fn, value) if isinstance(value, dict) else fn(np.asarray(value))
        for key, value in tree.items()
    }


class Batches(Iterator[dict]):
    """The iterator `make_iterator` returns.

    Close it with `close()`, or use it as a context manager (`with make_iterator(...)
    as it:`), to stop its threads and worker processes at once; dropping it does the
    same when Python frees it, and so does the end of the process for those still open.
    Closing never waits for data. After closing, `next()` raises ValueError.

    Attributes:
      num_steps: number of batches of an evaluation pass (None for training).
      backend: "tfdata" or "grain".
    """

    def __init__(
        self,
        raw: Iterator[dict],
        *,
        backend: Backend,
        options: OutputOptions,
        num_steps: int | None,
        num_devices: int,
        sharding: jax.sharding.Sharding | None,
    ):
        self._raw = raw
        self._options = options
        self._num_devices = num_devices
        self._sharding = sharding
        self.backend = backend
        self.num_steps = num_steps
        close_at_exit(self)

    def __next__(self) -> dict:
        if self._raw is None:
            raise ValueError(_CLOSED)
        # Every back end gives raw batches: labels, PI and devices are one stage for all.
        batch = finish_batch(next(self._raw), self._options)
        return _to_devices(batch, self._num_devices, self._sharding)

    def __len__(self) -> int:
        if self.num_steps is None:
            raise TypeError("a training iterator has no length (it repeats)")
        return self.num_steps

    def get_state(self) -> Any:
        """The position in the data, to save with a checkpoint (grain back end only):
        `{"step": batches handed out, ...}` and what decides which examples come at each
        step (dataset, split, train, seed, global_batch_size, processes, examples), plain
        values that JSON keeps."""
        self._require_grain("get_state")
        return self._open().get_state()

    def set_state(self, state: Any) -> None:
        """Continues from a state `get_state` returned (grain back end only).

        Raises ValueError, naming what differs, for a state saved from another dataset,
        split, seed, batch size, ... (`worker_count`, `read_threads` and the output
        options may differ), and for the `{"step": n}` of imagenet_pi 0.1.0."""
        self._require_grain("set_state")
        self._open().set_state(state)

    def close(self) -> None:
        """Stops reading and decoding: threads, TensorFlow pipelines, grain worker
        processes. Returns promptly; idempotent."""
        raw, self._raw = self._raw, None
        close = getattr(raw, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _open(self) -> Iterator[dict]:
        if self._raw is None:
            raise ValueError(_CLOSED)
        return self._raw

    def _require_grain(self, what: str) -> None:
        if self.backend != "grain":
            raise NotImplementedError(
                f"{what} needs backend='grain' (checkpointable iterator state); the tf.data "
                "back end cannot save its position: use backend='grain' to resume mid-epoch."
            )


_OPEN_ITERATORS: weakref.WeakSet[Batches] = weakref.WeakSet()


def close_at_exit(batches: Batches) -> None:
    """Closes `batches` at interpreter exit if it is still open, before Python tears
    down the modules that TensorFlow's and grain's clean-up needs."""
    _OPEN_ITERATORS.add(batches)
    # Registered last, so that it runs first among exit handlers: before
    # multiprocessing's, which would stop grain's worker processes under us.
    atexit.unregister(_close_open_iterators)
    atexit.register(_close_open_iterators)


def _close_open_iterators() -> None:
    for batches in list(_OPEN_ITERATORS):
        batches.close()
