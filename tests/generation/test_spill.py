"""Examples spilled by their place in a split: buckets at TFDS's shard boundaries, spill files
written by workers and read back in position order, a bucket at a time."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import internals
from imagenet_pi.generation import spill


@pytest.mark.parametrize("num_examples", [1, 63, 64, 65, 1000, 64 * 1024, 1_281_167])
def test_a_split_spills_to_a_power_of_two_of_buckets_at_most_1024(num_examples):
    count = spill.num_buckets_for(num_examples)
    assert 1 <= count <= spill.MAX_BUCKETS and count & (count - 1) == 0
    assert count == 1 or num_examples / (count // 2) > spill.MIN_BUCKET_EXAMPLES
    edges = spill.Buckets(num_examples).edges
    assert len(edges) == count + 1 and edges[0] == 0 and edges[-1] == num_examples
    assert (np.diff(edges) >= 0).all()


@pytest.mark.parametrize("num_examples", [100, 1000, 12_345, 1_281_167])
def test_the_shards_of_a_power_of_two_shard_count_are_whole_buckets(num_examples):
    buckets = spill.Buckets(num_examples)
    num_shards = 1
    while num_shards <= len(buckets.edges) - 1:
        shard_config = tfds.download.DownloadConfig(num_shards=num_shards).get_shard_config()
        ends = internals.shard_boundaries(shard_config, 1, num_examples)
        assert set(ends) <= set(buckets.edges.tolist()), num_shards
        num_shards *= 2


def test_each_position_is_in_the_bucket_its_edges_say():
    buckets = spill.Buckets(1000)
    positions = np.arange(1000)
    of = np.array([buckets.of(position) for position in positions])
    assert (buckets.edges[of] <= positions).all() and (positions < buckets.edges[of + 1]).all()
    assert list(buckets.spanned(np.array([70, 500, 999]))) == list(range(of[70], of[999] + 1))


def _spill(tmp_path, buckets: spill.Buckets, positions) -> dict[int, list[str]]:
    """`record <position>` spilled at each of `positions`, in that order: the spill files."""
    writer = spill.SpillWriter("train", buckets, str(tmp_path))
    files = {}
    try:
        for position in positions:
            writer.append(int(position), f"record {position}".encode())
            for bucket, path in writer.new_files().items():
                files.setdefault(bucket, []).append(path)
    finally:
        writer.close()
    return files


def test_spilled_examples_come_back_in_position_order_whatever_the_order_written(tmp_path):
    buckets = spill.Buckets(1000)
    files = _spill(tmp_path, buckets, np.random.default_rng(0).permutation(1000))
    assert sorted(files) == list(range(len(buckets.edges) - 1))
    assert all(len(paths) == 1 for paths in files.values())  # each file named once
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p[0]) for p in files.values())
    wanted = np.array([3, 64, 65, 500, 998])
    counted = []
    records = spill.spilled_records(buckets, wanted, files, counted.append, "train in spill")
    assert list(records) == [f"record {position}".encode() for position in wanted]
    assert counted == [1] * len(wanted)


def test_a_position_never_spilled_is_a_bug_named_with_its_place(tmp_path):
    buckets = spill.Buckets(1000)
    files = _spill(tmp_path, buckets, [position for position in range(1000) if position != 700])
    with pytest.raises(RuntimeError, match=r"^train in spill: the example at position 700 was"):
        list(
            spill.spilled_records(buckets, np.arange(1000), files, lambda n: None, "train in spill")
        )
