"""Building imagenet_pi from one's own annotations: relabel at a new beta, build, load."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
import tfds_command

import imagenet_pi
from imagenet_pi import (
    annotation_files,
    annotations,
    built_datasets,
    custom_configs,
    fake_data,
    relabel_files,
    relabelled_configs,
    upstream,
)

BETA = 0.3


def write_predictions(predictions_dir: str, sample: fake_data.FakeIlsvrc) -> None:
    """A predictions folder in relabel's layout, from the synthetic annotator models."""
    splits = {
        "train": (sample.train_file_names, sample.train_clean_labels),
        "validation": (sample.validation_file_names, sample.validation_clean_labels),
    }
    for split, (file_names, clean_labels) in splits.items():
        split_dir = os.path.join(predictions_dir, split)
        os.makedirs(split_dir)
        with open(os.path.join(split_dir, relabel_files.FILE_NAMES_FILE), "w") as f:
            f.writelines(f"{name}\n" for name in file_names)
        for annotator, model in enumerate(upstream.ANNOTATOR_MODELS):
            probabilities = fake_data.annotator_probabilities(
                clean_labels, annotator, seed=3, num_annotators=upstream.NUM_ANNOTATORS
            )
            np.save(
                relabel_files.predictions_path(split_dir, model), probabilities.astype(np.float32)
            )
        np.save(
            os.path.join(split_dir, relabel_files.CLEAN_LABELS_FILE), clean_labels.astype(np.int16)
        )
        counts = dict(zip(upstream.ANNOTATOR_MODELS, fake_data.annotator_parameter_counts()))
        with open(os.path.join(split_dir, relabel_files.PARAMETER_COUNTS_FILE), "w") as f:
            json.dump({model: float(count) for model, count in counts.items()}, f)


@pytest.fixture(scope="module")
def relabelled(tmp_path_factory):
    """(manual_dir with tars only, sample, config folder relabelled at BETA)."""
    root = tmp_path_factory.mktemp("custom")
    manual_dir = str(root / "manual")
    sample = fake_data.write_sample(manual_dir, configs=[], **fake_data.SMALL_SAMPLE)
    write_predictions(str(root / "predictions"), sample)
    config_dir = str(root / f"beta_{BETA}")
    relabelled_configs.relabel_config(root / "predictions", config_dir, BETA, seed=11)
    return manual_dir, sample, config_dir


