"""Split CSVs written in the upstream format: read back as written, refused if they would not."""

from __future__ import annotations

import csv_edits
import numpy as np
import pytest

from imagenet_pi import annotations


def test_roundtrip_gives_rows_sorted_by_name_with_the_written_values(tmp_path, rng):
    names, labels, confidences = csv_edits.random_split(rng, 300)
    annotations.write_split(tmp_path, "train", names, labels, confidences)

    split = annotations.read_split(tmp_path, "train")

    order = np.argsort(names)
    assert split.names() == sorted(names)
    assert split.file_names.dtype.kind == "U"
    assert split.labels.dtype == np.int16 and split.confidences.dtype == np.float32
    np.testing.assert_array_equal(split.labels, labels[order])
    # Exactly float32(float64(text)), as a float64-based reader would give.
    np.testing.assert_array_equal(split.confidences, confidences[order].astype(np.float32))


def test_written_files_have_the_upstream_format(tmp_path):
    labels = np.arange(csv_edits.NUM_ANNOTATORS)[None] * 60
    confidences = np.array([[0.1, 1 / 3, 3.2e-05, 1.0] * 4])
    annotations.write_split(
        tmp_path, "validation", ["ILSVRC2012_val_00000001.JPEG"], labels, confidences
    )

    labels_text = csv_edits.csv_path(tmp_path, "labels", "validation").read_bytes()
    confidences_text = csv_edits.csv_path(tmp_path, "confidences", "validation").read_bytes()

    assert labels_text == (
        b"ILSVRC2012_val_00000001.JPEG," + b",".join(b"%d" % (60 * i) for i in range(16)) + b"\n"
    )
    assert confidences_text == (
        b"ILSVRC2012_val_00000001.JPEG,"
        + b",".join([b"0.1,0.3333333333333333,3.2e-05,1.0"] * 4)
        + b"\n"
    )


def test_written_values_read_as_str_and_repr_print_them(tmp_path, rng):
    names = [f"n01440764_{i}.JPEG" for i in range(200)]
    labels = rng.integers(-40_000, 40_000, (200, 16))
    labels[0, :4] = [0, -1, 999, 1000]
    magnitudes = 10.0 ** rng.integers(-320, 1, (200, 16))
    confidences = rng.random((200, 16)) * magnitudes
    confidences[0, :6] = [0.0, 1.0, 1e-05, 5e-324, 0.1, 1 / 3]
    annotations.write_split(tmp_path, "train", names, labels, confidences)

    expected_labels = "".join(
        f"{name},{','.join(map(str, row))}\n" for name, row in zip(names, labels.tolist())
    )
    expected_confidences = "".join(
        f"{name},{','.join(map(repr, row))}\n" for name, row in zip(names, confidences.tolist())
    )
    assert csv_edits.csv_path(tmp_path, "labels").read_text() == expected_labels
    assert csv_edits.csv_path(tmp_path, "confidences").read_text() == expected_confidences


def test_write_split_refuses_mismatched_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(2, 16\)"):
        annotations.write_split(
            tmp_path, "train", ["a", "b"], np.zeros((2, 16), int), np.zeros((3, 16))
        )


def test_write_split_refuses_file_names_with_commas(tmp_path):
    with pytest.raises(ValueError, match="commas"):
        annotations.write_split(
            tmp_path, "train", ["a,b"], np.zeros((1, 16), int), np.zeros((1, 16))
        )
