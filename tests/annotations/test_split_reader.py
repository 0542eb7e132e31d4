"""The split reader: upstream CSVs in, validated name-sorted arrays out, clear errors."""

from __future__ import annotations

import os
import re
import shutil

import csv_edits
import in_process_builds
import numpy as np
import pytest

from imagenet_pi import annotations, upstream
from imagenet_pi.annotations import AnnotationError


def test_float32_midpoints_round_like_float32_of_float64(tmp_path):
    # 0.5 + 2**-25 lies exactly between two float32s; its repr is slightly above it, so a
    # direct float32 parse of the text rounds up while float32(float64) rounds to even.
    midpoint = 0.5 + 2.0**-25
    annotations.write_split(
        tmp_path, "train", ["a.JPEG"], np.zeros((1, 16), int), np.full((1, 16), midpoint)
    )
    split = annotations.read_split(tmp_path, "train")
    assert split.confidences[0, 0] == np.float32(midpoint) == np.float32(0.5)


def test_read_split_files_reads_files_with_any_names(config_dir, tmp_path):
    labels_copy = shutil.copy(csv_edits.csv_path(config_dir, "labels"), tmp_path / "abc123_labels")
    confidences_copy = shutil.copy(
        csv_edits.csv_path(config_dir, "confidences"), tmp_path / "def456"
    )

    from_files = annotations.read_split_files(labels_copy, confidences_copy)
    from_dir = annotations.read_split(str(config_dir), "train")

    np.testing.assert_array_equal(from_files.file_names, from_dir.file_names)
    np.testing.assert_array_equal(from_files.labels, from_dir.labels)
    np.testing.assert_array_equal(from_files.confidences, from_dir.confidences)


def test_confidence_rows_in_another_order_are_matched_by_name(tmp_path, rng):
    names, labels, confidences = csv_edits.random_split(rng, 40)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    reordered = tmp_path / "reordered"
    flip = np.arange(40)[::-1]
    annotations.write_split(
        reordered, "train", [names[i] for i in flip], labels[flip], confidences[flip]
    )
    shutil.copy(csv_edits.csv_path(tmp_path, "labels"), csv_edits.csv_path(reordered, "labels"))

    split = annotations.read_split(reordered, "train")

    order = np.argsort(names)
    np.testing.assert_array_equal(split.labels, labels[order])
    np.testing.assert_array_equal(split.confidences, confidences[order].astype(np.float32))


def test_sorted_input_is_read_as_is(tmp_path, rng):
    names, labels, confidences = csv_edits.random_split(rng, 30)
    order = np.argsort(names)
    annotations.write_split(tmp_path, "train", sorted(names), labels[order], confidences[order])
    split = annotations.read_split(tmp_path, "train")
    assert split.names() == sorted(names)
    np.testing.assert_array_equal(split.labels, labels[order])


def test_crlf_line_endings_are_read(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    expected = annotations.read_split(config_dir, "train")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    np.testing.assert_array_equal(
        annotations.read_split(config_dir, "train").labels, expected.labels
    )


@pytest.mark.parametrize("kind", ["labels", "confidences"])
@pytest.mark.parametrize("ending", [b"\n", b"\n\n\n", b"\r\n\r\n", b"\n \n\t\n"])
def test_blank_lines_at_the_end_are_ignored(config_dir, kind, ending):
    expected = annotations.read_split(config_dir, "train")
    path = csv_edits.csv_path(config_dir, kind)
    if ending.startswith(b"\r"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    path.write_bytes(path.read_bytes() + ending)
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


# Line ends that CSV readers accept, and a folder where a file should be.


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
def test_cr_line_ends_of_old_mac_spreadsheets_are_read(config_dir, ending):
    expected = annotations.read_split(config_dir, "train")
    for kind in ("labels", "confidences"):
        path = csv_edits.csv_path(config_dir, kind)
        path.write_bytes(path.read_bytes().replace(b"\n", ending))
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


@pytest.mark.parametrize("rel", upstream.config_relpaths())
def test_folder_where_a_csv_should_be_is_called_a_folder(config_dir, rel):
    path = config_dir / rel
    path.unlink()
    path.mkdir()
    (path / path.name).write_bytes(b"")  # as an unzipping tool leaves it
    with pytest.raises(AnnotationError) as error:
        if rel == upstream.ANNOTATOR_FEATURES_RELPATH:
            annotations.read_annotator_features(config_dir)
        else:
            annotations.read_split(config_dir, rel.split("/")[1].removesuffix(".csv"))
    message = str(error.value)
    assert message.startswith(f"{path} is a folder (holding {path.name}), not a file"), message
    assert "Put the file itself in its place" in message


# Files that are not there or not data.


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_missing_file_names_the_path_and_how_to_get_it(config_dir, kind):
    path = csv_edits.csv_path(config_dir, kind, "validation")
    path.unlink()
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "validation")
    message = str(error.value)
    assert str(path) in message
    assert upstream.LFS_URL_ROOT in message
    assert "github.com/google-research-datasets/imagenet_pi" in message
    assert "git lfs" in message.lower() and "manual_dir" in message


def test_lfs_pointer_file_gives_git_lfs_hint(config_dir):
    path = csv_edits.csv_path(config_dir, "confidences")
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:db31de83e168ef74ea898504c1d46f60ffca55ef05c1267226d487087701e5e6\n"
        "size 463452489\n"
    )
    with pytest.raises(AnnotationError, match="Git LFS pointer.*git lfs pull") as error:
        annotations.read_split(config_dir, "train")
    assert str(path) in str(error.value)


