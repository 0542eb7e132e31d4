"""The JAX input pipeline on the small sample, on 8 CPU devices (XLA_FLAGS set in conftest)."""

from __future__ import annotations

import collections
import gc
import json
import pickle
import re
import textwrap
import threading

import jax
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from python_process import run_to_exit

import imagenet_pi
from imagenet_pi import annotations, fake_data, ilsvrc, input_pipeline, pi_lookup, preprocessing
from imagenet_pi.pipelines import grain_source

_NAME = "imagenet_pi/high_noise"
_NUM_TRAIN = fake_data.SMALL_SAMPLE["num_synsets"] * fake_data.SMALL_SAMPLE["images_per_synset"]
_SIZE = 32  # output images: small, so that tests stay fast


@pytest.fixture(scope="module")
def builds(small_sample, tmp_path_factory):
    """The small sample built twice: {"tfdata": TFRecord data_dir, "grain": array_record one}."""
    manual_dir, _ = small_sample
    data_dirs = {}
    for backend, file_format in (("tfdata", "tfrecord"), ("grain", "array_record")):
        data_dir = str(tmp_path_factory.mktemp(file_format))
        builder = tfds.builder(_NAME, data_dir=data_dir, file_format=file_format)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
        )
        data_dirs[backend] = data_dir
    return data_dirs


def _iterator(builds, backend, **kwargs):
    kwargs = {"global_batch_size": 8, "image_size": _SIZE, "with_file_names": True, **kwargs}
    return input_pipeline.make_iterator(_NAME, backend=backend, data_dir=builds[backend], **kwargs)


def _take(iterator, num_batches):
    return [next(iterator) for _ in range(num_batches)]


def _names(batch) -> list[str]:
    return [name.decode() for name in np.asarray(batch["file_name"]).ravel().tolist()]


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


def test_sharding_gives_global_arrays_split_over_devices(builds):
    mesh = jax.make_mesh((8,), ("data",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    iterator = _iterator(
        builds,
        "tfdata",
        split="train",
        train=True,
        global_batch_size=16,
        sharding=sharding,
        with_file_names=False,
    )
    batch = next(iterator)
    for array in jax.tree_util.tree_leaves(batch):
        assert isinstance(array, jax.Array)
        assert array.sharding == sharding
        assert array.shape[0] == 16
        assert {shard.data.shape[0] for shard in array.addressable_shards} == {2}
    labels = jax.jit(lambda b: b["pi_features"]["annotator_labels"].argmax(-1))(batch)
    np.testing.assert_array_equal(np.asarray(labels), np.asarray(batch["label"]))


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


@pytest.mark.slow
def test_grain_iterator_state_resumes_where_it_left_off(builds):
    kwargs = dict(split="train", train=True, seed=1)
    iterator = _iterator(builds, "grain", **kwargs)
    _take(iterator, 2)
    state = iterator.get_state()
    expected = _take(iterator, 2)
    resumed = _iterator(builds, "grain", **kwargs)
    resumed.set_state(state)
    for a, b in zip(expected, _take(resumed, 2)):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])


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


# Each scenario runs in a fresh process, which must print "done", exit on its own and write
# nothing to stderr after its imports but TensorFlow's start-up lines (a grain worker
# process imports TensorFlow, and this machine has no GPU).
_TENSORFLOW_STARTUP = (
    "absl::InitializeLog",
    "port.cc",
    "cudart_stub.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "cuInit",
)
_SCENARIO_PRELUDE = """
import gc, sys, time
import grain, jax, tensorflow as tf
from imagenet_pi import input_pipeline

jax.devices()
tf.constant(0)  # TensorFlow's start-up logs come before the marker
print("imports done", file=sys.stderr, flush=True)


def make(**kwargs):
    kwargs = {{"split": "train", "train": True, "global_batch_size": 8, "image_size": 32,
              "with_file_names": True, **{backend_options}, **kwargs}}
    return input_pipeline.make_iterator(
        "{name}", backend="{backend}", data_dir={data_dir!r}, **kwargs)
"""

