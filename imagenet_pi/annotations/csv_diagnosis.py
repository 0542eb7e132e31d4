"""What is wrong with a CSV the reader refused, and the checks of the names in it.

pyarrow's multithreaded reader says that a file is malformed, not where: the first bad
line is found again by re-parsing blocks of lines and bisecting, and said in words (a
quote left open, a field missing, a value that is not a number, tabs or semicolons for
commas). Names that start or end with whitespace, names that are not UTF-8, and names
only one of the two files of a split lists are named with their file and line. All of
this runs only on error, except the whitespace check of the names, which is vectorised.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from etils import epath

from imagenet_pi import upstream
from imagenet_pi.annotations.csv_format import (
    NUM_FIELDS,
    QUOTE,
    UTF8_BOM,
    AnnotationError,
    PathLike,
    as_bytes,
    offsets_and_data,
    parse,
    show,
    shown_name,
    to_str,
    unquoted,
)

_MAX_NAMES_SHOWN = 5
# Whitespace a CSV reader keeps in a field, as a lookup table by byte value.
_IS_ASCII_BLANK = np.zeros(256, bool)
_IS_ASCII_BLANK[list(b" \t\v\f\r\n")] = True
_MAX_BLANK = ord(" ")
# Separators people save CSVs with by mistake (a spreadsheet's locale, a TSV export).
_OTHER_SEPARATORS = {b"\t": "tabs", b";": "semicolons"}
_SCAN_BLOCK_BYTES = 1 << 22


def check_name_ends(names: pa.BinaryArray, path: PathLike) -> None:
    """Refuses file names (non-empty, file order) that start or end with ASCII whitespace.

    CSV readers keep a space or tab beside a comma as part of the field, so
    `n01440764_18.JPEG ,3,...` names another image. Two gathers of N bytes, about 7 ms for
    the 1.28M names of train: no measurable cost beside the parse.
    """
    offsets, data = offsets_and_data(names)
    firsts, lasts = data[offsets[:-1]], data[offsets[1:] - 1]
    if firsts.min(initial=255) > _MAX_BLANK and lasts.min(initial=255) > _MAX_BLANK:
        return  # the usual case, decided by two comparisons that vectorise well
    blank = _IS_ASCII_BLANK[firsts] | _IS_ASCII_BLANK[lasts]
    if blank.any():
        row = int(np.argmax(blank))
        raise _blank_end_error(path, row + 1, names[row].as_py())


def check_unicode_name_ends(file_names: np.ndarray, order: np.ndarray | None, path: PathLike):
    """Refuses sorted names starting or ending with any whitespace (`order`: rows in file order)."""
    stripped = np.char.strip(file_names)
    if np.array_equal(stripped, file_names):
        return
    index = int(np.argmax(stripped != file_names))
    row = index if order is None else int(order[index])
    raise _blank_end_error(path, row + 1, str(file_names[index]).encode("utf-8"))


def _blank_end_error(path: PathLike, line_number: int, name: bytes) -> AnnotationError:
    text = shown_name(name)
    where = "starts with whitespace" if text[:1].isspace() else "ends with whitespace"
    return AnnotationError(
        f"{path}, line {line_number}: the file name {text!r} {where}; expected "
        "a name without, such as 'n01440764_18.JPEG'. A CSV reader keeps spaces and tabs "
        "beside a comma as part of the field, so this names no image: remove the whitespace "
        "around the file names (and write the file without spaces after its commas)."
    )


def different_names_error(
    labels: tuple[PathLike, pa.BinaryArray, np.ndarray],
    confidences: tuple[PathLike, pa.BinaryArray, np.ndarray],
) -> AnnotationError:
    """Why the labels and confidences CSVs list other names: the first cause found.

    Each is (path, names as parsed, name matrix), in file order. A file name that is not
    UTF-8 or has whitespace at an end is named in its file; names that differ only in
    whitespace are named in both; otherwise the names only one file has.
    """
    for path, names, matrix in (labels, confidences):
        try:
            file_names = to_str(matrix, ascii_only=False)
        except UnicodeDecodeError:
            return not_utf8_error(path, matrix)
        check_name_ends(names, path)
        check_unicode_name_ends(file_names, None, path)
    (labels_csv, _, labels_matrix), (confidences_csv, _, confidences_matrix) = labels, confidences
    labels_bytes, confidences_bytes = as_bytes(labels_matrix), as_bytes(confidences_matrix)
    only_labels = np.setdiff1d(labels_bytes, confidences_bytes)
    only_confidences = np.setdiff1d(confidences_bytes, labels_bytes)
    by_letters = {_without_whitespace(name): name for name in only_confidences.tolist()}
    for name in only_labels.tolist():
        other = by_letters.get(_without_whitespace(name))
        if other is not None:
            labels_line = int(np.flatnonzero(labels_bytes == name)[0]) + 1
            confidences_line = int(np.flatnonzero(confidences_bytes == other)[0]) + 1
            return AnnotationError(
                f"{labels_csv}, line {labels_line}: the file name {shown_name(name)!r} is "
                f"{shown_name(other)!r} in {confidences_csv}, line {confidences_line}: the "
                "two differ only in whitespace, so the files do not annotate the same images. "
                "Write the name the same way in both, without whitespace (such as "
                "'n01440764_18.JPEG')."
            )
    return AnnotationError(
        f"{labels_csv} ({len(labels_bytes)} rows) and {confidences_csv} "
        f"({len(confidences_bytes)} rows) do not annotate the same file names. "
        f"Only in the labels: {_some_names(only_labels)}; "
        f"only in the confidences: {_some_names(only_confidences)}. "
        "Both files must come from the same ImageNet-PI config and split."
    )


def not_utf8_error(path: PathLike, names: np.ndarray) -> AnnotationError:
    """Names the first line whose file name is not UTF-8 (`names`: name matrix, file order)."""
    for line_number, name in enumerate(as_bytes(names).tolist(), 1):
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            return AnnotationError(
                f"{path}, line {line_number}: the file name {name!r} is not UTF-8; "
                "ImageNet-PI names are ASCII, such as 'n01440764_18.JPEG'. The file was "
                "saved in another encoding or is damaged: download or pull it again."
            )
    raise AssertionError("every name decodes")  # only called after a decoding failure


def malformed_file_error(
    path: epath.Path,
    kind: str,
    value_type: pa.DataType,
    error: pa.ArrowInvalid,
    size: int | None,
) -> AnnotationError:
    """Names the first bad line of (the first `size` bytes of) a file pyarrow could not parse.

    pyarrow's multithreaded reader does not say which line failed, so this re-parses
    the file in blocks of lines, bisects the first failing block to its first failing
    line, and says what is wrong with that line.
    """
    lines_before = 0
    position = 0  # bytes of the file before `lines`
    with path.open("rb") as f:
        for lines in line_blocks(f):
            block_end = position + sum(map(len, lines))
            if lines_before == 0 and lines[0].startswith(UTF8_BOM):
                lines[0] = lines[0][len(UTF8_BOM) :]
            if size is not None and block_end > size:  # leave out the blank lines at the end
                excess = block_end - size
                while excess > 0 and lines:
                    excess -= len(lines.pop())
            if not lines:
                break
            try:
                parse(io.BytesIO(b"".join(lines)), value_type)
            except pa.ArrowInvalid:
                index = _first_bad_line(lines, value_type)
                line = lines[index].rstrip(b"\r\n")
                problem = _line_problem(line, kind, value_type)
                return AnnotationError(f"{path}, line {lines_before + index + 1}{problem}")
            lines_before += len(lines)
            position = block_end
    return AnnotationError(f"{path} is not a valid ImageNet-PI {kind} CSV: {error}")


def _first_bad_line(lines: list[bytes], value_type: pa.DataType) -> int:
    """The index of the first line pyarrow cannot parse, in lines it cannot parse together.

    A bisection of prefixes: about 20 parses of at most a block, whatever the block holds.
    """
    good, bad = 0, len(lines)  # lines[:good] parse; lines[:bad] do not
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            parse(io.BytesIO(b"".join(lines[:middle])), value_type)
            good = middle
        except pa.ArrowInvalid:
            bad = middle
    return bad - 1


def line_blocks(f: BinaryIO) -> Iterator[list[bytes]]:
    """The lines of a file with their line ends, in blocks of about 4 MB.

    Lines end at LF, CR LF or a lone CR, as for pyarrow and Python's csv module (a lone CR
    is how old Mac spreadsheets end lines), so line i of the scan is row i of the parse.
    """
    pending: list[bytes] = []  # the start of a line that goes on in the next block
    while block := f.read(_SCAN_BLOCK_BYTES):
        if b"\n" not in block and b"\r" not in block:
            pending.append(block)
            continue
        lines = (b"".join(pending) + block).splitlines(keepends=True)
        # The last line may go on in the next block, and a final CR may be half of CR LF.
        pending = [] if lines[-1].endswith(b"\n") else [lines.pop()]
        if lines:
            yield lines
    if pending:
        yield [b"".join(pending)]


def _line_problem(line: bytes, kind: str, value_type: pa.DataType) -> str:
    """What is wrong with one CSV line pyarrow refused (to follow "<path>, line <n>")."""
    hint = separator_hint(line, NUM_FIELDS)
    fields = line.split(b",")
    unmatched = [text for text in fields if text.startswith(QUOTE) and unquoted(text) is text]
    if unmatched:
        return (
            f": the field {show(unmatched[0])} opens a quote it does not close: {show(line)}. "
            "Quote whole fields, '\"n01440764_18.JPEG\"', or write the CSV without quotes."
        )
    if len(fields) != NUM_FIELDS:
        return (
            f": expected {NUM_FIELDS} comma-separated fields (a file name and "
            f"{upstream.NUM_ANNOTATORS} {kind}), found {len(fields)}: {show(line)}.{hint}"
        )
    for column, text in enumerate(fields[1:], 1):
        # int64 for labels: a label such as 40000 is out of range, not unreadable.
        value = _parsed_value(text, pa.int64() if kind == "labels" else value_type)
        shown = show(unquoted(text))
        if value is None and kind == "labels":
            return f", annotator {column}: label {shown} is not an integer.{hint}"
        if value is None:
            return f", annotator {column}: confidence {shown} is not a number.{hint}"
        if kind == "labels" and not 0 <= value < upstream.NUM_CLASSES:
            return (
                f", annotator {column}: label {value} is not a class index in "
                f"0..{upstream.NUM_CLASSES - 1}."
            )
    return f": this line cannot be read as a CSV line: {show(line)}.{hint}"


def separator_hint(line: bytes, num_fields: int) -> str:
    """A sentence for a line whose fields are separated by tabs or semicolons, else ""."""
    for mark, words in _OTHER_SEPARATORS.items():
        if len(line.split(mark)) == num_fields:
            return (
                f" Its fields are separated by {words}: save it as comma-separated values, a "
                "comma between fields and a point in decimal numbers."
            )
    return ""


def _parsed_value(text: bytes, value_type: pa.DataType) -> int | float | None:
    """One field as the reader parses it (quotes, spaces and tabs around it), or None."""
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text + b"\n"),
            read_options=pa_csv.ReadOptions(column_names=["value"]),
            parse_options=pa_csv.ParseOptions(quote_char='"', ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={"value": value_type}, null_values=[]
            ),
        )
    except pa.ArrowInvalid:
        return None
    return table.column("value")[0].as_py()


def read_line(path: epath.Path, line_number: int) -> bytes:
    """Line `line_number` (1-based) of a file without its line end, b"" past the end."""
    lines_before = 0
    with path.open("rb") as f:
        for lines in line_blocks(f):
            if line_number <= lines_before + len(lines):
                return lines[line_number - lines_before - 1].rstrip(b"\r\n")
            lines_before += len(lines)
    return b""


def _without_whitespace(name: bytes) -> str:
    return "".join(shown_name(name).split())


def _some_names(names: np.ndarray) -> str:
    if not len(names):
        return "none"
    shown = ", ".join(repr(shown_name(name)) for name in names[:_MAX_NAMES_SHOWN].tolist())
    more = f" and {len(names) - _MAX_NAMES_SHOWN} more" if len(names) > _MAX_NAMES_SHOWN else ""
    return f"{len(names)} ({shown}{more})"