@pytest.fixture(scope="module")
def built(relabelled, tmp_path_factory):
    """The relabelled folder built with the real builder: (data_dir, config)."""
    manual_dir, _, config_dir = relabelled
    data_dir = str(tmp_path_factory.mktemp("custom_build"))
    config = imagenet_pi.custom_config(config_dir)
    builder = tfds.builder("imagenet_pi", config=config, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return data_dir, config


def _loaded(name: str, data_dir: str, split: str) -> dict[str, np.ndarray]:
    dataset = tfds.load(
        name, data_dir=data_dir, split=split, decoders={"image": tfds.decode.SkipDecoding()}
    )
    return next(iter(tfds.as_numpy(dataset.batch(10_000))))


def test_relabel_config_records_beta_seed_and_models(relabelled):
    _, _, config_dir = relabelled
    metadata = relabel_files.read_metadata(config_dir)
    assert metadata["beta"] == BETA and metadata["seed"] == 11
    assert metadata["models"] == list(upstream.ANNOTATOR_MODELS)


def test_custom_config_takes_beta_and_name_from_relabel_json(relabelled):
    _, _, config_dir = relabelled
    config = imagenet_pi.custom_config(config_dir)
    assert (config.name, config.beta) == ("beta_0.3", BETA)
    assert config.annotations_dir == os.path.abspath(config_dir)
    assert "beta = 0.3" in config.description


@pytest.fixture
def without_relabel_json(relabelled, tmp_path):
    """A copy of the relabelled folder without its relabel.json."""
    copy = shutil.copytree(relabelled[2], tmp_path / "mine")
    os.remove(copy / relabel_files.METADATA_FILE)
    return copy


def test_custom_config_without_relabel_json_needs_a_name(without_relabel_json):
    with pytest.raises(ValueError, match="pass a name"):
        imagenet_pi.custom_config(without_relabel_json)


def test_custom_config_without_relabel_json_takes_the_given_name_and_beta(without_relabel_json):
    config = imagenet_pi.custom_config(without_relabel_json, "mine", beta=0.2)
    assert (config.name, config.beta) == ("mine", 0.2)


@pytest.mark.parametrize("name", ["high_noise", "low_noise"])
def test_released_config_names_are_refused(relabelled, name):
    with pytest.raises(ValueError, match="released config"):
        imagenet_pi.custom_config(relabelled[2], name)


@pytest.mark.parametrize("name", ["a/b", "x:1.0.0", "a,b", ""])
def test_names_tfds_cannot_parse_back_are_refused(relabelled, name):
    with pytest.raises(ValueError, match="tfds.load can parse"):
        imagenet_pi.custom_config(relabelled[2], name)


@pytest.mark.parametrize("beta", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_beta_is_refused_by_the_one_beta_check(relabelled, beta):
    with pytest.raises(ValueError, match="beta must be a finite number > 0"):
        custom_configs.custom_config(relabelled[2], "my_noise", beta=beta)


def test_incomplete_folder_names_the_missing_files(tmp_path):
    annotations.write_annotator_features(tmp_path, np.zeros((16, 2), np.float32))
    with pytest.raises(annotation_files.AnnotationFilesError, match=r"labels/train\.csv"):
        imagenet_pi.custom_config(tmp_path, "mine")


def test_broken_relabel_json_gives_its_line(relabelled, tmp_path):
    copy = shutil.copytree(relabelled[2], tmp_path / "broken")
    (copy / relabel_files.METADATA_FILE).write_text('{\n"beta": 0.3,\n}')
    with pytest.raises(ValueError, match=r"relabel\.json: line 3"):
        imagenet_pi.custom_config(copy)


def test_built_custom_config_holds_the_labels_of_its_csvs(relabelled, built):
    _, _, config_dir = relabelled
    data_dir, config = built
    for split in upstream.SPLITS:
        expected = annotations.read_split(config_dir, split)
        examples = _loaded(f"imagenet_pi/{config.name}", data_dir, split)
        rows = expected.rows(examples["file_name"])
        assert (rows >= 0).all() and len(rows) == len(expected)
        np.testing.assert_array_equal(examples["annotator_labels"], expected.labels[rows])
        np.testing.assert_array_equal(examples["annotator_confidences"], expected.confidences[rows])


def test_built_custom_config_holds_the_clean_labels_of_the_tars(relabelled, built):
    _, sample, _ = relabelled
    data_dir, config = built
    clean_of = dict(zip(sample.train_file_names, sample.train_clean_labels.tolist()))
    train = _loaded(f"imagenet_pi/{config.name}", data_dir, "train")
    assert [clean_of[n.decode()] for n in train["file_name"]] == train["clean_label"].tolist()


def test_custom_config_is_loaded_by_name_with_its_metadata(relabelled, built):
    _, _, config_dir = relabelled
    data_dir, config = built
    builder = built_datasets.open_built(f"imagenet_pi/{config.name}", data_dir)
    assert builder.info.metadata["beta"] == BETA
    assert builder.info.metadata["annotations_source"] == os.path.abspath(config_dir)
    np.testing.assert_array_equal(
        imagenet_pi.annotator_features_of(builder), annotations.read_annotator_features(config_dir)
    )


def test_the_dropped_name_annotator_features_names_annotator_features_of():
    with pytest.raises(AttributeError, match="is now imagenet_pi.annotator_features_of"):
        imagenet_pi.annotator_features  # noqa: B018


def test_labels_at_beta_0_3_agree_more_often_than_at_beta_0_01(relabelled, built):
    # The beta given to relabel reaches the build: hotter annotators agree less often.
    _, sample, _ = relabelled
    data_dir, config = built
    train = _loaded(f"imagenet_pi/{config.name}", data_dir, "train")
    hot = fake_data.fake_annotations(sample.train_clean_labels, beta=0.01, seed=3)[0]
    agreement = np.mean(train["annotator_labels"] == train["clean_label"][:, None])
    assert agreement > np.mean(hot == sample.train_clean_labels[:, None])


@pytest.mark.slow
def test_tfds_build_command_builds_a_custom_config_from_json(relabelled, built, tmp_path):
    manual_dir, _, config_dir = relabelled
    config_json = json.dumps({"name": "beta_0.3", "beta": BETA, "annotations_dir": config_dir})
    result = tfds_command.tfds_build(
        "imagenet_pi", manual_dir, str(tmp_path), "--config", config_json
    )
    assert result.returncode == 0, result.stderr[-4000:]
    from_command = _loaded("imagenet_pi/beta_0.3", str(tmp_path), "validation")
    from_python = _loaded("imagenet_pi/beta_0.3", built[0], "validation")
    order = np.argsort(from_command["file_name"]), np.argsort(from_python["file_name"])
    np.testing.assert_array_equal(
        from_command["annotator_labels"][order[0]], from_python["annotator_labels"][order[1]]
    )
    info = tfds.builder("imagenet_pi/beta_0.3", data_dir=str(tmp_path)).info
    assert info.metadata["beta"] == BETA


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


def test_unknown_config_names_the_custom_configs_built_in_the_data_dir(built):
    data_dir, config = built
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
def test_readers_of_relabel_json_do_not_import_the_relabelling_code(relabelled):
    result = subprocess.run(
        [sys.executable, "-c", _READ_BETA_OF_A_FOLDER, relabelled[2]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [str(BETA), str(BETA), "[]"]
