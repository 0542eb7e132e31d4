"""Opening a build: by the data_dir it was built in, or by a folder inside it."""

from __future__ import annotations

import os

import pytest
import tensorflow_datasets as tfds

import imagenet_pi
from imagenet_pi import built_datasets, damaged_builds

_NAME = "imagenet_pi/high_noise"


def _version_dir(data_dir: str) -> str:
    return os.fspath(tfds.builder(_NAME, data_dir=data_dir).data_path)


@pytest.mark.parametrize("levels_up", [0, 1, 2])  # the version, config, imagenet_pi folder
def test_a_folder_inside_the_build_opens_the_build(built_high_noise, levels_up):
    data_dir, _ = built_high_noise
    inside = _version_dir(data_dir)
    for _ in range(levels_up):
        inside = os.path.dirname(inside)
    builder = built_datasets.open_built(_NAME, inside)
    assert os.fspath(builder.data_path) == _version_dir(data_dir)
    assert builder.info.splits["train"].num_examples == 12


def test_a_folder_inside_the_build_of_another_config_names_the_data_dir_to_pass(
    built_high_noise,
):
    data_dir, _ = built_high_noise
    with pytest.raises(FileNotFoundError) as error:
        built_datasets.open_built("imagenet_pi/low_noise", _version_dir(data_dir))
    assert f"Pass the data_dir that holds imagenet_pi/: data_dir={data_dir}" in str(error.value)


def test_a_folder_outside_any_build_still_says_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"{_NAME} is not built in {tmp_path}"):
        built_datasets.open_built(_NAME, tmp_path / "imagenet_pi" / "high_noise" / "3.0.0")


def test_a_data_dir_that_only_looks_like_a_folder_of_a_build_is_taken_as_given(tmp_path):
    data_dir = tmp_path / "imagenet_pi" / "tfds"  # named like the dataset's folders, empty
    data_dir.mkdir(parents=True)
    for given in (data_dir, data_dir.parent):
        with pytest.raises(FileNotFoundError, match=rf"{_NAME} is not built in {given}:"):
            built_datasets.open_built(_NAME, given)


def test_annotator_features_of_a_config_not_built_says_to_build_it(tmp_path):
    """Not built at all is not "built by TFDS's own builder": the message says which."""
    builder = tfds.builder("imagenet_pi/low_noise", data_dir=os.fspath(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        imagenet_pi.annotator_features_of(builder)
    message = str(error.value)
    assert f"imagenet_pi/low_noise is not built in {tmp_path}" in message
    assert "tfds build imagenet_pi/low_noise --imports imagenet_pi" in message
    assert "no annotator_features in its metadata" not in message


def test_a_version_the_code_cannot_load_is_refused_as_bad_input(built_high_noise):
    # TFDS raises AssertionError, which the imagenet-pi command would show as a traceback.
    data_dir, _ = built_high_noise
    with pytest.raises(ValueError, match=r"imagenet_pi/high_noise:9\.9\.9: .*only: 3\.0\.0"):
        built_datasets.open_built(f"{_NAME}:9.9.9", data_dir)


def _copy_of_build(data_dir: str, tmp_path) -> tuple[str, str]:
    import shutil

    copy = str(tmp_path / "copy")
    shutil.copytree(data_dir, copy)
    return copy, _version_dir(copy)


@pytest.mark.parametrize("file_name", ["dataset_info.json", "metadata.json"])
def test_an_unreadable_json_file_of_the_build_is_named(built_high_noise, tmp_path, file_name):
    copy, version_dir = _copy_of_build(built_high_noise[0], tmp_path)
    with open(os.path.join(version_dir, file_name), "w") as file:
        file.write("{")  # cut short
    with pytest.raises(damaged_builds.DamagedBuildError) as error:
        built_datasets.open_built(_NAME, copy)
    message = str(error.value)
    assert message.startswith(f"{os.path.join(version_dir, file_name)}: damaged build of")
    assert "cannot be read" in message and f"delete {version_dir}" in message


@pytest.mark.parametrize("name", ["nosuch/x", "", "imagenet_pi/no such"])
def test_an_unknown_dataset_name_is_said_in_a_few_lines(tmp_path, name):
    # TFDS's own error goes on with every dataset it knows, or its name grammar.
    with pytest.raises(FileNotFoundError) as error:
        built_datasets.open_built(name, str(tmp_path))
    message = str(error.value)
    assert message.startswith(f"{name}: not found in data_dir {tmp_path} (")
    assert "Available datasets" not in message and "Examples:" not in message
    assert len(message.splitlines()) <= 3, message
