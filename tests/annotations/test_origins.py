"""The origin of a config's PI CSVs: config folders and clones, TFDS's imagenet_pi layout,
folders where files should be, and what a build then says.

Synthetic CSVs pass for a released config through the production mechanism: a
checksums.tsv of the test's own, read by a builder subclass (tests/csv_pins.py).
Downloads go to 127.0.0.1 only; every proxy points at a closed local port, so a stray
request to the real network fails at once.
"""

from __future__ import annotations

import os
import shutil

import csv_pins
import in_process_builds
import numpy as np
import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import annotations, upstream
from imagenet_pi.annotations import origins

_FEATURES = upstream.ANNOTATOR_FEATURES_RELPATH


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    for key, value in csv_pins.no_network_env({}).items():
        monkeypatch.setenv(key, value)


def _build(builder_cls, manual_dir: str, data_dir: str, config: str = "high_noise"):
    builder = builder_cls(config=config, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def _downloaded_csvs(data_dir: str) -> list[str]:
    return [
        os.path.join(root, name)
        for root, _, names in os.walk(os.path.join(data_dir, "downloads"))
        for name in names
        if name.endswith(".csv")
    ]


def _write(path, payload: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(payload)
    return str(path)


# --- Partial flat layouts ----------------------------------------------------------------

_PARTIAL_LAYOUTS = {
    "only labels/": ["labels/train.csv", "labels/validation.csv"],
    "only confidences/": ["confidences/train.csv", "confidences/validation.csv"],
    "only train files": ["labels/train.csv", "confidences/train.csv"],
    "one file missing": ["labels/train.csv", "labels/validation.csv", "confidences/train.csv"],
    "empty labels/": [],
}


@pytest.mark.parametrize("layout", sorted(_PARTIAL_LAYOUTS))
def test_partial_flat_layout_names_what_is_found_and_missing(flat_sample, tmp_path, layout):
    manual_dir = str(tmp_path / "partial")
    os.makedirs(os.path.join(manual_dir, "labels"))
    csv_pins.copy_flat(flat_sample.released["high_noise"], manual_dir, _PARTIAL_LAYOUTS[layout])
    with pytest.raises(origins.AnnotationFilesError, match="is incomplete") as error:
        origins.flat_layout_files(manual_dir)
    message = str(error.value)
    assert manual_dir in message
    missing = message.split("missing ")[1].split(". It needs")[0]
    for rel in upstream.split_csv_relpaths():
        assert (rel in missing) == (rel not in _PARTIAL_LAYOUTS[layout]), (rel, message)
    assert "Coming from TFDS's imagenet_pi" in message


def test_misnamed_flat_files_are_listed(tmp_path):
    _write(tmp_path / "labels" / "labels-train.csv", b"x")  # the upstream README's name
    with pytest.raises(origins.AnnotationFilesError, match="labels/labels-train.csv"):
        origins.flat_layout_files(tmp_path)


def test_manual_dir_without_labels_or_confidences_has_no_flat_layout(tmp_path):
    assert origins.flat_layout_files(tmp_path) is None


def test_partial_flat_layout_fails_the_build_without_downloading(flat_sample, tmp_path):
    shutil.rmtree(os.path.join(flat_sample.manual_dir, "confidences"))
    with pytest.raises(origins.AnnotationFilesError, match="confidences/train.csv"):
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert _downloaded_csvs(str(tmp_path / "data")) == []
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


# --- Building from TFDS's imagenet_pi layout ---------------------------------------------


def test_tfds_flat_layout_builds_the_config_it_is(flat_sample, tmp_path):
    builder = _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert builder.info.metadata["annotations_source"].startswith(flat_sample.manual_dir)
    assert "TFDS's imagenet_pi layout" in builder.info.metadata["annotations_source"]
    expected = annotations.read_split_files(
        os.path.join(flat_sample.manual_dir, "labels", "validation.csv"),
        os.path.join(flat_sample.manual_dir, "confidences", "validation.csv"),
    )
    dataset = builder.as_dataset(split="validation", decoders={"image": tfds.decode.SkipDecoding()})
    examples = list(tfds.as_numpy(dataset))
    assert len(examples) == len(flat_sample.sample.validation_file_names)
    for example in examples:
        row = expected.row(example["file_name"].decode())
        np.testing.assert_array_equal(example["annotator_labels"], expected.labels[row])
    features = annotations.read_annotator_features(os.path.join(flat_sample.manual_dir, _FEATURES))
    np.testing.assert_array_equal(imagenet_pi.annotator_features_of(builder), features)
    assert builder.info.splits["train"].num_examples == len(flat_sample.sample.train_file_names)


def test_tfds_flat_layout_of_the_other_config_says_which_it_is(flat_sample, tmp_path):
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError, match="are high_noise's") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir, config="low_noise")
    assert "Build imagenet_pi/high_noise" in str(error.value)
    assert os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise") in str(error.value)
    in_process_builds.assert_nothing_finished(data_dir)


