"""The grain back ends' data source: whole batches of records, each epoch a fresh permutation."""

from __future__ import annotations

import pickle

import jax_batches
import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi.pipelines import grain_source

_NAME = jax_batches.NAME
_NUM_TRAIN = jax_batches.NUM_TRAIN
_iterator = jax_batches.iterator
_names = jax_batches.file_names


def test_grain_training_epochs_are_fresh_permutations(builds):
    """Each epoch of the grain stream holds every example once, in a new order, and a
    batch may straddle two epochs (no example dropped at an epoch boundary)."""
    batches = list(_iterator(builds, "grain", split="train", train=True, num_epochs=3))
    assert len(batches) == 3 * _NUM_TRAIN // 8
    stream = [name for batch in batches for name in _names(batch)]
    epochs = [stream[i * _NUM_TRAIN : (i + 1) * _NUM_TRAIN] for i in range(3)]
    expected = sorted(_built_train_names(builds))
    assert sorted(epochs[0]) == expected and sorted(epochs[1]) == expected
    assert len(set(epochs[2])) == len(epochs[2]) == 3 * _NUM_TRAIN // 8 * 8 - 2 * _NUM_TRAIN
    assert epochs[0] != epochs[1]


def _built_train_names(builds) -> list[str]:
    source = tfds.builder(_NAME, data_dir=builds["grain"]).as_data_source(split="train")
    return [source[i]["file_name"].decode() for i in range(len(source))]


def test_batch_source_items_are_whole_batches_of_the_stream():
    records = [f"record {i}".encode() for i in range(10)]
    train = grain_source.BatchSource(
        records, batch_size=4, seed=7, train=True, num_epochs=3, num_steps=None
    )
    assert len(train) == 7  # 30 positions, the incomplete last batch dropped
    items = [train[step] for step in range(len(train))]
    positions = np.concatenate([item["seed"] for item in items])
    np.testing.assert_array_equal(positions, np.stack([np.full(28, 7), np.arange(28)], axis=1))
    np.testing.assert_array_equal(np.concatenate([i["epoch"] for i in items]), np.arange(28) // 10)
    stream = [r for item in items for r in item["record"].tolist()]
    assert sorted(stream[:10]) == sorted(stream[10:20]) == sorted(records)
    assert stream[:10] != stream[10:20]
    assert all(item["mask"].all() for item in items)
    unpickled = pickle.loads(pickle.dumps(train))  # what grain's worker processes get
    assert unpickled[5]["record"].tolist() == train[5]["record"].tolist()
    with pytest.raises(IndexError):
        train[7]
    forever = grain_source.BatchSource(
        records, batch_size=4, seed=7, train=True, num_epochs=None, num_steps=None
    )
    assert forever[6]["record"].tolist() == items[6]["record"].tolist()
    assert len(forever) > 10**15

    evaluation = grain_source.BatchSource(
        records, batch_size=4, seed=7, train=False, num_epochs=None, num_steps=4
    )
    items = [evaluation[step] for step in range(len(evaluation))]
    assert [r for item in items for r in item["record"].tolist()] == records + [b""] * 6
    np.testing.assert_array_equal(
        np.concatenate([item["mask"] for item in items]), np.arange(16) < 10
    )