_SCENARIOS = {
    # Issue 11's script: peek at the first batch inside a function, several times.
    "peek_in_a_function": """
        def first(seed):
            return next(iter(make(seed=seed)))["file_name"]

        a, b, c = first(3), first(3), first(4)
        assert (a == b).all()
        """,
    # Dropped while the pipeline is still reading and decoding ahead.
    "dropped_right_after_the_first_batch": """
        for seed in range(3):
            it = make(seed=seed)
            next(it)
            del it
            gc.collect()
        """,
    "dropped_before_the_first_batch": """
        it = make()
        del it
        gc.collect()
        make(train=False).close()
        """,
    "dropped_mid_epoch_with_full_buffers": """
        it = make(num_epochs=None)
        next(it)
        time.sleep(3)  # the pipeline reads and decodes ahead until its buffers are full
        del it
        gc.collect()
        """,
    "closed_twice_then_used": """
        it = make()
        next(it)
        it.close()
        it.close()
        try:
            next(it)
        except ValueError as error:
            assert "closed" in str(error), error
        else:
            raise AssertionError("next() after close() must raise")
        """,
    "exception_in_a_with_block": """
        try:
            with make() as it:
                for step, batch in enumerate(it):
                    if step == 1:
                        raise KeyError("the training loop failed")
        except KeyError:
            pass
        """,
    # A finite pass read to its end: grain's workers run out of data.
    "evaluation_pass_read_to_the_end": """
        with make(train=False) as it:
            assert sum(1 for _ in it) == len(it)
        """,
    "evaluation_pass_one_batch_then_closed": """
        with make(train=False) as it:
            next(it)
        """,
    "stopped_after_n_steps_and_left_alive_at_exit": """
        it = make(num_epochs=None)
        for step, batch in zip(range(3), it):
            pass
        """,
}


# One scenario runs in the quick suite (-m "not slow"); all of them run in the whole suite.
_QUICK_SCENARIOS = {("grain", "peek_in_a_function")}  # the hang of issue 11


@pytest.mark.parametrize(
    "backend, scenario",
    [
        pytest.param(
            backend,
            scenario,
            marks=() if (backend, scenario) in _QUICK_SCENARIOS else pytest.mark.slow,
        )
        for scenario in _SCENARIOS
        for backend in ("tfdata", "grain", "grain_workers")
    ],
)
def test_abandoned_iterator_lets_the_process_exit_quietly(builds, backend, scenario):
    prelude = _SCENARIO_PRELUDE.format(
        name=_NAME,
        backend=backend.split("_")[0],
        data_dir=builds[backend.split("_")[0]],
        backend_options={"tfdata": {}, "grain": {"worker_count": 0}}.get(
            backend, {"worker_count": 1}
        ),
    )
    script = prelude + textwrap.dedent(_SCENARIOS[scenario]) + 'print("done", flush=True)\n'
    result = run_to_exit(script)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1:] == ["done"]
    after_imports = result.stderr.split("imports done\n", 1)[-1]
    noise = [
        line
        for line in after_imports.splitlines()
        if not any(startup in line for startup in _TENSORFLOW_STARTUP)
    ]
    assert noise == [], "\n".join(noise)[-3000:]


def test_grain_state_is_the_number_of_batches_handed_out(builds):
    kwargs = dict(split="train", train=False)  # 12 examples: 2 batches of 8
    iterator = _iterator(builds, "grain", **kwargs)
    assert iterator.get_state()["step"] == 0
    _take(iterator, 1)
    state = iterator.get_state()
    assert state["step"] == 1
    rest = list(iterator)
    assert len(rest) == len(iterator) - 1 == 1
    again = _iterator(builds, "grain", **kwargs)
    again.set_state(state)
    assert [_names(b) for b in again] == [_names(b) for b in rest]
    for bad in ({**state, "step": 3}, {**state, "step": -1}, {**state, "step": 1.0}):
        with pytest.raises(ValueError, match="set_state expects 'step' with 0 <= step <= 2"):
            again.set_state(bad)
    for bad in ({"steps": 1}, [1]):
        with pytest.raises(ValueError, match="set_state expects the dict get_state"):
            again.set_state(bad)


@pytest.mark.slow
def test_grain_worker_process_gives_the_same_batches(builds):
    kwargs = dict(split="validation", train=False)
    in_process = list(_iterator(builds, "grain", **kwargs))
    iterator = _iterator(builds, "grain", worker_count=1, **kwargs)
    try:
        with_worker = list(iterator)
    finally:
        iterator.close()
    assert len(with_worker) == len(in_process)
    for a, b in zip(in_process, with_worker):
        assert _names(a) == _names(b)
        np.testing.assert_array_equal(a["image"], b["image"])


@pytest.mark.slow
def test_grain_state_is_the_same_with_or_without_workers(builds):
    """The same state whatever `worker_count`: a state saved without workers restores an
    iterator with workers."""
    kwargs = dict(split="train", train=True, seed=2)
    in_process = _iterator(builds, "grain", **kwargs)
    _take(in_process, 1)
    state = in_process.get_state()
    expected = _take(in_process, 1)
    with _iterator(builds, "grain", worker_count=1, **kwargs) as with_workers:
        with_workers.set_state(state)
        resumed = _take(with_workers, 1)
        assert with_workers.get_state() == {**state, "step": 2}
    assert _names(expected[0]) == _names(resumed[0])
    np.testing.assert_array_equal(expected[0]["image"], resumed[0]["image"])


