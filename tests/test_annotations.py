"""The annotation reader: upstream CSVs in, validated name-sorted arrays out, clear errors."""

from __future__ import annotations

import csv
import os
import pathlib
import re
import shutil

import builds
import numpy as np
import pytest

from imagenet_pi import annotations, upstream
from imagenet_pi.annotations import AnnotationError

NUM_ANNOTATORS = upstream.NUM_ANNOTATORS


def _random_split(rng: np.random.Generator, num_rows: int, prefix: str = "n01440764"):
    """Shuffled file names, labels in 0..999 and float64 confidences in [0, 1]."""
    names = [f"{prefix}_{i}.JPEG" for i in rng.permutation(num_rows)]
    labels = rng.integers(0, upstream.NUM_CLASSES, (num_rows, NUM_ANNOTATORS))
    # Small values exercise repr's exponent form, e.g. 3.2e-05.
    confidences = rng.random((num_rows, NUM_ANNOTATORS)) ** rng.integers(1, 9, (num_rows, 1))
    return names, labels, confidences


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def config_dir(tmp_path, rng) -> pathlib.Path:
    """A config folder with 50 train and 20 validation rows, shuffled."""
    for split, num_rows in (("train", 50), ("validation", 20)):
        annotations.write_split(tmp_path, split, *_random_split(rng, num_rows))
    annotations.write_annotator_features(tmp_path, rng.normal(size=(NUM_ANNOTATORS, 2)))
    return tmp_path


def _csv(config_dir: pathlib.Path, kind: str, split: str = "train") -> pathlib.Path:
    return config_dir / upstream.csv_relpath(kind, split)


