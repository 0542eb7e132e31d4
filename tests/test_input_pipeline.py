"""The JAX input pipeline on the small sample, on 8 CPU devices (XLA_FLAGS set in conftest):
`make_iterator`, its arguments, and which examples each process reads. What is behind it is
tested in tests/pipelines/, one file a module."""

from __future__ import annotations

import collections

import jax
import jax_batches
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import annotations, input_pipeline

_NAME = jax_batches.NAME
_NUM_TRAIN = jax_batches.NUM_TRAIN
_SIZE = jax_batches.IMAGE_SIZE
_iterator = jax_batches.iterator
_take = jax_batches.take
_names = jax_batches.file_names


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
def test_train_batches_have_a_device_axis_and_documented_dtypes(builds, backend):
    batch = next(_iterator(builds, backend, split="train", train=True, dtype="bfloat16"))
    assert jax.local_device_count() == 8
    assert batch["image"].shape == (8, 1, _SIZE, _SIZE, 3)
    assert batch["image"].dtype == jax.numpy.bfloat16
    assert batch["label"].shape == (8, 1, 16) and batch["label"].dtype == np.int32
    assert batch["clean_label"].shape == (8, 1) and batch["clean_label"].dtype == np.int32
    assert batch["mask"].dtype == np.bool_ and batch["mask"].all()
    pi = batch["pi_features"]
    assert pi["annotator_ids"].shape == (8, 1, 16, 16)
    assert pi["annotator_labels"].shape == (8, 1, 16, 1000)
    assert pi["annotator_confidences"].shape == (8, 1, 16, 1)
    assert pi["annotator_features"].shape == (8, 1, 16, 2)
    assert all(value.dtype == np.float32 for value in pi.values())


def test_image_options_normalise_and_float32(builds):
    batch = next(_iterator(builds, "tfdata", split="validation", train=False, normalise="zero_one"))
    image = batch["image"][batch["mask"]]
    assert batch["image"].dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.2


def _eval_on_two_processes(builds, backend, split) -> list[list[dict]]:
    """Each of 2 simulated processes' evaluation batches (global batch 16); checks that
    each process ran its iterator's `num_steps`."""
    per_process = []
    for process_index in range(2):
        iterator = _iterator(
            builds,
            backend,
            split=split,
            train=False,
            global_batch_size=16,
            process_index=process_index,
            process_count=2,
        )
        per_process.append(list(iterator))
        assert len(per_process[-1]) == iterator.num_steps
    return per_process


@pytest.mark.parametrize("backend", [pytest.param("tfdata", marks=pytest.mark.slow), "grain"])
def test_eval_reads_every_example_once_across_processes(builds, small_sample, backend):
    seen = []
    per_process = _eval_on_two_processes(builds, backend, "train")
    assert [len(batches) for batches in per_process] == [1, 1]
    for batches in per_process:
        for batch in batches:
            mask = np.asarray(batch["mask"]).ravel()
            names = np.array(_names(batch))
            seen += names[mask].tolist()
            assert (names[~mask] == "").all()
    counts = collections.Counter(seen)
    assert sorted(counts) == sorted(small_sample[1].train_file_names)
    assert set(counts.values()) == {1}


@pytest.mark.parametrize("backend", [pytest.param("tfdata", marks=pytest.mark.slow), "grain"])
def test_eval_processes_with_fewer_examples_pad_whole_batches(builds, backend):
    # 17 examples over 2 processes: 9 and 8; local batch 8, so both run 2 steps and the
    # second process's second batch is all padding.
    names = []
    per_process = _eval_on_two_processes(builds, backend, "train+validation[:5]")
    assert [len(batches) for batches in per_process] == [2, 2]
    for batches in per_process:
        masks = [np.asarray(batch["mask"]).ravel() for batch in batches]
        names += [n for batch, m in zip(batches, masks) for n, k in zip(_names(batch), m) if k]
    assert not masks[1].any()  # the last batch of the second process
    assert len(names) == len(set(names)) == _NUM_TRAIN + 5


def test_eval_pads_the_last_batch_only(builds):
    iterator = _iterator(builds, "grain", split="train", train=False, global_batch_size=8)
    masks = [np.asarray(batch["mask"]).ravel() for batch in iterator]
    assert len(masks) == 2
    assert masks[0].all() and masks[1].sum() == _NUM_TRAIN - 8
    assert not masks[1][_NUM_TRAIN - 8 :].any()


