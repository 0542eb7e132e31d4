"""Building imagenet_pi from one's own annotations: relabel at a new beta, build, load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import relabel_inputs
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import (
    annotations,
    built_datasets,
    custom_configs,
    fake_data,
    upstream,
)
from imagenet_pi.annotations import origins
from imagenet_pi.relabelling import relabel_metadata

BETA = relabel_inputs.CUSTOM_BETA


def test_relabel_config_records_beta_seed_and_models(custom_relabelled):
    _, _, config_dir = custom_relabelled
    metadata = relabel_metadata.read_metadata(config_dir)
    assert metadata["beta"] == BETA and metadata["seed"] == 11
    assert metadata["models"] == list(upstream.ANNOTATOR_MODELS)


def test_custom_config_takes_beta_and_name_from_relabel_json(custom_relabelled):
    _, _, config_dir = custom_relabelled
    config = imagenet_pi.custom_config(config_dir)
    digest = custom_configs.annotations_digest(config_dir)[:8]
    assert (config.name, config.beta) == (f"beta_0.3_seed11_{digest}", BETA)
    assert config.annotations_dir == os.path.abspath(config_dir)
    assert "beta = 0.3" in config.description


@pytest.fixture
def without_relabel_json(custom_relabelled, tmp_path):
    """A copy of the relabelled folder without its relabel.json."""
    copy = shutil.copytree(custom_relabelled[2], tmp_path / "mine")
    os.remove(copy / relabel_metadata.METADATA_FILE)
    return copy


def test_custom_config_without_relabel_json_needs_a_name(without_relabel_json):
    with pytest.raises(ValueError, match="pass a name"):
        imagenet_pi.custom_config(without_relabel_json)


def test_custom_config_without_relabel_json_takes_the_given_name_and_beta(without_relabel_json):
    config = imagenet_pi.custom_config(without_relabel_json, "mine", beta=0.2)
    assert (config.name, config.beta) == ("mine", 0.2)


@pytest.mark.parametrize("name", ["high_noise", "low_noise"])
def test_released_config_names_are_refused(custom_relabelled, name):
    with pytest.raises(ValueError, match="released config"):
        imagenet_pi.custom_config(custom_relabelled[2], name)


@pytest.mark.parametrize("name", ["a/b", "x:1.0.0", "a,b", ""])
def test_names_tfds_cannot_parse_back_are_refused(custom_relabelled, name):
    with pytest.raises(ValueError, match="tfds.load can parse"):
        imagenet_pi.custom_config(custom_relabelled[2], name)


@pytest.mark.parametrize("beta", [1e16, 1e300, 1e-7, 0.3, 100.0, 0.1234567])
def test_derived_name_is_one_tfds_can_parse_back_for_any_beta(beta):
    name = custom_configs.default_name(beta, 0, "ab" * 32)
    assert custom_configs.CONFIG_NAME_PATTERN.fullmatch(name), name


def test_derived_names_of_betas_that_differ_past_six_digits_differ():
    # The same draws (same CSVs) at betas that print alike with "%g" would share a name.
    first = custom_configs.default_name(0.1234567, 0, "ab" * 32)
    second = custom_configs.default_name(0.1234568, 0, "ab" * 32)
    assert first != second
    assert custom_configs.default_name(0.3, 1, "ab" * 32) == "beta_0.3_seed1_abababab"


@pytest.mark.parametrize("beta", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_beta_is_refused_by_the_one_beta_check(custom_relabelled, beta):
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        custom_configs.custom_config(custom_relabelled[2], "my_noise", beta=beta)


def test_incomplete_folder_names_the_missing_files(tmp_path):
    annotations.write_annotator_features(tmp_path, np.zeros((16, 2), np.float32))
    with pytest.raises(origins.AnnotationFilesError, match=r"labels/train\.csv"):
        imagenet_pi.custom_config(tmp_path, "mine")


def test_derived_name_changes_with_the_annotations_and_only_with_them(custom_relabelled, tmp_path):
    config_dir = custom_relabelled[2]
    name = imagenet_pi.custom_config(config_dir).name
    same = shutil.copytree(config_dir, tmp_path / "same")
    assert imagenet_pi.custom_config(same).name == name
    other = shutil.copytree(config_dir, tmp_path / "other")
    split = annotations.read_split(other, "validation")
    labels = split.labels.copy()
    labels[0, 0] = (labels[0, 0] + 1) % upstream.NUM_CLASSES  # one label of one annotator
    annotations.write_split(other, "validation", split.file_names, labels, split.confidences)
    other_name = imagenet_pi.custom_config(other).name
    assert other_name != name and other_name.startswith("beta_0.3_seed11_")


def test_explicit_name_and_beta_are_kept(custom_relabelled):
    config = imagenet_pi.custom_config(custom_relabelled[2], "beta_0.3", beta=0.5)
    assert (config.name, config.beta) == ("beta_0.3", 0.5)


def _with_relabel_json(custom_relabelled, tmp_path, content: bytes):
    copy = shutil.copytree(custom_relabelled[2], tmp_path / "mine")
    (copy / relabel_metadata.METADATA_FILE).write_bytes(content)
    return copy


def test_relabel_json_without_beta_says_what_it_lacks(custom_relabelled, tmp_path):
    copy = _with_relabel_json(custom_relabelled, tmp_path, b'{"seed": 3}')
    with pytest.raises(ValueError) as error:
        imagenet_pi.custom_config(copy)
    message = str(error.value)
    assert f"{copy / relabel_metadata.METADATA_FILE}: expected 'beta'" in message
    assert "found the keys ['seed']" in message and "has no relabel.json" not in message


@pytest.mark.parametrize(
    "content, found",
    [
        ('{"beta": 0.3, "note": "caf\xe9"}'.encode("latin-1"), "byte 0xe9 at position 26"),
        (b"[0.3]", "found a JSON list"),
        (b'{"beta": -1}', "beta: beta must be a finite number > 0"),
        (b'{"beta": 0.3, "seed": "x"}', "seed: expected an int >= 0 or a list of them"),
        (b'{"beta": 0.3, "seed": [1, -2]}', "seed: expected an int >= 0 or a list of them"),
    ],
)
def test_bad_relabel_json_is_named_with_what_is_wrong(custom_relabelled, tmp_path, content, found):
    copy = _with_relabel_json(custom_relabelled, tmp_path, content)
    with pytest.raises(ValueError) as error:
        imagenet_pi.custom_config(copy)
    assert str(error.value).startswith(f"{copy / relabel_metadata.METADATA_FILE}: ")
    assert found in str(error.value)


def test_explicit_name_and_beta_do_not_need_a_readable_relabel_json(custom_relabelled, tmp_path):
    copy = _with_relabel_json(custom_relabelled, tmp_path, b"\xff\xfe not json")
    config = imagenet_pi.custom_config(copy, "mine", beta=0.3)
    assert (config.name, config.beta) == ("mine", 0.3)


def test_broken_relabel_json_gives_its_line(custom_relabelled, tmp_path):
    copy = shutil.copytree(custom_relabelled[2], tmp_path / "broken")
    (copy / relabel_metadata.METADATA_FILE).write_text('{\n"beta": 0.3,\n}')
    with pytest.raises(ValueError, match=r"relabel\.json: line 3"):
        imagenet_pi.custom_config(copy)


def test_built_custom_config_holds_the_labels_of_its_csvs(custom_relabelled, custom_built):
    _, _, config_dir = custom_relabelled
    data_dir, config = custom_built
    for split in upstream.SPLITS:
        expected = annotations.read_split(config_dir, split)
        examples = relabel_inputs.loaded(f"imagenet_pi/{config.name}", data_dir, split)
        rows = expected.rows(examples["file_name"])
        assert (rows >= 0).all() and len(rows) == len(expected)
        np.testing.assert_array_equal(examples["annotator_labels"], expected.labels[rows])
        np.testing.assert_array_equal(examples["annotator_confidences"], expected.confidences[rows])


def test_built_custom_config_holds_the_clean_labels_of_the_tars(custom_relabelled, custom_built):
    _, sample, _ = custom_relabelled
    data_dir, config = custom_built
    clean_of = dict(zip(sample.train_file_names, sample.train_clean_labels.tolist()))
    train = relabel_inputs.loaded(f"imagenet_pi/{config.name}", data_dir, "train")
    assert [clean_of[n.decode()] for n in train["file_name"]] == train["clean_label"].tolist()


def test_custom_config_is_loaded_by_name_with_its_metadata(custom_relabelled, custom_built):
    _, _, config_dir = custom_relabelled
    data_dir, config = custom_built
    builder = built_datasets.open_built(f"imagenet_pi/{config.name}", data_dir)
    assert builder.info.metadata["beta"] == BETA
    assert builder.info.metadata["annotations_source"] == os.path.abspath(config_dir)
    np.testing.assert_array_equal(
        imagenet_pi.annotator_features_of(builder), annotations.read_annotator_features(config_dir)
    )


def test_the_dropped_name_annotator_features_names_annotator_features_of():
    with pytest.raises(AttributeError, match="is now imagenet_pi.annotator_features_of"):
        imagenet_pi.annotator_features  # noqa: B018


def test_labels_at_beta_0_3_agree_more_often_than_at_beta_0_01(custom_relabelled, custom_built):
    # The beta given to relabel reaches the build: hotter annotators agree less often.
    _, sample, _ = custom_relabelled
    data_dir, config = custom_built
    train = relabel_inputs.loaded(f"imagenet_pi/{config.name}", data_dir, "train")
    hot = fake_data.fake_annotations(sample.train_clean_labels, beta=0.01, seed=3)[0]
    agreement = np.mean(train["annotator_labels"] == train["clean_label"][:, None])
    assert agreement > np.mean(hot == sample.train_clean_labels[:, None])


def test_unbuilt_custom_config_is_not_found_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass the data_dir it was built in"):
        built_datasets.open_built("imagenet_pi/beta_0.7", tmp_path)


def test_unknown_config_names_the_released_configs(tmp_path):
    with pytest.raises(ValueError) as error:
        tfds.load("imagenet_pi/no_such_config", data_dir=str(tmp_path))
    message = str(error.value)
    assert "imagenet_pi has no config 'no_such_config'" in message
    assert "high_noise (beta = 0.1), low_noise (beta = 0.5)" in message
    assert f"custom config built in the data_dir (in {tmp_path}: none)" in message
    assert "imagenet_pi.custom_config(<annotations dir>)" in message


def test_unknown_config_names_the_custom_configs_built_in_the_data_dir(custom_built):
    data_dir, config = custom_built
    with pytest.raises(ValueError) as error:
        tfds.builder("imagenet_pi/beta_0.31", data_dir=data_dir)
    assert f"(in {data_dir}: {config.name})" in str(error.value)


_READ_BETA_OF_A_FOLDER = """
import sys
from imagenet_pi import custom_configs, stats
config = custom_configs.custom_config(sys.argv[1])
source = stats.from_annotations_dir(sys.argv[1], ["validation"])
writers = sorted(
    name
    for name, module in sys.modules.items()
    if name.startswith("imagenet_pi")
    and (hasattr(module, "relabel_config") or hasattr(module, "relabel_split"))
)
print(config.beta, source.beta, writers)
"""


@pytest.mark.slow
def test_readers_of_relabel_json_do_not_import_the_relabelling_code(custom_relabelled):
    result = subprocess.run(
        [sys.executable, "-c", _READ_BETA_OF_A_FOLDER, custom_relabelled[2]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [str(BETA), str(BETA), "[]"]


def test_custom_config_refuses_a_bad_beta_in_relabel_json(tmp_path, small_sample):
    manual_dir, _ = small_sample
    config_dir = tmp_path / "mine"
    shutil.copytree(os.path.join(manual_dir, "imagenet_pi", "high_noise"), config_dir)
    (config_dir / relabel_metadata.METADATA_FILE).write_text(json.dumps({"beta": "0.3"}))
    with pytest.raises(ValueError, match="beta must be a finite number > 0.*of type str"):
        imagenet_pi.custom_config(config_dir)