def _replace_line(path: pathlib.Path, line_number: int, line: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[line_number - 1] = line + "\n"
    path.write_text("".join(lines))


def _set_field(path: pathlib.Path, line_number: int, field: int, text: str) -> str:
    """Replaces field `field` (0 = file name) of one line; returns the file name it had."""
    fields = path.read_text().splitlines()[line_number - 1].split(",")
    name = fields[0]
    fields[field] = text
    _replace_line(path, line_number, ",".join(fields))
    return name


# Reading what was written.


def test_roundtrip_gives_rows_sorted_by_name_with_the_written_values(tmp_path, rng):
    names, labels, confidences = _random_split(rng, 300)
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
    labels = np.arange(NUM_ANNOTATORS)[None] * 60
    confidences = np.array([[0.1, 1 / 3, 3.2e-05, 1.0] * 4])
    annotations.write_split(
        tmp_path, "validation", ["ILSVRC2012_val_00000001.JPEG"], labels, confidences
    )

    labels_text = _csv(tmp_path, "labels", "validation").read_bytes()
    confidences_text = _csv(tmp_path, "confidences", "validation").read_bytes()

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
    assert _csv(tmp_path, "labels").read_text() == expected_labels
    assert _csv(tmp_path, "confidences").read_text() == expected_confidences


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
    labels_copy = shutil.copy(_csv(config_dir, "labels"), tmp_path / "abc123_labels")
    confidences_copy = shutil.copy(_csv(config_dir, "confidences"), tmp_path / "def456")

    from_files = annotations.read_split_files(labels_copy, confidences_copy)
    from_dir = annotations.read_split(str(config_dir), "train")

    np.testing.assert_array_equal(from_files.file_names, from_dir.file_names)
    np.testing.assert_array_equal(from_files.labels, from_dir.labels)
    np.testing.assert_array_equal(from_files.confidences, from_dir.confidences)


def test_confidence_rows_in_another_order_are_matched_by_name(tmp_path, rng):
    names, labels, confidences = _random_split(rng, 40)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    reordered = tmp_path / "reordered"
    flip = np.arange(40)[::-1]
    annotations.write_split(
        reordered, "train", [names[i] for i in flip], labels[flip], confidences[flip]
    )
    shutil.copy(_csv(tmp_path, "labels"), _csv(reordered, "labels"))

    split = annotations.read_split(reordered, "train")

    order = np.argsort(names)
    np.testing.assert_array_equal(split.labels, labels[order])
    np.testing.assert_array_equal(split.confidences, confidences[order].astype(np.float32))


def test_sorted_input_is_read_as_is(tmp_path, rng):
    names, labels, confidences = _random_split(rng, 30)
    order = np.argsort(names)
    annotations.write_split(tmp_path, "train", sorted(names), labels[order], confidences[order])
    split = annotations.read_split(tmp_path, "train")
    assert split.names() == sorted(names)
    np.testing.assert_array_equal(split.labels, labels[order])


def test_crlf_line_endings_are_read(config_dir):
    path = _csv(config_dir, "labels")
    expected = annotations.read_split(config_dir, "train")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    np.testing.assert_array_equal(
        annotations.read_split(config_dir, "train").labels, expected.labels
    )


@pytest.mark.parametrize("kind", ["labels", "confidences"])
@pytest.mark.parametrize("ending", [b"\n", b"\n\n\n", b"\r\n\r\n", b"\n \n\t\n"])
def test_blank_lines_at_the_end_are_ignored(config_dir, kind, ending):
    expected = annotations.read_split(config_dir, "train")
    path = _csv(config_dir, kind)
    if ending.startswith(b"\r"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    path.write_bytes(path.read_bytes() + ending)
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


def test_bad_line_before_blank_lines_at_the_end_is_still_named(config_dir):
    path = _csv(config_dir, "labels")
    _set_field(path, 50, 3, "x7")
    path.write_bytes(path.read_bytes() + b"\n\n")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 50, annotator 3: label")):
        annotations.read_split(config_dir, "train")


def _quoted(path: pathlib.Path, quoting: int) -> None:
    """Rewrites a CSV as Python's csv module (like pandas and R) writes it with `quoting`."""
    rows = [line.split(",") for line in path.read_text().splitlines()]
    if quoting == csv.QUOTE_NONNUMERIC:
        rows = [[row[0], *map(float, row[1:])] for row in rows]
    with path.open("w", newline="") as f:
        csv.writer(f, quoting=quoting).writerows(rows)


@pytest.mark.parametrize("quoting", [csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])
def test_fields_quoted_the_standard_way_are_read(config_dir, quoting):
    expected = annotations.read_split(config_dir, "train")
    _quoted(_csv(config_dir, "confidences"), quoting)
    if quoting == csv.QUOTE_ALL:
        _quoted(_csv(config_dir, "labels"), quoting)
    assert _csv(config_dir, "confidences").read_bytes().startswith(b'"')
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


def test_quote_left_open_names_file_line_and_quoting(config_dir):
    path = _csv(config_dir, "labels")
    name = _set_field(path, 7, 0, "x")
    _set_field(path, 7, 0, f'"{name}')
    with pytest.raises(AnnotationError, match="opens a quote it does not close") as error:
        annotations.read_split(config_dir, "train")
    assert f"{path}, line 7: the field" in str(error.value)


def _latin1_name_on_line(path: pathlib.Path, line_number: int) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = lines[line_number - 1].replace(b".JPEG", b"\xe9.JPEG", 1)
    path.write_bytes(b"\n".join(lines))


def test_non_utf8_file_name_names_file_and_line(config_dir):
    for kind in ("labels", "confidences"):  # written in the same order: line 6 is one name
        _latin1_name_on_line(_csv(config_dir, kind), 6)
    with pytest.raises(AnnotationError, match="is not UTF-8") as error:
        annotations.read_split(config_dir, "train")
    assert f"{_csv(config_dir, 'labels')}, line 6: the file name b'" in str(error.value)


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_non_utf8_file_name_in_one_file_only_names_that_file_and_line(config_dir, kind):
    _latin1_name_on_line(_csv(config_dir, kind), 6)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(f"{_csv(config_dir, kind)}, line 6: the file name b'"), message
    assert "\\xe9.JPEG' is not UTF-8" in message
    assert "do not annotate the same" not in message


def test_duplicate_non_utf8_file_name_is_shown(config_dir):
    path = _csv(config_dir, "labels")
    for line_number in (3, 4):
        _set_field(path, line_number, 0, "n01440764_1.JPEG")
    for line_number in (3, 4):
        _latin1_name_on_line(path, line_number)
    with pytest.raises(AnnotationError, match="appears twice, on lines 3 and 4") as error:
        annotations.read_split(config_dir, "train")
    assert "\\xe9.JPEG" in str(error.value)


# Whitespace, line ends and separators: what CSV readers accept is read, the rest is named.


def _edit_line(path: pathlib.Path, line_number: int, edit) -> None:
    """Applies `edit` (bytes -> bytes) to one line of a file written with LF line ends."""
    lines = path.read_bytes().split(b"\n")
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_bytes(b"\n".join(lines))


_NAMES_WITH_WHITESPACE = {
    "space before the comma": lambda line: line.replace(b",", b" ,", 1),
    "tab before the comma": lambda line: line.replace(b",", b"\t,", 1),
    "space at the start of the line": lambda line: b" " + line,
    "quoted, with a space inside the quotes": lambda line: b'" ' + line.replace(b",", b'",', 1),
    "no-break space before the comma": lambda line: line.replace(b",", b"\xc2\xa0,", 1),
}


@pytest.mark.parametrize("kinds", [("labels",), ("confidences",), ("labels", "confidences")])
@pytest.mark.parametrize("variant", sorted(_NAMES_WITH_WHITESPACE))
def test_whitespace_around_a_file_name_names_file_line_and_name(config_dir, variant, kinds):
    for kind in kinds:  # both files are written in the same order: line 5 is one image
        _edit_line(_csv(config_dir, kind), 5, _NAMES_WITH_WHITESPACE[variant])
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(f"{_csv(config_dir, kinds[0])}, line 5: the file name '"), message
    assert re.search(r"JPEG(\\t| |\\xa0)?' (starts|ends) with whitespace", message), message
    assert "remove the whitespace" in message
    assert "do not annotate the same" not in message


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_names_that_differ_only_in_inner_whitespace_are_named_in_both_files(config_dir, kind):
    _edit_line(_csv(config_dir, kind), 9, lambda line: line.replace(b"_", b" _", 1))
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    labels_csv, confidences_csv = _csv(config_dir, "labels"), _csv(config_dir, "confidences")
    assert message.startswith(f"{labels_csv}, line 9: the file name 'n01440764"), message
    assert f"in {confidences_csv}, line 9: the two differ only in whitespace" in message
    assert "n01440764 _" in message


def test_spaces_and_tabs_around_numbers_are_read_as_csv_readers_read_them(config_dir):
    expected = annotations.read_split(config_dir, "train")
    for kind in ("labels", "confidences"):
        path = _csv(config_dir, kind)
        lines = [line.split(b",", 1) for line in path.read_bytes().splitlines()]
        spaced = [name + b"," + b" ,\t".join(values.split(b",")) + b" " for name, values in lines]
        path.write_bytes(b"\n".join(spaced) + b"\n")
    assert b" ,\t" in _csv(config_dir, "labels").read_bytes()
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
def test_cr_line_ends_of_old_mac_spreadsheets_are_read(config_dir, ending):
    expected = annotations.read_split(config_dir, "train")
    for kind in ("labels", "confidences"):
        path = _csv(config_dir, kind)
        path.write_bytes(path.read_bytes().replace(b"\n", ending))
    found = annotations.read_split(config_dir, "train")
    np.testing.assert_array_equal(found.file_names, expected.file_names)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.confidences, expected.confidences)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("labels", "x7", "label 'x7' is not an integer"),
        ("labels", "", "expected 17 comma-separated fields"),
        ("confidences", "1.5", "confidence '1.5' is not in [0, 1]"),
        ("confidences", "0.5.1", "confidence '0.5.1' is not a number"),
    ],
)
@pytest.mark.parametrize("ending", [b"\r", b"mixed"])
def test_bad_line_of_a_file_with_cr_line_ends_gets_its_line_number(
    config_dir, kind, text, message, ending
):
    path = _csv(config_dir, kind)
    if text:
        _set_field(path, 23, 5, text)
    else:
        _replace_line(path, 23, "")
    lines = path.read_bytes().split(b"\n")
    if ending == b"mixed":  # CR, CR LF and LF, one after the other
        path.write_bytes(
            b"".join(line + (b"\r", b"\r\n", b"\n")[i % 3] for i, line in enumerate(lines))
        )
    else:
        path.write_bytes(ending.join(lines))
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    assert str(error.value).startswith(f"{path}, line 23"), str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("value", "shown"), [("\x0b7", "'\\x0b7'"), ("1_0", "'1_0'"), ("7\x0c", "'7\\x0c'")]
)
@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_value_python_would_read_but_the_csv_reader_does_not_is_named(
    config_dir, kind, value, shown
):
    path = _csv(config_dir, kind)
    _set_field(path, 12, 4, value)
    word = "label" if kind == "labels" else "confidence"
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 12, annotator 4: {word} {shown} is not")
    ):
        annotations.read_split(config_dir, "train")


