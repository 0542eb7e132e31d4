"""annotator_features.csv: read from a folder or the file, what CSV writers add accepted,
bad lines named."""

from __future__ import annotations

import os
import re

import csv_edits
import numpy as np
import pytest

from imagenet_pi import annotations
from imagenet_pi.annotations import AnnotationError


def test_annotator_features_roundtrip_from_folder_or_csv(tmp_path, rng):
    features = rng.normal(size=(csv_edits.NUM_ANNOTATORS, 2))
    annotations.write_annotator_features(tmp_path, features)
    from_dir = annotations.read_annotator_features(tmp_path)
    from_csv = annotations.read_annotator_features(str(tmp_path / "annotator_features.csv"))
    assert from_dir.shape == (16, 2) and from_dir.dtype == np.float32
    np.testing.assert_array_equal(from_dir, features.astype(np.float32))
    np.testing.assert_array_equal(from_csv, from_dir)


def test_bom_crlf_and_blank_lines_at_the_end_of_annotator_features_are_accepted(tmp_path, rng):
    features = rng.normal(size=(csv_edits.NUM_ANNOTATORS, 2))
    annotations.write_annotator_features(tmp_path, features)
    path = tmp_path / "annotator_features.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    found = annotations.read_annotator_features(path)
    np.testing.assert_array_equal(found, features.astype(np.float32))


@pytest.mark.parametrize(
    ("text", "words"), [("0.5\t-1.25\n", "tabs"), ("0,5;-1,25\n", "semicolons")]
)
def test_annotator_features_separated_by_tabs_or_semicolons_say_so(config_dir, text, words):
    path = csv_edits.write_features_text(config_dir, text * csv_edits.NUM_ANNOTATORS)
    with pytest.raises(AnnotationError) as error:
        annotations.read_annotator_features(config_dir)
    message = str(error.value)
    assert message.startswith(f"{path}, line 1: expected 2 comma-separated numbers"), message
    assert f"Its fields are separated by {words}" in message


def test_annotator_features_with_wrong_row_count_is_refused(config_dir):
    path = csv_edits.write_features_text(config_dir, "0.1,0.2\n" * 15)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}: expected 16 lines") + ".*found 15"
    ):
        annotations.read_annotator_features(config_dir)


def test_annotator_features_with_wrong_column_count_names_the_line(config_dir):
    path = csv_edits.write_features_text(
        config_dir, "0.1,0.2\n" * 4 + "0.1,0.2,0.3\n" + "0.1,0.2\n" * 11
    )
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 5: expected 2")):
        annotations.read_annotator_features(config_dir)


@pytest.mark.parametrize(
    ("text", "problem"), [("abc", "not a number"), ("nan", "not finite"), ("-inf", "not finite")]
)
def test_annotator_features_non_numeric_or_non_finite_names_the_line(config_dir, text, problem):
    path = csv_edits.write_features_text(
        config_dir, "0.1,0.2\n" * 9 + f"0.1,{text}\n" + "0.1,0.2\n" * 6
    )
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 10: field 2 is {problem}")):
        annotations.read_annotator_features(config_dir)


def test_annotator_features_lfs_pointer_gives_git_lfs_hint(config_dir):
    csv_edits.write_features_text(
        config_dir, "version https://git-lfs.github.com/spec/v1\noid sha256:885b\n"
    )
    with pytest.raises(AnnotationError, match="git lfs pull"):
        annotations.read_annotator_features(config_dir)


def test_missing_annotator_features_names_the_path(tmp_path):
    with pytest.raises(
        AnnotationError, match=re.escape(os.path.join(tmp_path, "annotator_features.csv"))
    ):
        annotations.read_annotator_features(tmp_path)