@pytest.mark.parametrize(
    "policy",
    [
        "all",
        pytest.param("majority", marks=pytest.mark.slow),
        pytest.param("clean", marks=pytest.mark.slow),
    ],
)
def test_grain_and_tfdata_give_the_same_examples(builds, policy):
    batches = {}
    for backend in ("tfdata", "grain"):
        iterator = _iterator(builds, backend, split="train", train=False, label_policy=policy)
        batches[backend] = list(iterator)
    for tf_batch, grain_batch in zip(batches["tfdata"], batches["grain"]):
        assert _names(tf_batch) == _names(grain_batch)
        for key in ("label", "clean_label", "mask"):
            np.testing.assert_array_equal(tf_batch[key], grain_batch[key])
        for key, value in tf_batch["pi_features"].items():
            np.testing.assert_array_equal(value, grain_batch["pi_features"][key])
        np.testing.assert_allclose(tf_batch["image"], grain_batch["image"], atol=1e-5)


def test_pipeline_matches_the_annotation_files(builds, small_sample):
    manual_dir, sample = small_sample
    split = annotations.read_split(f"{manual_dir}/imagenet_pi/high_noise", "train")
    batch = next(_iterator(builds, "tfdata", split="train", train=False, global_batch_size=16))
    for name, mask, label, clean in zip(
        _names(batch),
        np.asarray(batch["mask"]).ravel(),
        np.asarray(batch["label"]).reshape(-1, 16),
        np.asarray(batch["clean_label"]).ravel(),
    ):
        if mask:
            np.testing.assert_array_equal(label, split.labels[split.row(name)])
            assert clean == sample.train_clean_labels[sample.train_file_names.index(name)]