@pytest.mark.parametrize(("separator", "words"), [(b"\t", "tabs"), (b";", "semicolons")])
@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_file_separated_by_tabs_or_semicolons_says_so(config_dir, kind, separator, words):
    path = _csv(config_dir, kind)
    text = path.read_bytes().replace(b",", separator)
    if separator == b";" and kind == "confidences":  # decimal commas, as such locales write
        text = text.replace(b".", b",").replace(b",JPEG", b".JPEG")
    path.write_bytes(text)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(f"{path}, line 1"), message
    assert f"Its fields are separated by {words}: save it as comma-separated values" in message


@pytest.mark.parametrize(
    ("text", "words"), [("0.5\t-1.25\n", "tabs"), ("0,5;-1,25\n", "semicolons")]
)
def test_annotator_features_separated_by_tabs_or_semicolons_say_so(config_dir, text, words):
    path = _write_features_text(config_dir, text * NUM_ANNOTATORS)
    with pytest.raises(AnnotationError) as error:
        annotations.read_annotator_features(config_dir)
    message = str(error.value)
    assert message.startswith(f"{path}, line 1: expected 2 comma-separated numbers"), message
    assert f"Its fields are separated by {words}" in message


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


def test_bom_crlf_and_blank_lines_at_the_end_of_annotator_features_are_accepted(tmp_path, rng):
    features = rng.normal(size=(NUM_ANNOTATORS, 2))
    annotations.write_annotator_features(tmp_path, features)
    path = tmp_path / "annotator_features.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    found = annotations.read_annotator_features(path)
    np.testing.assert_array_equal(found, features.astype(np.float32))


