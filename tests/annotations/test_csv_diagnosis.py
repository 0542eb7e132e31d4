"""A bad CSV is named by file and 1-based line, with what is wrong with the line or the names."""

from __future__ import annotations

import re

import csv_edits
import pytest

from imagenet_pi import annotations
from imagenet_pi.annotations import AnnotationError


def test_bad_line_before_blank_lines_at_the_end_is_still_named(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    csv_edits.set_field(path, 50, 3, "x7")
    path.write_bytes(path.read_bytes() + b"\n\n")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 50, annotator 3: label")):
        annotations.read_split(config_dir, "train")


def test_quote_left_open_names_file_line_and_quoting(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    name = csv_edits.set_field(path, 7, 0, "x")
    csv_edits.set_field(path, 7, 0, f'"{name}')
    with pytest.raises(AnnotationError, match="opens a quote it does not close") as error:
        annotations.read_split(config_dir, "train")
    assert f"{path}, line 7: the field" in str(error.value)


def test_non_utf8_file_name_names_file_and_line(config_dir):
    for kind in ("labels", "confidences"):  # written in the same order: line 6 is one name
        csv_edits.latin1_name_on_line(csv_edits.csv_path(config_dir, kind), 6)
    with pytest.raises(AnnotationError, match="is not UTF-8") as error:
        annotations.read_split(config_dir, "train")
    assert f"{csv_edits.csv_path(config_dir, 'labels')}, line 6: the file name b'" in str(
        error.value
    )


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_non_utf8_file_name_in_one_file_only_names_that_file_and_line(config_dir, kind):
    csv_edits.latin1_name_on_line(csv_edits.csv_path(config_dir, kind), 6)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(
        f"{csv_edits.csv_path(config_dir, kind)}, line 6: the file name b'"
    ), message
    assert "\\xe9.JPEG' is not UTF-8" in message
    assert "do not annotate the same" not in message


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
        csv_edits.edit_line(
            csv_edits.csv_path(config_dir, kind), 5, _NAMES_WITH_WHITESPACE[variant]
        )
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(
        f"{csv_edits.csv_path(config_dir, kinds[0])}, line 5: the file name '"
    ), message
    assert re.search(r"JPEG(\\t| |\\xa0)?' (starts|ends) with whitespace", message), message
    assert "remove the whitespace" in message
    assert "do not annotate the same" not in message


@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_names_that_differ_only_in_inner_whitespace_are_named_in_both_files(config_dir, kind):
    csv_edits.edit_line(
        csv_edits.csv_path(config_dir, kind), 9, lambda line: line.replace(b"_", b" _", 1)
    )
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    labels_csv, confidences_csv = (
        csv_edits.csv_path(config_dir, "labels"),
        csv_edits.csv_path(config_dir, "confidences"),
    )
    assert message.startswith(f"{labels_csv}, line 9: the file name 'n01440764"), message
    assert f"in {confidences_csv}, line 9: the two differ only in whitespace" in message
    assert "n01440764 _" in message


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
    path = csv_edits.csv_path(config_dir, kind)
    if text:
        csv_edits.set_field(path, 23, 5, text)
    else:
        csv_edits.replace_line(path, 23, "")
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
    path = csv_edits.csv_path(config_dir, kind)
    csv_edits.set_field(path, 12, 4, value)
    word = "label" if kind == "labels" else "confidence"
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 12, annotator 4: {word} {shown} is not")
    ):
        annotations.read_split(config_dir, "train")


@pytest.mark.parametrize(("separator", "words"), [(b"\t", "tabs"), (b";", "semicolons")])
@pytest.mark.parametrize("kind", ["labels", "confidences"])
def test_file_separated_by_tabs_or_semicolons_says_so(config_dir, kind, separator, words):
    path = csv_edits.csv_path(config_dir, kind)
    text = path.read_bytes().replace(b",", separator)
    if separator == b";" and kind == "confidences":  # decimal commas, as such locales write
        text = text.replace(b".", b",").replace(b",JPEG", b".JPEG")
    path.write_bytes(text)
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert message.startswith(f"{path}, line 1"), message
    assert f"Its fields are separated by {words}: save it as comma-separated values" in message


@pytest.mark.parametrize("line_number", [1, 17, 50])
def test_wrong_column_count_names_file_and_line(config_dir, line_number):
    path = csv_edits.csv_path(config_dir, "labels")
    csv_edits.replace_line(path, line_number, "n01440764_1.JPEG,1,2,3")
    with pytest.raises(
        AnnotationError, match=f"line {line_number}: expected 17 .* found 4"
    ) as error:
        annotations.read_split(config_dir, "train")
    assert str(path) in str(error.value)


def test_extra_column_names_file_and_line(config_dir):
    path = csv_edits.csv_path(config_dir, "confidences")
    line = path.read_text().splitlines()[11]
    csv_edits.replace_line(path, 12, line + ",0.5")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 12: expected 17")):
        annotations.read_split(config_dir, "train")


def test_blank_line_names_file_and_line(config_dir):
    path = csv_edits.csv_path(config_dir, "labels")
    csv_edits.replace_line(path, 8, "")
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
    path = csv_edits.csv_path(config_dir, kind)
    csv_edits.set_field(path, 23, 5, text)
    with pytest.raises(
        AnnotationError, match=re.escape(f"{path}, line 23, annotator 5: {message}")
    ):
        annotations.read_split(config_dir, "train")


@pytest.mark.slow
def test_bad_line_deep_in_a_large_file_gets_the_right_line_number(tmp_path, rng):
    # ~5.5 MB: several pyarrow blocks and more than one block of the slow scan.
    names, labels, confidences = csv_edits.random_split(rng, 70_000)
    annotations.write_split(tmp_path, "train", names, labels, confidences)
    path = csv_edits.csv_path(tmp_path, "labels")
    csv_edits.set_field(path, 65_432, 9, "abc")
    with pytest.raises(AnnotationError, match=re.escape(f"{path}, line 65432, annotator 9")):
        annotations.read_split(tmp_path, "train")


def test_different_file_names_name_both_files_and_the_differences(config_dir):
    labels_csv, confidences_csv = (
        csv_edits.csv_path(config_dir, "labels"),
        csv_edits.csv_path(config_dir, "confidences"),
    )
    only_in_labels = csv_edits.set_field(labels_csv, 3, 0, "n09999999_1.JPEG")
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert str(labels_csv) in message and str(confidences_csv) in message
    assert "Only in the labels: 1 ('n09999999_1.JPEG')" in message
    assert f"only in the confidences: 1 ({only_in_labels!r})" in message


def test_different_row_counts_name_both_files_and_counts(config_dir):
    labels_csv, confidences_csv = (
        csv_edits.csv_path(config_dir, "labels"),
        csv_edits.csv_path(config_dir, "confidences"),
    )
    lines = confidences_csv.read_text().splitlines(keepends=True)
    confidences_csv.write_text("".join(lines[:-7]))
    with pytest.raises(AnnotationError) as error:
        annotations.read_split(config_dir, "train")
    message = str(error.value)
    assert f"{labels_csv} (50 rows) and {confidences_csv} (43 rows)" in message
    assert "Only in the labels: 7 (" in message and "and 2 more" in message
    assert "only in the confidences: none" in message