def test_tfdata_iterator_has_no_state(builds):
    iterator = _iterator(builds, "tfdata", split="train", train=True)
    with pytest.raises(NotImplementedError, match="backend='grain'"):
        iterator.get_state()


def test_grain_on_a_tfrecord_build_says_how_to_build_array_record(builds):
    builder = tfds.builder(_NAME, data_dir=builds["tfdata"])
    with pytest.raises(ValueError, match="--file_format array_record"):
        input_pipeline.make_iterator(
            builder, "train", global_batch_size=8, train=True, backend="grain"
        )


def test_batch_size_must_divide_over_devices(builds):
    with pytest.raises(ValueError, match="8 local devices"):
        _iterator(builds, "tfdata", split="train", train=True, global_batch_size=12)


@pytest.mark.parametrize("image_format", ["jpeg", "cmyk", "png"])
def test_preprocessing_decodes_every_ilsvrc_format(image_format):
    image_bytes = fake_data.encode_image(np.random.default_rng(0), 64, image_format)
    for train in (True, False):
        image = preprocessing.decode_and_resize(
            tf.constant(image_bytes), tf.constant([0, 1], tf.int64), train=train, image_size=24
        )
        assert image.shape == (24, 24, 3) and image.dtype == tf.float32
        assert float(tf.reduce_min(image)) >= 0 and float(tf.reduce_max(image)) <= 255


def test_train_crop_is_a_function_of_the_seed():
    image_bytes = tf.constant(fake_data.encode_image(np.random.default_rng(0), 96))

    def crop(seed):
        return preprocessing.decode_and_resize(
            image_bytes, tf.constant(seed, tf.int64), train=True, image_size=32
        ).numpy()

    np.testing.assert_array_equal(crop([1, 2]), crop([1, 2]))
    assert not np.array_equal(crop([1, 2]), crop([1, 3]))


def test_attach_pi_adds_annotations_to_an_imagenet2012_style_pipeline(small_sample, builds):
    manual_dir, _ = small_sample
    records = list(ilsvrc.iter_split(ilsvrc.detect_layout(manual_dir), "train"))
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "image": [r.image for r in records],
            "file_name": [r.file_name for r in records],
            "label": [0] * len(records),
        }
    )
    table = pi_lookup.PiTable.from_csvs(f"{manual_dir}/imagenet_pi/high_noise", "train")
    from_build = pi_lookup.PiTable.from_builder(
        tfds.builder(_NAME, data_dir=builds["tfdata"]), "train"
    )
    np.testing.assert_array_equal(table.file_names, from_build.file_names)
    np.testing.assert_array_equal(table.annotator_labels, from_build.annotator_labels)
    examples = list(pi_lookup.attach_pi(ds, table).as_numpy_iterator())
    assert len(examples) == len(records)
    for example in examples:
        row = int(np.flatnonzero(table.file_names == example["file_name"].decode())[0])
        np.testing.assert_array_equal(example["annotator_labels"], table.annotator_labels[row])
        np.testing.assert_array_equal(
            example["annotator_confidences"], table.annotator_confidences[row]
        )
        assert example["annotator_features"].shape == (16, 2)