def test_non_ascii_file_names_are_read(tmp_path, rng):
    names = ["café_1.JPEG", "b_2.JPEG", "ärger_3.JPEG"]
    _, labels, confidences = _random_split(rng, 3)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    split = annotations.read_split(tmp_path, "train")
    assert split.names() == sorted(names)
    assert split.row("café_1.JPEG") == sorted(names).index("café_1.JPEG")


def test_annotator_features_roundtrip_from_folder_or_csv(tmp_path, rng):
    features = rng.normal(size=(NUM_ANNOTATORS, 2))
    annotations.write_annotator_features(tmp_path, features)
    from_dir = annotations.read_annotator_features(tmp_path)
    from_csv = annotations.read_annotator_features(str(tmp_path / "annotator_features.csv"))
    assert from_dir.shape == (16, 2) and from_dir.dtype == np.float32
    np.testing.assert_array_equal(from_dir, features.astype(np.float32))
    np.testing.assert_array_equal(from_csv, from_dir)


# Looking rows up.


def test_rows_finds_names_and_gives_minus_one_for_absent_ones(config_dir):
    split = annotations.read_split(config_dir, "train")
    names = split.names()
    query = [names[7], "absent.JPEG", names[0], names[-1], "zzz.JPEG", ""]
    np.testing.assert_array_equal(split.rows(query), [7, -1, 0, len(names) - 1, -1, -1])
    np.testing.assert_array_equal(split.rows(np.array(query, dtype=bytes)), split.rows(query))
    assert split.rows([]).shape == (0,)


def test_row_of_an_absent_name_raises_key_error_naming_it(config_dir):
    split = annotations.read_split(config_dir, "train")
    assert split.row(split.names()[3]) == 3
    with pytest.raises(
        KeyError, match="'n01440764_999.JPEG' has no ImageNet-PI annotations"
    ) as error:
        split.row("n01440764_999.JPEG")
    assert f"50 annotated file names, e.g. '{split.names()[0]}'" in str(error.value)


def test_repr_is_short(config_dir):
    split = annotations.read_split(config_dir, "train")
    names = split.names()
    assert repr(split) == f"SplitAnnotations(50 rows, {names[0]!r}..{names[-1]!r})"


def test_subset_keeps_rows_sorted_and_aligned(config_dir):
    split = annotations.read_split(config_dir, "train")
    part = split.subset([9, 2, 2, 5])
    assert len(part) == 3
    assert part.names() == [split.names()[i] for i in (2, 5, 9)]
    np.testing.assert_array_equal(part.labels, split.labels[[2, 5, 9]])
    np.testing.assert_array_equal(part.confidences, split.confidences[[2, 5, 9]])
    assert part.row(split.names()[5]) == 1
    assert split.subset(slice(10, 20)).names() == split.names()[10:20]
    assert len(split.subset(split.labels[:, 0] < 500)) == int(np.sum(split.labels[:, 0] < 500))