def test_tfds_flat_layout_of_no_release_points_to_custom_configs(flat_sample, tmp_path):
    # The real pins: synthetic files match no released size.
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError, match="not a released version") as error:
        _build(imagenet_pi.Builder, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert "imagenet_pi.custom_config" in message and '"Any noise level"' in message
    for rel in upstream.split_csv_relpaths():
        assert f"{rel}: " in message
    in_process_builds.assert_nothing_finished(data_dir)


def test_flat_layout_of_mixed_configs_is_refused(flat_sample, tmp_path):
    csv_pins.copy_flat(
        flat_sample.released["low_noise"], flat_sample.manual_dir, ["labels/train.csv"]
    )
    with pytest.raises(origins.FlatLayoutError, match="not a released version") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert "labels/train.csv: " in str(error.value) and "low_noise's" in str(error.value)


def test_a_config_folder_is_used_before_the_flat_layout(flat_sample, tmp_path):
    clone = os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise")
    csv_pins.copy_flat(flat_sample.released["low_noise"], clone, upstream.config_relpaths())
    builder = _build(
        flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"), "low_noise"
    )
    assert builder.info.metadata["annotations_source"] == clone


def test_flat_layout_takes_annotator_features_from_a_clone(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    clone = os.path.join(flat_sample.manual_dir, "imagenet_pi", "low_noise")  # other config
    csv_pins.copy_flat(flat_sample.released["low_noise"], clone, [_FEATURES])
    builder = _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    expected = annotations.read_annotator_features(os.path.join(clone, _FEATURES))
    np.testing.assert_array_equal(imagenet_pi.annotator_features_of(builder), expected)


def test_flat_layout_downloads_the_pinned_annotator_features_when_absent(flat_sample, tmp_path):
    os.remove(os.path.join(flat_sample.manual_dir, _FEATURES))
    served = str(tmp_path / "served")
    csv_pins.copy_flat(
        flat_sample.released["high_noise"], os.path.join(served, "high_noise"), [_FEATURES]
    )
    served_file = os.path.join(served, "high_noise", _FEATURES)
    with csv_pins.local_server(files_dir=served) as url_root:
        tsv = csv_pins.write_checksums(str(tmp_path / "t.tsv"), flat_sample.released, url_root)
        builder_cls = csv_pins.builder_class(tsv, url_root)
        builder = _build(builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    expected = annotations.read_annotator_features(flat_sample.released["high_noise"][_FEATURES])
    np.testing.assert_array_equal(imagenet_pi.annotator_features_of(builder), expected)
    downloaded = _downloaded_csvs(str(tmp_path / "data"))
    assert len(downloaded) == 1
    with open(downloaded[0], "rb") as f, open(served_file, "rb") as g:
        assert f.read() == g.read()


def test_other_annotator_features_beside_flat_layout_are_refused(flat_sample, tmp_path):
    path = os.path.join(flat_sample.manual_dir, _FEATURES)
    with open(path, "a") as f:
        f.write("0.0,0.0\n")
    with pytest.raises(origins.FlatLayoutError, match="not the released") as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, str(tmp_path / "data"))
    assert path in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


def test_incomplete_pi_folder_names_missing_csv(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    missing = os.path.join(manual_dir, "imagenet_pi", "high_noise", "confidences", "validation.csv")
    os.remove(missing)
    with pytest.raises(origins.AnnotationFilesError, match="git lfs") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert missing in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


# --- A folder where a file should be, in every layout ------------------------------------


def _folder_in_place_of(path: str) -> None:
    """Replaces a file by a folder of its name holding it, as some unzipping tools leave it."""
    moved = path + ".moved"
    os.rename(path, moved)
    os.mkdir(path)
    os.rename(moved, os.path.join(path, os.path.basename(path)))


def _folder_message_start(path: str) -> str:
    return f"{path} is a folder (holding {os.path.basename(path)}), not a file"


@pytest.mark.parametrize("rel", upstream.config_relpaths())
def test_folder_in_place_of_a_file_of_a_clone_fails_the_build_saying_so(
    fresh_sample, tmp_path, rel
):
    manual_dir, _ = fresh_sample
    path = os.path.join(manual_dir, "imagenet_pi", "high_noise", rel)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(imagenet_pi.Builder, manual_dir, data_dir)
    message = str(error.value)
    assert _folder_message_start(path) in message, message
    assert "missing" not in message and "Put each CSV file itself in its place" in message
    in_process_builds.assert_nothing_finished(data_dir)


def test_folder_in_place_of_a_file_of_a_config_folder_fails_the_build_saying_so(
    fresh_sample, tmp_path
):
    manual_dir, _ = fresh_sample
    config_dir = os.path.join(manual_dir, "high_noise")
    os.rename(os.path.join(manual_dir, "imagenet_pi", "high_noise"), config_dir)
    path = os.path.join(config_dir, "confidences", "validation.csv")
    _folder_in_place_of(path)
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(imagenet_pi.Builder, manual_dir, str(tmp_path / "data"))
    assert _folder_message_start(path) in str(error.value), str(error.value)


def test_folder_in_place_of_a_file_of_a_custom_config_is_refused_saying_so(fresh_sample):
    manual_dir, _ = fresh_sample
    config_dir = os.path.join(manual_dir, "imagenet_pi", "high_noise")
    path = os.path.join(config_dir, "labels", "train.csv")
    _folder_in_place_of(path)
    with pytest.raises(origins.AnnotationFilesError) as error:
        imagenet_pi.custom_config(config_dir, name="mine", beta=0.3)
    assert _folder_message_start(path) in str(error.value), str(error.value)


@pytest.mark.parametrize("rel", upstream.split_csv_relpaths())
def test_folder_in_place_of_a_csv_of_the_flat_layout_fails_the_build_saying_so(
    flat_sample, tmp_path, rel
):
    path = os.path.join(flat_sample.manual_dir, rel)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.AnnotationFilesError) as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert f"; {rel} is a folder (holding {os.path.basename(rel)}), not a file" in message, message
    assert "missing" not in message
    assert _downloaded_csvs(data_dir) == []
    in_process_builds.assert_nothing_finished(data_dir)


def test_folder_in_place_of_annotator_features_beside_the_flat_layout_is_refused(
    flat_sample, tmp_path
):
    path = os.path.join(flat_sample.manual_dir, _FEATURES)
    _folder_in_place_of(path)
    data_dir = str(tmp_path / "data")
    with pytest.raises(origins.FlatLayoutError) as error:
        _build(flat_sample.builder_cls, flat_sample.manual_dir, data_dir)
    message = str(error.value)
    assert message.startswith(_folder_message_start(path)), message
    assert "expected the released annotator_features.csv" in message
    in_process_builds.assert_nothing_finished(data_dir)
