"""The grain back ends' data source: whole batches of serialized records.

Both grain back ends (`grain_threads`, `grain_workers`) read the same `BatchSource`, so a
batch depends only on its step, never on the number of threads or worker processes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from imagenet_pi import damaged_builds
from imagenet_pi.pipelines.raw import RawOptions


class BatchSource:
    """grain source: item `step` is batch `step` of this process's stream, still serialized.

    Training: the stream is this process's examples in a fresh order each epoch (a
    permutation seeded by `(seed, epoch)`), `num_epochs` times (forever if None), cut into
    batches of consecutive positions; a batch may straddle two epochs, and an incomplete
    last batch is dropped. Evaluation: the examples in order, then padding (mask False)
    up to `num_steps` batches.

    An item: `record` `(B,)` object (serialized examples, b"" for padding), `mask`
    `(B,)` bool, `epoch` `(B,)` int64, and `seed` `(B, 2)` int64, `(seed, position in the
    stream)`, which seeds each example's crop and flip. Reading a whole batch per item
    keeps grain's per-record Python work (about a tenth of the CPU budget of an image)
    out of the pipeline.

    A record that cannot be read, or reads as empty (a shard cut short), raises
    `DamagedBuildError` naming its file (`built_split`).
    """

    def __init__(
        self,
        source: Sequence[bytes],
        *,
        built_split: damaged_builds.BuiltSplit | None = None,
        batch_size: int,
        seed: int,
        train: bool,
        num_epochs: int | None,
        num_steps: int | None,
    ):
        self._source = source
        self._built_split = built_split
        self._batch_size = batch_size
        self._seed = seed
        self._train = train
        self._num_examples = len(source)
        if not train:
            self._num_steps = num_steps
        elif num_epochs is None:
            self._num_steps = sys.maxsize
        else:
            self._num_steps = num_epochs * self._num_examples // batch_size
        self.__setstate__(self.__getstate__())

    def __getstate__(self) -> dict:  # permutations are recomputed in each process
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_permutations")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _permutations={})

    def __len__(self) -> int:
        return self._num_steps

    def __getitem__(self, step: int) -> dict:
        if not 0 <= step < self._num_steps:
            raise IndexError(f"batch {step} out of range [0, {self._num_steps})")
        num_examples = max(self._num_examples, 1)
        positions = step * self._batch_size + np.arange(self._batch_size, dtype=np.int64)
        if self._train:
            epochs, offsets = np.divmod(positions, num_examples)
            indices = np.empty_like(positions)
            for epoch in np.unique(epochs):
                where = epochs == epoch
                indices[where] = self._permutation(int(epoch))[offsets[where]]
            mask = np.ones(self._batch_size, bool)
        else:
            epochs = np.zeros_like(positions)
            mask = positions < self._num_examples
            indices = positions[mask]
        records = np.full(self._batch_size, b"", object)
        for slot, record in zip(np.flatnonzero(mask), self._read(indices.tolist())):
            records[slot] = record  # one by one: numpy would strip trailing zero bytes
        seeds = np.stack([np.full_like(positions, self._seed), positions], axis=1)
        return {"record": records, "mask": mask, "epoch": epochs, "seed": seeds}

    def _read(self, indices: list[int]) -> list[bytes]:
        """The serialized examples at `indices` of the source, checked to be there."""
        try:
            records = [self._source[index] for index in indices]
        except (RuntimeError, OSError) as error:  # array_record's errors name no file
            if self._built_split is None:
                raise
            raise self._built_split.read_error(str(error), indices) from error
        if self._built_split is not None:
            self._built_split.check_records(records, indices)
        return records

    def _permutation(self, epoch: int) -> np.ndarray:
        """The order of the examples in `epoch`; the two latest epochs stay cached."""
        with self._lock:
            permutation = self._permutations.get(epoch)
            if permutation is None:
                entropy = [self._seed % 2**64, epoch]
                permutation = np.random.default_rng(entropy).permutation(self._num_examples)
                if len(self._permutations) >= 2:
                    del self._permutations[min(self._permutations)]
                self._permutations[epoch] = permutation
            return permutation


def batch_dataset(
    builder: tfds.core.DatasetBuilder,
    subsplit: Any,
    options: RawOptions,
    *,
    num_steps: int | None,
    num_epochs: int | None,
) -> Any:
    """A `grain.MapDataset` of `BatchSource` items over the array_record build, read as
    a TFDS data source (random access).

    Training: a global shuffle of this process's examples, reshuffled every epoch;
    each example's crop and flip seeded by `(seed, position in the stream)`, as in
    tf.data. Evaluation: in order, padded to `num_steps` full batches.
    """
    import grain

    source = builder.as_data_source(
        split=subsplit, deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES
    )
    return grain.MapDataset.source(
        BatchSource(
            source,
            built_split=damaged_builds.BuiltSplit.of(builder, subsplit),
            batch_size=options.local_batch_size,
            seed=options.seed,
            train=options.train,
            num_epochs=num_epochs,
            num_steps=num_steps,
        )
    )
