"""A second build of a name is the build asked for, or a refusal: never another dataset.

A build records what it was made from (`max_examples_per_split`, the annotation files'
sha256, beta, the relabel seed); a later build of the same name into the same data_dir
reuses it only if it asks for the same, and readers warn on a debug build.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import threading
import time
import warnings

import identity_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import build_identity, built_datasets, fake_data, upstream
from imagenet_pi.generation import build_lock

_NAME = "imagenet_pi/high_noise"


@pytest.fixture
def debug_build(small_sample, tmp_path):
    """high_noise built with max_examples_per_split=2: (data_dir, manual_dir)."""
    manual_dir, _ = small_sample
    identity_builds.build(tmp_path, manual_dir, max_examples_per_split=2)
    return str(tmp_path), manual_dir


# --- Item 1: a debug build is never taken for the full dataset ----------------------------


def test_debug_build_records_max_examples_per_split(debug_build):
    data_dir, _ = debug_build
    metadata = tfds.builder(_NAME, data_dir=data_dir).info.metadata
    assert metadata[build_identity.MAX_EXAMPLES_KEY] == 2


def test_full_build_records_no_max_examples_per_split(built_high_noise):
    data_dir, _ = built_high_noise
    metadata = tfds.builder(_NAME, data_dir=data_dir).info.metadata
    assert metadata[build_identity.MAX_EXAMPLES_KEY] is None


def test_numpy_max_examples_per_split_is_recorded_as_an_int(small_sample, tmp_path):
    manual_dir, _ = small_sample
    identity_builds.build(tmp_path, manual_dir, max_examples_per_split=np.int64(2))
    with open(tfds.builder(_NAME, data_dir=str(tmp_path)).data_path / "metadata.json") as f:
        assert json.load(f)[build_identity.MAX_EXAMPLES_KEY] == 2


def test_full_download_and_prepare_after_a_debug_build_is_refused(debug_build):
    data_dir, manual_dir = debug_build
    with pytest.raises(build_identity.BuildInputsError) as error:
        identity_builds.build(data_dir, manual_dir)
    message = str(error.value)
    assert f"{_NAME}/3.0.0 in data_dir {data_dir}" in message
    assert "max_examples_per_split: built with 2 (a debug build)" in message
    assert "REUSE_CACHE_IF_EXISTS" in message
    assert identity_builds.sizes(_NAME, data_dir) == {"train": 2, "validation": 2}


def test_other_max_examples_per_split_after_a_debug_build_is_refused(debug_build):
    data_dir, manual_dir = debug_build
    with pytest.raises(build_identity.BuildInputsError, match="built with 2 .*asked for 3"):
        identity_builds.build(data_dir, manual_dir, max_examples_per_split=3)


def test_same_max_examples_per_split_reuses_the_debug_build(debug_build):
    data_dir, manual_dir = debug_build
    identity_builds.build(data_dir, manual_dir, max_examples_per_split=2)
    assert identity_builds.sizes(_NAME, data_dir) == {"train": 2, "validation": 2}


def test_debug_build_request_over_a_full_build_is_refused_and_keeps_it(small_sample, tmp_path):
    manual_dir, _ = small_sample
    identity_builds.build(tmp_path, manual_dir)
    with pytest.raises(build_identity.BuildInputsError, match="To keep the full build"):
        identity_builds.build(tmp_path, manual_dir, max_examples_per_split=2)
    assert identity_builds.sizes(_NAME, tmp_path) == identity_builds.full_sizes()


def test_rebuild_over_a_debug_build_builds_the_full_dataset(debug_build):
    data_dir, manual_dir = debug_build
    mode = tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
    builder = identity_builds.build(data_dir, manual_dir, download_mode=mode)
    assert identity_builds.sizes(_NAME, data_dir) == identity_builds.full_sizes()
    assert builder.info.metadata[build_identity.MAX_EXAMPLES_KEY] is None


def test_tfds_load_of_a_debug_build_warns_naming_the_build_and_the_flag(debug_build):
    data_dir, _ = debug_build
    with pytest.warns(build_identity.PartialBuildWarning) as warned:
        tfds.load(_NAME, data_dir=data_dir, split="train")
    (message,) = [
        str(w.message) for w in warned if w.category is build_identity.PartialBuildWarning
    ]
    assert f"{_NAME}/3.0.0 in data_dir {data_dir} is a debug build" in message
    assert "max_examples_per_split=2" in message and "2 train, 2 validation" in message


def test_jax_iterator_over_a_debug_build_warns(debug_build):
    from imagenet_pi import input_pipeline

    data_dir, _ = debug_build
    with pytest.warns(build_identity.PartialBuildWarning, match="is a debug build"):
        iterator = input_pipeline.make_iterator(
            _NAME, "validation", global_batch_size=8, train=False, data_dir=data_dir
        )
    with iterator:
        pass


def test_pytorch_dataset_over_a_debug_build_warns(small_sample, tmp_path):
    from imagenet_pi.torch_dataset import ImageNetPI

    manual_dir, _ = small_sample
    builder = tfds.builder(_NAME, data_dir=str(tmp_path), file_format="array_record")
    identity_builds.prepare(builder, manual_dir, max_examples_per_split=2)
    with pytest.warns(build_identity.PartialBuildWarning, match="max_examples_per_split=2"):
        dataset = ImageNetPI(str(tmp_path), split="train", config="high_noise")
    assert len(dataset) == 2


def test_readers_of_a_full_build_do_not_warn(built_high_noise):
    data_dir, _ = built_high_noise
    with warnings.catch_warnings():
        warnings.simplefilter("error", build_identity.PartialBuildWarning)
        built_datasets.open_built(_NAME, data_dir)
        tfds.load(_NAME, data_dir=data_dir, split="validation")


# --- Item 1: max_examples_per_split out of range is refused before anything is written --


@pytest.mark.parametrize("value", [0, -1, True, 2.0, "2"])
def test_download_and_prepare_refuses_max_examples_per_split_below_1_writing_nothing(
    small_sample, tmp_path, value
):
    manual_dir, _ = small_sample
    with pytest.raises(ValueError, match=r"expected an integer >= 1.*found " + repr(value)):
        identity_builds.build(tmp_path / "data", manual_dir, max_examples_per_split=value)
    assert not (tmp_path / "data").exists()


def test_max_examples_per_split_on_beam_is_refused_writing_nothing(small_sample, tmp_path):
    manual_dir, _ = small_sample
    with pytest.raises(ValueError, match="TFDS does not apply it on Beam"):
        identity_builds.build(
            tmp_path / "data", manual_dir, max_examples_per_split=2, beam_runner="DirectRunner"
        )
    assert not (tmp_path / "data").exists()


# --- Item 2: a config name is bound to the annotations it was built from ----------------


def test_build_records_the_sha256_of_every_annotation_file_beta_and_seed(
    relabelled_twice, built_from_a
):
    _, folder_a, _ = relabelled_twice
    metadata = tfds.builder("imagenet_pi/beta_0.3", data_dir=built_from_a).info.metadata
    expected = {
        rel: hashlib.sha256(pathlib.Path(folder_a, rel).read_bytes()).hexdigest()
        for rel in upstream.config_relpaths()
    }
    assert metadata[build_identity.ANNOTATIONS_SHA256_KEY] == expected
    assert (metadata["beta"], metadata[build_identity.RELABEL_SEED_KEY]) == (0.3, 0)


def test_custom_config_of_other_folder_and_beta_under_the_same_name_is_refused(
    relabelled_twice, built_from_a
):
    manual_dir, folder_a, folder_b = relabelled_twice
    config = imagenet_pi.custom_config(folder_b, name="beta_0.3", beta=0.5)
    with pytest.raises(build_identity.BuildInputsError) as error:
        identity_builds.build(built_from_a, manual_dir, config=config)
    message = str(error.value)
    assert "beta: built with 0.3, asked for 0.5" in message
    assert f"built from {folder_a} (relabel seed 0), asked for {folder_b}" in message
    info = tfds.builder("imagenet_pi/beta_0.3", data_dir=built_from_a).info
    assert info.metadata["beta"] == 0.3


def test_custom_config_of_other_folder_is_refused_with_no_manual_dir(
    relabelled_twice, built_from_a
):
    _, folder_a, folder_b = relabelled_twice
    config = imagenet_pi.custom_config(folder_b, name="beta_0.3")
    with pytest.raises(build_identity.BuildInputsError, match=f"built from {re.escape(folder_a)}"):
        identity_builds.build(built_from_a, None, config=config)


def test_tfds_load_of_a_custom_config_object_over_a_build_from_other_csvs_is_refused(
    relabelled_twice, built_from_a
):
    *_, folder_b = relabelled_twice
    config = imagenet_pi.custom_config(folder_b, name="beta_0.3")
    with pytest.raises(build_identity.BuildInputsError, match=f"asked for {re.escape(folder_b)}"):
        tfds.load("imagenet_pi", data_dir=built_from_a, builder_kwargs={"config": config})


def test_custom_config_object_is_read_after_its_folder_is_gone(relabelled_twice, tmp_path):
    manual_dir, folder_a, _ = relabelled_twice
    folder = shutil.copytree(folder_a, tmp_path / "beta_0.3")
    config = imagenet_pi.custom_config(folder)
    identity_builds.build(tmp_path / "data", manual_dir, config=config)
    shutil.rmtree(folder)
    dataset = tfds.load(
        "imagenet_pi",
        data_dir=str(tmp_path / "data"),
        builder_kwargs={"config": config},
        split="validation",
    )
    assert len(dataset) == identity_builds.full_sizes()["validation"]


def test_csvs_changed_in_the_same_folder_are_refused_naming_the_file(relabelled_twice, tmp_path):
    manual_dir, folder_a, _ = relabelled_twice
    folder = shutil.copytree(folder_a, tmp_path / "beta_0.3")
    # A name given: the name custom_config derives changes with the CSVs' content.
    config = imagenet_pi.custom_config(folder, name="mine", beta=0.3)
    identity_builds.build(tmp_path / "data", manual_dir, config=config)
    labels_csv = folder / "labels" / "validation.csv"
    first, *rest = labels_csv.read_text().splitlines(keepends=True)
    name, label, *others = first.split(",")
    labels_csv.write_text(",".join([name, str((int(label) + 1) % 1000), *others]) + "".join(rest))
    with pytest.raises(build_identity.BuildInputsError) as error:
        identity_builds.build(
            tmp_path / "data",
            manual_dir,
            config=imagenet_pi.custom_config(folder, name="mine", beta=0.3),
        )
    assert "their labels/validation.csv differ (sha256)" in str(error.value)


def test_the_same_folder_and_beta_reuse_the_build(relabelled_twice, built_from_a):
    manual_dir, folder_a, _ = relabelled_twice
    labels = identity_builds.labels("imagenet_pi/beta_0.3", built_from_a)
    identity_builds.build(built_from_a, manual_dir, config=imagenet_pi.custom_config(folder_a))
    assert identity_builds.labels("imagenet_pi/beta_0.3", built_from_a) == labels


def test_a_copy_of_the_same_csvs_elsewhere_reuses_the_build(
    relabelled_twice, built_from_a, tmp_path_factory
):
    manual_dir, folder_a, _ = relabelled_twice
    copy = shutil.copytree(folder_a, tmp_path_factory.mktemp("moved") / "beta_0.3")
    identity_builds.build(built_from_a, manual_dir, config=imagenet_pi.custom_config(copy))


def test_released_config_asked_from_other_csvs_in_the_manual_dir_is_refused(
    built_high_noise, tmp_path
):
    data_dir, _ = built_high_noise
    other_manual_dir = str(tmp_path / "manual")
    fake_data.write_sample(
        other_manual_dir, configs=["high_noise"], seed=1, **fake_data.SMALL_SAMPLE
    )
    with pytest.raises(build_identity.BuildInputsError, match="annotations: built from"):
        identity_builds.build(data_dir, other_manual_dir)


def test_released_config_asked_for_with_no_manual_dir_reuses_the_build(built_high_noise):
    # `tfds.load` and a bare download_and_prepare() name no annotation files.
    data_dir, _ = built_high_noise
    identity_builds.build(data_dir, None)


def test_released_config_asked_for_from_the_download_compares_the_pinned_sums(
    built_high_noise, tmp_path
):
    # A manual_dir with the tars only: a build would download the released CSVs.
    data_dir, _ = built_high_noise
    with pytest.raises(build_identity.BuildInputsError, match="the released high_noise files"):
        identity_builds.build(data_dir, str(tmp_path))


def test_build_of_an_earlier_version_without_a_record_is_reused_with_a_log_line(
    small_sample, tmp_path, caplog
):
    manual_dir, _ = small_sample
    builder = identity_builds.build(tmp_path, manual_dir)
    metadata_file = os.path.join(builder.data_dir, "metadata.json")
    with open(metadata_file) as f:
        recorded = json.load(f)
    for key in (build_identity.ANNOTATIONS_SHA256_KEY, build_identity.MAX_EXAMPLES_KEY):
        del recorded[key]
    with open(metadata_file, "w") as f:
        json.dump(recorded, f)
    identity_builds.build(tmp_path, manual_dir, max_examples_per_split=2)
    assert "which did not record what it was built from: reusing it unchecked" in caplog.text


def test_build_that_waited_refuses_a_dataset_built_meanwhile_from_other_csvs(
    relabelled_twice, tmp_path, caplog
):
    manual_dir, folder_a, folder_b = relabelled_twice
    waiting = tfds.builder(
        "imagenet_pi",
        config=imagenet_pi.custom_config(folder_b, name="beta_0.3"),
        data_dir=str(tmp_path),
    )
    first = tfds.builder(
        "imagenet_pi",
        config=imagenet_pi.custom_config(folder_a, name="beta_0.3"),
        data_dir=str(tmp_path),
    )
    errors = []

    def prepare_waiting() -> None:
        try:
            identity_builds.prepare(waiting, manual_dir)
        except build_identity.BuildInputsError as error:
            errors.append(error)

    # The first build holds the lock while the second waits for it, and builds meanwhile.
    with build_lock.exclusive_build(first.data_path, first.info.full_name):
        thread = threading.Thread(target=prepare_waiting)
        thread.start()
        deadline = time.monotonic() + 120
        while "waiting for that build to end" not in caplog.text:
            assert time.monotonic() < deadline, "the second build never waited"
            time.sleep(0.1)
        config = tfds.download.DownloadConfig(manual_dir=manual_dir)
        tfds.core.GeneratorBasedBuilder.download_and_prepare(first, download_config=config)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(errors) == 1 and f"asked for {folder_b}" in str(errors[0])
    metadata = tfds.builder("imagenet_pi/beta_0.3", data_dir=str(tmp_path)).info.metadata
    assert metadata["annotations_source"] == folder_a