def test_subset_refuses_the_minus_one_of_absent_names(config_dir):
    split = annotations.read_split(config_dir, "train")
    with pytest.raises(ValueError, match=">= 0"):
        split.subset(split.rows(["absent.JPEG"]))


# Files that are not there or not data.


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_missing_file_names_the_path_and_how_to_get_it(config_dir, kind):
    path = _csv(config_dir, kind, "validation")
    path.unlink()
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "validation")
    message = str(error.value)
    assert str(path) in message
    assert upstream.LFS_URL_ROOT in message
    assert "github.com/google-research-datasets/imagenet_pi" in message
    assert "git lfs" in message.lower() and "manual_dir" in message


def test_lfs_pointer_file_gives_git_lfs_hint(config_dir):
    path = _csv(config_dir, "confidences")
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:db31de83e168ef74ea898504c1d46f60ffca55ef05c1267226d487087701e5e6\n"
        "size 463452489\n"
    )
    with pytest.raises(AnnotationError, match="Git LFS pointer.*git lfs pull") as error:
        annotations.read_split(config_dir, "train")
    assert str(path) in str(error.value)


def test_empty_file_is_refused(config_dir):
    path = _csv(config_dir, "labels")
    path.write_bytes(b"")
    with pytest.raises(AnnotationError, match=re.escape(f"{path} is empty")):
        annotations.read_split(config_dir, "train")


# Malformed lines: the error names the file and the 1-based line.


@pytest.mark.parametrize("line_number", [1, 17, 50])
def test_wrong_column_count_names_file_and_line(config_dir, line_number):
    path = _csv(config_dir, "labels")
    _replace_line(path, line_number, "n01440764_1.JPEG,1,2,3")
    with pytest.raises(
        AnnotationError, match=f"line {line_number}: expected 17 .* found 4"
    ) as error:
        annotations.read_split(config_dir, "train")
    assert str(path) in str(error.value)


def test_extra_column_names_file_and_line(config_dir):
    path = _csv(config_dir, "confidences")
    line = path.read_text().splitlines()[11]
    _replace_line(path, 12, line + ",0.5")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 12: expected 17")):
        annotations.read_split(config_dir, "train")


def test_blank_line_names_file_and_line(config_dir):
    path = _csv(config_dir, "labels")
    _replace_line(path, 8, "")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 8: expected 17")):
        annotations.read_split(config_dir, "train")


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("labels", "x7", "label 'x7' is not an integer"),
        ("labels", "", "label '' is not an integer"),
        ("labels", "1.5", "label '1.5' is not an integer"),
        ("confidences", "0.5.1", "confidence '0.5.1' is not a number"),
        ("confidences", "", "confidence '' is not a number"),
    ],
)
def test_non_numeric_value_names_file_line_and_value(config_dir, kind, text, message):
    path = _csv(config_dir, kind)
    _set_field(path, 23, 5, text)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 23, annotator 5: {message}")
    ):
        annotations.read_split(config_dir, "train")


@pytest.mark.parametrize("value", ["1000", "-1", "40000"])
def test_label_outside_class_range_names_file_line_and_value(config_dir, value):
    path = _csv(config_dir, "labels")
    _set_field(path, 31, 16, value)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    assert re.search(
        rf"{re.escape(str(path))}, line 31, annotator 16: label {value} is not a class index "
        r"in 0\.\.999",
        str(error.value),
    ), str(error.value)


@pytest.mark.parametrize("value", ["1.5", "-0.25", "nan", "inf"])
def test_confidence_outside_unit_interval_names_file_line_and_value(config_dir, value):
    path = _csv(config_dir, "confidences")
    _set_field(path, 4, 2, value)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 4, annotator 2: confidence '{value}'")
    ):
        annotations.read_split(config_dir, "train")


def test_empty_file_name_names_file_and_line(config_dir):
    for kind in ("labels", "confidences"):
        _set_field(_csv(config_dir, kind), 6, 0, "")
    with pytest.raises(AnnotationError, match="line 6: the file name is empty"):
        annotations.read_split(config_dir, "train")


@pytest.mark.slow
def test_bad_line_deep_in_a_large_file_gets_the_right_line_number(tmp_path, rng):
    # ~5.5 MB: several pyarrow blocks and more than one block of the slow scan.
    names, labels, confidences = _random_split(rng, 70_000)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    path = _csv(tmp_path, "labels")
    _set_field(path, 65_432, 9, "abc")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 65432, annotator 9")):
        annotations.read_split(tmp_path, "train")