@pytest.mark.parametrize("backend", ["tfdata", pytest.param("grain", marks=pytest.mark.slow)])
def test_same_seed_same_batches(builds, backend):
    kwargs = dict(split="train", train=True, label_policy="random_annotator")
    first = _take(_iterator(builds, backend, seed=3, **kwargs), 2)
    again = _take(_iterator(builds, backend, seed=3, **kwargs), 2)
    other = _take(_iterator(builds, backend, seed=4, **kwargs), 2)
    for a, b in zip(first, again):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])
        np.testing.assert_array_equal(a["label"], b["label"])
    assert [_names(a) for a in first] != [_names(c) for c in other]


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
@pytest.mark.parametrize("redraw", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_annotator_draws_are_fixed_or_redrawn_each_epoch(builds, backend, redraw):
    iterator = _iterator(
        builds,
        backend,
        split="train",
        train=True,
        global_batch_size=8,
        label_policy="subset",
        num_annotators_per_example=2,
        redraw_each_epoch=redraw,
        **({"shuffle_buffer_size": 4} if backend == "tfdata" else {}),
    )
    draws = collections.defaultdict(set)
    for batch in _take(iterator, 6):  # 48 examples: 4 epochs of 12
        ids = np.asarray(batch["pi_features"]["annotator_ids"]).reshape(-1, 2, 16).argmax(-1)
        for name, pair in zip(_names(batch), ids.tolist()):
            draws[name].add(tuple(pair))
    assert len(draws) == _NUM_TRAIN
    distinct = [len(pairs) for pairs in draws.values()]
    if redraw:
        assert max(distinct) > 1
    else:
        assert set(distinct) == {1}


def test_best_subset_keeps_the_most_accurate_annotators(builds):
    builder = tfds.builder(_NAME, data_dir=builds["tfdata"])
    accuracy = imagenet_pi.annotator_features_of(builder)[:, 0]
    batch = next(
        _iterator(
            builds,
            "tfdata",
            split="validation",
            train=False,
            label_policy="subset",
            num_annotators_per_example=3,
            annotator_strategy="best",
            annotator_labels_format="index",
        )
    )
    ids = np.asarray(batch["pi_features"]["annotator_ids"]).reshape(-1, 3, 16).argmax(-1)
    assert set(ids[0].tolist()) == set(np.argsort(-accuracy)[:3].tolist())
    labels = np.asarray(batch["pi_features"]["annotator_labels"]).reshape(-1, 3)
    np.testing.assert_array_equal(labels, np.asarray(batch["label"]).reshape(-1, 3))


def test_grain_on_a_tfrecord_build_says_how_to_build_array_record(builds):
    builder = tfds.builder(_NAME, data_dir=builds["tfdata"])
    with pytest.raises(ValueError, match="--file_format array_record"):
        input_pipeline.make_iterator(
            builder, "train", global_batch_size=8, train=True, backend="grain"
        )


def test_batch_size_must_divide_over_devices(builds):
    with pytest.raises(ValueError, match="8 local devices"):
        _iterator(builds, "tfdata", split="train", train=True, global_batch_size=12)


def test_an_options_object_gives_the_batches_of_the_same_keyword_arguments(builds):
    fields = {"image_size": _SIZE, "seed": 5, "label_policy": "majority", "with_file_names": True}
    options = input_pipeline.IteratorOptions(backend="tfdata", **fields)
    common = {"global_batch_size": 8, "train": True, "data_dir": builds["tfdata"]}
    with (
        input_pipeline.make_iterator(_NAME, "train", options=options, **common) as a,
        input_pipeline.make_iterator(_NAME, "train", backend="tfdata", **fields, **common) as b,
    ):
        first, second = next(a), next(b)
    assert _names(first) == _names(second)
    np.testing.assert_array_equal(first["label"], second["label"])
    np.testing.assert_array_equal(first["image"], second["image"])


def test_keyword_arguments_override_the_options_object(builds):
    options = input_pipeline.IteratorOptions(backend="tfdata", image_size=_SIZE, seed=1)
    with input_pipeline.make_iterator(
        _NAME,
        "validation",
        global_batch_size=8,
        train=False,
        data_dir=builds["tfdata"],
        options=options,
        image_size=_SIZE // 2,
    ) as batches:
        assert next(batches)["image"].shape[2:4] == (_SIZE // 2, _SIZE // 2)


# ---------------------------------------------------------------------------------------
# Options: every value checked, no knob silently ignored.


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
@pytest.mark.parametrize("global_batch_size", [0, -4, 8.0, True, "8"])
def test_a_global_batch_size_that_is_not_a_positive_integer_is_refused(
    builds, backend, global_batch_size
):
    with pytest.raises(ValueError, match=r"global_batch_size: expected an integer >= 1, found"):
        _iterator(builds, backend, split="train", train=True, global_batch_size=global_batch_size)


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
def test_training_batches_larger_than_the_split_over_its_epochs_are_refused(builds, backend):
    # 12 training examples: one epoch cannot fill a batch of 16, two can.
    with pytest.raises(ValueError, match=r"training batches of 16 examples .* holds 12 examples"):
        _iterator(builds, backend, split="train", train=True, global_batch_size=16, num_epochs=1)
    with _iterator(
        builds, backend, split="train", train=True, global_batch_size=16, num_epochs=2
    ) as batches:
        assert len(list(batches)) == 1  # 24 examples: one batch of 16


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
def test_an_empty_training_split_is_refused_even_forever(builds, backend):
    with pytest.raises(ValueError, match=r"split 'train\[:0\]', which holds 0 examples \(forever"):
        _iterator(builds, backend, split="train[:0]", train=True)


@pytest.mark.parametrize("backend", ["tfdata", "grain"])
@pytest.mark.parametrize("num_epochs", [-1, 0, 1.5, True])
def test_num_epochs_is_a_positive_integer_or_none_on_both_backends(builds, backend, num_epochs):
    with pytest.raises(ValueError, match=r"num_epochs: expected an integer >= 1, found"):
        _iterator(builds, backend, split="train", train=True, num_epochs=num_epochs)


def test_backend_options_given_as_an_object_reach_the_iterator(builds):
    options = input_pipeline.IteratorOptions(
        backend=input_pipeline.GrainOptions(read_threads=3), image_size=_SIZE
    )
    with input_pipeline.make_iterator(
        _NAME,
        "validation",
        global_batch_size=8,
        train=False,
        data_dir=builds["grain"],
        options=options,
        backend="grain",
    ) as batches:
        assert batches.backend == "grain"
        assert next(batches)["image"].shape[2:4] == (_SIZE, _SIZE)