def test_attach_pi_names_an_unknown_file_or_drops_it(small_sample):
    manual_dir, _ = small_sample
    table = pi_lookup.PiTable.from_csvs(f"{manual_dir}/imagenet_pi/high_noise", "train")
    names = [table.file_names[0], "n99999999_1.JPEG"]
    ds = tf.data.Dataset.from_tensor_slices({"file_name": names})
    kept = list(pi_lookup.attach_pi(ds, table, missing="drop").as_numpy_iterator())
    assert [example["file_name"].decode() for example in kept] == [table.file_names[0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="n99999999_1.JPEG"):
        list(pi_lookup.attach_pi(ds, table).as_numpy_iterator())


@pytest.mark.parametrize(
    ("normalisation", "expected"),
    [
        ("imagenet", lambda x: (x - preprocessing.IMAGENET_MEAN) / preprocessing.IMAGENET_STD),
        ("zero_one", lambda x: x / 255),
        ("minus_one_one", lambda x: x / 127.5 - 1),
        ("none", lambda x: x),
    ],
)
def test_normalise_matches_its_formula_and_leaves_read_only_input_alone(normalisation, expected):
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, 5, 7, 3)).astype(np.float32)
    read_only = pixels.copy()
    read_only.flags.writeable = False
    np.testing.assert_allclose(
        preprocessing.normalise(read_only, normalisation), expected(pixels), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(read_only, pixels)
    with pytest.raises(ValueError, match="imagenet"):
        preprocessing.normalise(pixels, "standard")


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


def test_an_unknown_keyword_names_the_options_there_are(builds):
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['batch_size'\].*seed"):
        input_pipeline.make_iterator(
            _NAME, "train", global_batch_size=8, train=True, batch_size=8, data_dir=builds["tfdata"]
        )


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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend", "jax"),
        ("image_size", 0),
        ("image_size", 32.0),
        ("dtype", "int32"),
        ("dtype", "float33"),
        ("normalise", "standard"),
        ("label_policy", "vote"),
        ("label_policy", 3),
        ("annotator_strategy", "median"),
        ("redraw_each_epoch", "yes"),
        ("annotator_labels_format", "onehot"),
        ("seed", 2**64),
        ("seed", "0"),
        ("sharding", "data"),
        ("num_epochs", -1),
        ("with_file_names", 1),
        ("process_count", 0),
        ("process_index", -1),
    ],
)
def test_iterator_options_refuse_a_bad_value_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}: expected .*, found {re.escape(repr(value))}"):
        input_pipeline.IteratorOptions(**{field: value})


@pytest.mark.parametrize(
    ("options_class", "field", "value"),
    [
        (input_pipeline.TfDataOptions, "shuffle_buffer_size", 0),
        (input_pipeline.TfDataOptions, "deterministic", None),
        (input_pipeline.GrainOptions, "worker_count", -1),
        (input_pipeline.GrainOptions, "read_threads", 0),
        (input_pipeline.GrainOptions, "read_threads", 2.5),
    ],
)
def test_backend_options_refuse_a_bad_value_naming_the_field(options_class, field, value):
    with pytest.raises(ValueError, match=rf"^{field}: expected .*, found {re.escape(repr(value))}"):
        options_class(**{field: value})


def test_the_process_index_must_be_below_the_process_count():
    with pytest.raises(ValueError, match=r"process_index: expected an integer in 0\.\.1, found 2"):
        input_pipeline.IteratorOptions(process_index=2, process_count=2)


@pytest.mark.parametrize(
    ("backend", "knob", "owner"),
    [
        ("tfdata", "worker_count", "grain"),
        ("tfdata", "read_threads", "grain"),
        ("grain", "shuffle_buffer_size", "tfdata"),
        ("grain", "deterministic", "tfdata"),
    ],
)
def test_an_option_of_the_other_backend_is_refused_naming_it(builds, backend, knob, owner):
    value = {"worker_count": 1, "read_threads": 4, "shuffle_buffer_size": 4}.get(knob, False)
    message = rf"^{knob} is an option of backend='{owner}' .*backend='{backend}' would ignore it"
    with pytest.raises(TypeError, match=message):
        _iterator(builds, backend, split="train", train=True, **{knob: value})
    options = input_pipeline.IteratorOptions(backend=backend)
    with pytest.raises(TypeError, match=message):
        input_pipeline.make_iterator(
            _NAME, "train", global_batch_size=8, train=True, options=options, **{knob: value}
        )


def test_a_backend_name_stands_for_its_default_options():
    assert input_pipeline.IteratorOptions(backend="grain").backend == input_pipeline.GrainOptions()
    assert input_pipeline.IteratorOptions().backend == input_pipeline.TfDataOptions()


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


@pytest.mark.parametrize(
    ("fields", "ignored"),
    [
        ({"label_policy": "all", "num_annotators_per_example": 3}, "num_annotators_per_example=3"),
        ({"label_policy": "majority", "annotator_strategy": "best"}, "annotator_strategy='best'"),
        ({"label_policy": "clean", "redraw_each_epoch": True}, "redraw_each_epoch=True"),
        (
            {
                "label_policy": "subset",
                "num_annotators_per_example": 2,
                "annotator_strategy": "best",
                "redraw_each_epoch": True,
            },
            "redraw_each_epoch=True",
        ),
    ],
)
def test_label_policy_options_the_policy_would_ignore_are_refused(fields, ignored):
    with pytest.raises(ValueError, match=rf"would ignore {re.escape(ignored)}: drop it"):
        input_pipeline.IteratorOptions(**fields)


def test_subset_needs_its_number_of_annotators():
    with pytest.raises(ValueError, match="num_annotators_per_example: label_policy 'subset' needs"):
        input_pipeline.IteratorOptions(label_policy="subset")
    with pytest.raises(
        ValueError, match=r"num_annotators_per_example: expected an integer in 1\.\.16"
    ):
        input_pipeline.IteratorOptions(label_policy="subset", num_annotators_per_example=17)