@pytest.mark.slow
def test_value_error_deep_in_a_large_file_gets_the_right_line_number(tmp_path, rng):
    names, labels, confidences = _random_split(rng, 70_000)
    labels[61_000, 3] = 1000
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    with pytest.raises(AnnotationError, match="line 61001, annotator 4: label 1000"):
        annotations.read_split(tmp_path, "train")


# The two files of a split must agree.


def test_duplicate_file_name_gives_the_name_and_both_lines(config_dir):
    path = _csv(config_dir, "labels")
    name = path.read_text().splitlines()[9].split(",")[0]
    _set_field(path, 40, 0, name)
    _set_field(_csv(config_dir, "confidences"), 40, 0, name)
    with pytest.raises(
        AnnotationError,
        match=re.escape(f"{path}: file name {name!r} appears twice, on lines 10 and 40"),
    ):
        annotations.read_split(config_dir, "train")


def test_duplicate_in_confidences_only_is_found_too(config_dir):
    path = _csv(config_dir, "confidences")
    name = path.read_text().splitlines()[0].split(",")[0]
    _set_field(path, 2, 0, name)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}: file name {name!r} appears twice")
    ):
        annotations.read_split(config_dir, "train")


def test_different_file_names_name_both_files_and_the_differences(config_dir):
    labels_csv, confidences_csv = _csv(config_dir, "labels"), _csv(config_dir, "confidences")
    only_in_labels = _set_field(labels_csv, 3, 0, "n09999999_1.JPEG")
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert str(labels_csv) in message and str(confidences_csv) in message
    assert "Only in the labels: 1 ('n09999999_1.JPEG')" in message
    assert f"only in the confidences: 1 ({only_in_labels!r})" in message


def test_different_row_counts_name_both_files_and_counts(config_dir):
    labels_csv, confidences_csv = _csv(config_dir, "labels"), _csv(config_dir, "confidences")
    lines = confidences_csv.read_text().splitlines(keepends=True)
    confidences_csv.write_text("".join(lines[:-7]))
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert f"{labels_csv} (50 rows) and {confidences_csv} (43 rows)" in message
    assert "Only in the labels: 7 (" in message and "and 2 more" in message
    assert "only in the confidences: none" in message


# annotator_features.csv


def _write_features_text(config_dir: pathlib.Path, text: str) -> pathlib.Path:
    path = config_dir / "annotator_features.csv"
    path.write_text(text)
    return path


def test_annotator_features_with_wrong_row_count_is_refused(config_dir):
    path = _write_features_text(config_dir, "0.1,0.2\n" * 15)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}: expected 16 lines") + ".*found 15"
    ):
        annotations.read_annotator_features(config_dir)


def test_annotator_features_with_wrong_column_count_names_the_line(config_dir):
    path = _write_features_text(config_dir, "0.1,0.2\n" * 4 + "0.1,0.2,0.3\n" + "0.1,0.2\n" * 11)
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 5: expected 2")):
        annotations.read_annotator_features(config_dir)


@pytest.mark.parametrize(
    ("text", "problem"), [("abc", "not a number"), ("nan", "not finite"), ("-inf", "not finite")]
)
def test_annotator_features_non_numeric_or_non_finite_names_the_line(config_dir, text, problem):
    path = _write_features_text(config_dir, "0.1,0.2\n" * 9 + f"0.1,{text}\n" + "0.1,0.2\n" * 6)
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 10: field 2 is {problem}")):
        annotations.read_annotator_features(config_dir)


def test_annotator_features_lfs_pointer_gives_git_lfs_hint(config_dir):
    _write_features_text(
        config_dir, "version https://git-lfs.github.com/spec/v1\noid sha256:885b\n"
    )
    with pytest.raises(AnnotationError, match="git lfs pull"):
        annotations.read_annotator_features(config_dir)


def test_missing_annotator_features_names_the_path(tmp_path):
    with pytest.raises(
        AnnotationError, match=re.escape(os.path.join(tmp_path, "annotator_features.csv"))
    ):
        annotations.read_annotator_features(tmp_path)


# Writing refuses what would not read back.


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
        builds.build(manual_dir, str(tmp_path / "data"))
    assert pointer in str(error.value)
    builds.assert_nothing_finished(str(tmp_path / "data"))
