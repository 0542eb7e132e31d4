"""Bad input fails the build with a clear message and never leaves a dataset that looks finished."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from imagenet_pi import annotation_files, annotations, ilsvrc, join, upstream


def _build(manual_dir: str, data_dir: str, config: str = "high_noise"):
    builder = tfds.builder(f"imagenet_pi/{config}", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return builder


def _assert_nothing_finished(data_dir: str) -> None:
    builder = tfds.builder("imagenet_pi/high_noise", data_dir=data_dir)
    assert not builder.is_prepared()
    version_dir = os.path.join(data_dir, "imagenet_pi", "high_noise", "3.0.0")
    assert not os.path.exists(version_dir), os.listdir(os.path.dirname(version_dir))


def _config_dir(manual_dir: str) -> str:
    return os.path.join(manual_dir, "imagenet_pi", "high_noise")


def _rewrite_split(manual_dir: str, split: str, keep_rows=None, extra_rows: int = 0) -> None:
    """Rewrites a split's CSVs with some rows dropped or some unknown file names added."""
    config_dir = _config_dir(manual_dir)
    current = annotations.read_split(config_dir, split)
    rows = np.arange(len(current)) if keep_rows is None else np.asarray(keep_rows)
    names = [current.names()[i] for i in rows]
    labels, confidences = current.labels[rows], current.confidences[rows]
    if extra_rows:
        names += [f"n99999999_{i}.JPEG" for i in range(extra_rows)]
        labels = np.concatenate([labels, np.zeros((extra_rows, 16), labels.dtype)])
        confidences = np.concatenate([confidences, np.zeros((extra_rows, 16), np.float32)])
    annotations.write_split(config_dir, split, names, labels, confidences)


def test_missing_train_tar_names_expected_path(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    os.remove(os.path.join(manual_dir, upstream.TRAIN_TAR))
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_train.tar.*image-net.org"):
        _build(manual_dir, str(tmp_path / "data"))
    _assert_nothing_finished(str(tmp_path / "data"))


def test_missing_manual_dir_shows_manual_download_instructions(tmp_path):
    with pytest.raises(AssertionError, match="ILSVRC2012_img_val.tar"):
        _build(str(tmp_path / "nowhere"), str(tmp_path / "data"))


def test_incomplete_pi_folder_names_missing_csv(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    missing = os.path.join(_config_dir(manual_dir), "confidences", "validation.csv")
    os.remove(missing)
    with pytest.raises(annotation_files.AnnotationFilesError, match="git lfs") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert missing in str(error.value)
    _assert_nothing_finished(str(tmp_path / "data"))


def test_lfs_pointer_csv_gives_git_lfs_pull_hint(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    pointer = os.path.join(_config_dir(manual_dir), "labels", "train.csv")
    with open(pointer, "w") as f:
        f.write(
            "version https://git-lfs.github.com/spec/v1\n"
            "oid sha256:edd1a2d626f6824061978db84ddb44719d1de88513f49048eaaf0a7800b769d6\n"
            "size 107082946\n"
        )
    with pytest.raises(annotations.AnnotationError, match="git lfs pull") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert pointer in str(error.value)
    _assert_nothing_finished(str(tmp_path / "data"))


def test_images_without_annotation_rows_fail_with_count_and_names(fresh_sample, tmp_path):
    manual_dir, sample = fresh_sample
    config_dir = _config_dir(manual_dir)
    dropped = sorted(sample.train_file_names)[:2]
    _rewrite_split(manual_dir, "train", keep_rows=np.arange(2, len(sample.train_file_names)))
    with pytest.raises(join.JoinError, match="2 images of .*ILSVRC2012_img_train.tar") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert all(name in str(error.value) for name in dropped)
    assert os.path.join(config_dir, "labels", "train.csv") in str(error.value)
    _assert_nothing_finished(str(tmp_path / "data"))


def test_annotation_rows_without_images_fail_with_count_and_names(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    _rewrite_split(manual_dir, "validation", extra_rows=3)
    with pytest.raises(join.JoinError, match="3 rows of .* have no image") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert "n99999999_0.JPEG" in str(error.value)
    _assert_nothing_finished(str(tmp_path / "data"))


def test_truncated_tar_names_the_archive(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    val_tar = os.path.join(manual_dir, upstream.VAL_TAR)
    size = os.path.getsize(val_tar)
    with open(val_tar, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(ilsvrc.IlsvrcError, match="ILSVRC2012_img_val.tar") as error:
        _build(manual_dir, str(tmp_path / "data"))
    assert "download it again" in str(error.value)
    _assert_nothing_finished(str(tmp_path / "data"))