def test_empty_file_is_refused(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    path.write_bytes(b"")
    with pytest.raises(AnnotationError, match=re.escape(f"{path} is empty")):
        annotations.read_split(config_dir, "train")


# Values out of range and empty names: the error names the file and the 1-based line.


@pytest.mark.parametrize("value", ["1000", "-1", "40000"])
def test_label_outside_class_range_names_file_line_and_value(config_dir, value):
    path = csv_edits.csv_path(config_dir, "labels")
    csv_edits.set_field(path, 31, 16, value)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    assert re.search(
        rf"{re.escape(str(path))}, line 31, annotator 16: label {value} is not a class index "
        r"in 0\.\.999",
        str(error.value),
    ), str(error.value)


@pytest.mark.parametrize("value", ["1.5", "-0.25", "nan", "inf"])
def test_confidence_outside_unit_interval_names_file_line_and_value(config_dir, value):
    path = csv_edits.csv_path(config_dir, "confidences")
    csv_edits.set_field(path, 4, 2, value)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 4, annotator 2: confidence '{value}'")
    ):
        annotations.read_split(config_dir, "train")


def test_empty_file_name_names_file_and_line(config_dir):
    for kind in ("labels", "confidences"):
        csv_edits.set_field(csv_edits.csv_path(config_dir, kind), 6, 0, "")
    with pytest.raises(AnnotationError, match="line 6: the file name is empty"):
        annotations.read_split(config_dir, "train")


@pytest.mark.slow
def test_value_error_deep_in_a_large_file_gets_the_right_line_number(tmp_path, rng):
    names, labels, confidences = csv_edits.random_split(rng, 70_000)
    labels[61_000, 3] = 1000
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    with pytest.raises(AnnotationError, match="line 61001, annotator 4: label 1000"):
        annotations.read_split(tmp_path, "train")


# Duplicate names.


def test_duplicate_file_name_gives_the_name_and_both_lines(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    name = path.read_text().splitlines()[9].split(",")[0]
    csv_edits.set_field(path, 40, 0, name)
    csv_edits.set_field(csv_edits.csv_path(config_dir, "confidences"), 40, 0, name)
    with pytest.raises(
        AnnotationError,
        match=re.escape(f"{path}: file name {name!r} appears twice, on lines 10 and 40"),
    ):
        annotations.read_split(config_dir, "train")


def test_duplicate_in_confidences_only_is_found_too(config_dir):
    path = csv_edits.csv_path(config_dir, "confidences")
    name = path.read_text().splitlines()[0].split(",")[0]
    csv_edits.set_field(path, 2, 0, name)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}: file name {name!r} appears twice")
    ):
        annotations.read_split(config_dir, "train")


def test_duplicate_non_utf8_file_name_is_shown(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    for line_number in (3, 4):
        csv_edits.set_field(path, line_number, 0, "n01440764_1.JPEG")
    for line_number in (3, 4):
        csv_edits.latin1_name_on_line(path, line_number)
    with pytest.raises(AnnotationError, match="appears twice, on lines 3 and 4") as error:
        annotations.read_split(config_dir, "train")
    assert "\\xe9.JPEG" in str(error.value)


# As a build meets them.


def test_lfs_pointer_csv_gives_git_lfs_pull_hint(fresh_sample, tmp_path):
    manual_dir, _ = fresh_sample
    pointer = os.path.join(manual_dir, "imagenet_pi", "high_noise", "labels", "train.csv")
    with open(pointer, "w") as f:
        f.write(
            "version https://git-lfs.github.com/spec/v1\n"
            "oid sha256:edd1a2d626f6824061978db84ddb44719d1de88513f49048eaaf0a7800b769d6\n"
            "size 107082946\n"
        )
    with pytest.raises(annotations.AnnotationError, match="git lfs pull") as error:
        in_process_builds.build(manual_dir, str(tmp_path / "data"))
    assert pointer in str(error.value)
    in_process_builds.assert_nothing_finished(str(tmp_path / "data"))