# ---------------------------------------------------------------------------------------
# grain states: what they were saved from, checked.


def _grain_state(builds, **kwargs):
    kwargs = {"split": "train", "train": True, "seed": 1, **kwargs}
    with _iterator(builds, "grain", **kwargs) as iterator:
        _take(iterator, 1)
        return iterator.get_state()


@pytest.mark.parametrize(
    ("saved_with", "resumed_with", "difference"),
    [
        ({"seed": 0}, {}, "seed 0 in the state, 1 here"),
        ({"global_batch_size": 16}, {}, "global_batch_size 16 in the state, 8 here"),
        ({"split": "train[:10]"}, {}, "split 'train[:10]' in the state, 'train' here"),
        ({"train": False}, {}, "train False in the state, True here"),
        (
            {"process_index": 1, "process_count": 2, "global_batch_size": 16},
            {},
            "process_index 1 in the state, 0 here",
        ),
    ],
)
def test_a_grain_state_of_another_stream_is_refused_naming_what_differs(
    builds, saved_with, resumed_with, difference
):
    state = _grain_state(builds, **saved_with)
    message = rf"saved from another stream \(.*{re.escape(difference)}"
    with (
        _iterator(builds, "grain", split="train", train=True, seed=1, **resumed_with) as other,
        pytest.raises(ValueError, match=message),
    ):
        other.set_state(state)


def test_a_grain_state_of_another_dataset_is_refused(builds):
    state = {**_grain_state(builds), "dataset": "imagenet_pi/low_noise/3.0.0"}
    with (
        _iterator(builds, "grain", split="train", train=True, seed=1) as other,
        pytest.raises(ValueError, match="dataset 'imagenet_pi/low_noise/3.0.0' in the state"),
    ):
        other.set_state(state)


def test_a_grain_state_of_version_0_1_0_is_refused_saying_how_to_resume(builds):
    how = re.escape("it.set_state({**it.get_state(), 'step': 3})")
    with (
        _iterator(builds, "grain", split="train", train=True) as iterator,
        pytest.raises(ValueError, match=rf"saved by imagenet_pi 0\.1\.0.*{how}"),
    ):
        iterator.set_state({"step": 3})


def test_a_grain_state_resumes_after_a_json_round_trip_with_other_output_options(builds):
    kwargs = dict(split="train", train=True, seed=1)
    with _iterator(builds, "grain", **kwargs) as iterator:
        _take(iterator, 1)
        state = json.loads(json.dumps(iterator.get_state()))
        expected = _names(next(iterator))
    with _iterator(builds, "grain", image_size=_SIZE // 2, read_threads=1, **kwargs) as resumed:
        resumed.set_state(state)
        assert _names(next(resumed)) == expected


# grain's two streams, made directly, share one lifecycle: a closed stream refuses
# next, get_state and set_state (it never restarts); an open one restarts at a state.
_STREAM_LIFECYCLE = """
import tensorflow_datasets as tfds
from imagenet_pi.pipelines import grain_threads, grain_workers
from imagenet_pi.pipelines.raw import RawOptions

builder = tfds.builder("{name}", data_dir={data_dir!r})
options = RawOptions(train=True, local_batch_size=4, image_size=16, normalise="none", seed=0)
common = dict(num_steps=None, num_epochs=None, read_threads=1, identity={{"seed": 0}})
if "{stream}" == "threads":
    stream = grain_threads.batches(builder, "train", options, **common)
else:
    stream = grain_workers.batches(builder, "train", options, worker_count=1, **common)
first = next(stream)["file_name"].tolist()
next(stream)
state = stream.get_state()
assert state == {{"step": 2, "seed": 0}}, state
stream.set_state({{"step": 0, "seed": 0}})
assert next(stream)["file_name"].tolist() == first
stream.close()
stream.close()
for call in (lambda: next(stream), stream.get_state, lambda: stream.set_state(state)):
    try:
        call()
    except ValueError as error:
        assert "this grain stream is closed" in str(error), error
    else:
        raise AssertionError("a closed stream must refuse")
"""


@pytest.mark.parametrize("stream", ["threads", pytest.param("workers", marks=pytest.mark.slow)])
def test_grain_streams_restart_at_a_state_and_refuse_everything_once_closed(builds, stream):
    script = _STREAM_LIFECYCLE.format(name=_NAME, data_dir=builds["grain"], stream=stream)
    result = run_to_exit(script + 'print("done", flush=True)\n')
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1:] == ["done"]
