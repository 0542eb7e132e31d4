"""The join of images and annotation rows, as a build meets it: every image one row, every
row one image, or `JoinError` naming the counts and the first names; nothing left finished."""

from __future__ import annotations

import os

import ilsvrc_layouts
import in_process_builds
import numpy as np
import pytest

from imagenet_pi import annotations
from imagenet_pi.generation import join


def test_images_missing_from_folders_fail_the_join(layouts, tmp_path):
    manual_dir = ilsvrc_layouts.copy_layout(layouts, tmp_path)
    os.remove(os.path.join(manual_dir, "val", "ILSVRC2012_val_00000004.JPEG"))
    with pytest.raises(join.JoinError, match="ILSVRC2012_val_00000004.JPEG"):
        in_process_builds.build(manual_dir, str(tmp_path / "data"))


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


def test_images_without_annotation_rows_fail_with_count_and_names(fresh_sample, tmp_path):
    manual_dir, sample = fresh_sample
    config_dir = _config_dir(manual_dir)
    dropped = sorted(sample.train_file_names)[:2]
    _rewrite_split(manual_dir, "train", keep_rows=np.arange(2, len(sample.train_file_names)))
    with pytest.raises(join.JoinError, match="2 images of .*ILSVRC2012_img_train.tar") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert all(name in str(error.value) for name in dropped)
    assert os.path.join(config_dir, "labels", "train.csv") in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))


def test_annotation_rows_without_images_fail_with_count_and_names(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    _rewrite_split(manual_dir, "validation", extra_rows=3)
    with pytest.raises(join.JoinError, match="3 rows of .* have no image") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert "n99999999_0.JPEG" in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))
