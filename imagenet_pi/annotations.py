"""ImageNet-PI annotation CSVs -> validated numpy arrays.

Upstream ships, per config (`high_noise`, `low_noise`), one labels CSV and one
confidences CSV per split, rows `<file name>,<v1>,...,<v16>` without a header,
plus `annotator_features.csv` (16 rows of 2 floats). This module reads them into
numpy arrays sorted by file name, checks them, and writes files in the same
format (for synthetic data and re-sampled labels).

Reading is one multithreaded pyarrow CSV parse per file with fixed column types;
all checks are vectorised. What CSV writers add is accepted at no cost, as CSV
readers accept it: a UTF-8 BOM, CRLF line ends and lone CRs, spaces and tabs around
numbers, fields quoted the standard way (`"n01440764_18.JPEG"`, as pandas or R write
them) and blank lines at the end. A file name that starts or ends with whitespace is
refused: a CSV reader keeps it, so it would name no image. Line numbers in error
messages are 1-based line numbers of the file, found again by a slow scan that
only runs on error, and so does finding why two files list different names.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from etils import epath

from imagenet_pi import errors, paths, upstream
from imagenet_pi.file_names import as_str as _as_str

PathLike = str | os.PathLike

UPSTREAM_REPO_URL = upstream.REPO_URL

_NAME_COLUMN = "file_name"
_VALUE_COLUMNS = tuple(f"annotator_{i}" for i in range(upstream.NUM_ANNOTATORS))
_NUM_FIELDS = 1 + upstream.NUM_ANNOTATORS
_MAX_NAMES_SHOWN = 5
_WRITE_CHUNK_ROWS = 1 << 16
_UTF8_BOM = b"\xef\xbb\xbf"
_QUOTE = b'"'
_BLANK = b" \t\r\n"
# Whitespace a CSV reader keeps in a field, as a lookup table by byte value.
_IS_ASCII_BLANK = np.zeros(256, bool)
_IS_ASCII_BLANK[list(b" \t\v\f\r\n")] = True
_MAX_BLANK = ord(" ")
# Separators people save CSVs with by mistake (a spreadsheet's locale, a TSV export).
_OTHER_SEPARATORS = {b"\t": "tabs", b";": "semicolons"}
_SCAN_BLOCK_BYTES = 1 << 22
# Blank lines at the end of a CSV are looked for in its last bytes only.
_TAIL_BYTES = 1 << 16


class AnnotationError(errors.ImagenetPiError, ValueError):
    """An ImageNet-PI annotation file is missing, incomplete or malformed."""


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SplitAnnotations:
    """The 16 annotator labels and confidences of every image of one split.

    Rows are sorted by file name and file names are unique, so a row is found
    by binary search.

    Attributes:
      file_names: (num_examples,) numpy str array ('U'), e.g. 'n02097047_2079.JPEG'.
      labels: (num_examples, 16) int16, class indices in 0..999 (sorted synset ids).
      confidences: (num_examples, 16) float32 in [0, 1], each annotator's confidence
        in the label it gave.
    """

    file_names: np.ndarray
    labels: np.ndarray
    confidences: np.ndarray

    def __post_init__(self) -> None:
        num_examples = len(self.file_names)
        shape = (num_examples, upstream.NUM_ANNOTATORS)
        if self.file_names.ndim != 1 or self.file_names.dtype.kind != "U":
            raise ValueError(f"file_names must be a 1-D str array, got {self.file_names.dtype}")
        if self.labels.shape != shape or self.confidences.shape != shape:
            raise ValueError(
                f"labels and confidences must have shape {shape}, got "
                f"{self.labels.shape} and {self.confidences.shape}"
            )

    def __len__(self) -> int:
        return len(self.file_names)

    def __repr__(self) -> str:
        span = f", {str(self.file_names[0])!r}..{str(self.file_names[-1])!r}" if len(self) else ""
        return f"SplitAnnotations({len(self)} rows{span})"

    def names(self) -> list[str]:
        """The file names as a list of Python str, in row order."""
        return self.file_names.tolist()

    def rows(self, file_names: Sequence[str] | np.ndarray) -> np.ndarray:
        """Rows of `file_names`: (len(file_names),) int64, -1 where a name is absent."""
        query = np.asarray(file_names)
        if query.dtype.kind == "S" or query.dtype == object:
            query = np.array([_as_str(name) for name in query.tolist()], dtype=str)
        query = query.astype(str, copy=False).reshape(-1)
        if len(self) == 0 or len(query) == 0:
            return np.full(len(query), -1, np.int64)
        index = np.searchsorted(self.file_names, query)
        index = np.minimum(index, len(self) - 1)
        return np.where(self.file_names[index] == query, index, -1).astype(np.int64)

    def row(self, file_name: str) -> int:
        """The row of one file name; KeyError if it has no annotations."""
        file_name = _as_str(file_name)
        index = int(np.searchsorted(self.file_names, file_name))
        if index < len(self) and self.file_names[index] == file_name:
            return index
        example = f", e.g. {str(self.file_names[0])!r}" if len(self) else ""
        raise KeyError(
            f"{file_name!r} has no ImageNet-PI annotations "
            f"({len(self)} annotated file names{example})"
        )

    def subset(self, rows: slice | Sequence[int] | np.ndarray) -> SplitAnnotations:
        """The annotations of some rows (a slice, row indices or a boolean mask).

        Rows are taken in increasing order, each once, so the result is again
        sorted by file name. Negative indices are refused (`rows()` uses -1 for
        absent names).
        """
        if isinstance(rows, slice):
            index = np.arange(len(self))[rows]
        else:
            index = np.asarray(rows)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            elif index.size and index.min() < 0:
                raise ValueError(f"row indices must be >= 0, got {int(index.min())}")
        index = np.unique(index.astype(np.int64))
        return SplitAnnotations(
            file_names=self.file_names[index],
            labels=self.labels[index],
            confidences=self.confidences[index],
        )


def read_split(config_dir: PathLike, split: str) -> SplitAnnotations:
    """Reads `labels/<split>.csv` and `confidences/<split>.csv` of a config folder.

    Args:
      config_dir: a folder in the upstream layout, e.g. a clone's `high_noise/`.
      split: 'train' or 'validation'.

    Returns:
      The split's annotations, rows sorted by file name.

    Raises:
      AnnotationError: a file is missing, an LFS pointer, empty or malformed, or
        the two files do not annotate the same images.
    """
    config_dir = epath.Path(config_dir)
    return read_split_files(
        config_dir / upstream.csv_relpath("labels", split),
        config_dir / upstream.csv_relpath("confidences", split),
    )


def read_split_files(labels_csv: PathLike, confidences_csv: PathLike) -> SplitAnnotations:
    """Reads one split from explicit labels and confidences CSV paths.

    Same as `read_split`, for files that are not in the upstream layout (the TFDS
    download manager stores downloads under hashed names).
    """
    for path in (labels_csv, confidences_csv):  # Before spending seconds on the other one.
        _check_readable(epath.Path(path))
    # The bigger file first, so pyarrow's buffers are released before numpy's grow.
    confidences_names, confidences = _read_values_csv(confidences_csv, "confidences")
    _check_confidence_range(confidences, confidences_csv)
    labels_names, labels = _read_values_csv(labels_csv, "labels")
    _check_label_range(labels, labels_csv)

    labels_array = labels_names.combine_chunks()
    names = _name_matrix(labels_array)
    _check_name_ends(labels_array, labels_csv)
    del labels_array  # the sort below peaks in memory
    order = _sorted_order(names, labels_csv)
    if labels_names.equals(confidences_names):  # Same rows in the same order: the usual case.
        confidences_order = order
    else:
        confidences_array = confidences_names.combine_chunks()
        other_names = _name_matrix(confidences_array)
        confidences_order = _sorted_order(other_names, confidences_csv)
        if not np.array_equal(
            _as_bytes(_take(names, order)), _as_bytes(_take(other_names, confidences_order))
        ):
            raise _different_names_error(
                (labels_csv, labels_names.combine_chunks(), names),
                (confidences_csv, confidences_array, other_names),
            )
        del other_names, confidences_array
    del labels_names, confidences_names
    pa.default_memory_pool().release_unused()
    # One array at a time, so that at most one unsorted copy is alive.
    confidences = _take(confidences, confidences_order)
    labels = _take(labels, order)
    sorted_names = _take(names, order)
    ascii_only = sorted_names.max(initial=0) < 128
    try:
        file_names = _to_str(sorted_names, ascii_only)
    except UnicodeDecodeError:
        raise _not_utf8_error(labels_csv, names) from None
    if not ascii_only:  # whitespace beyond ASCII: a no-break space, ...
        _check_unicode_name_ends(file_names, order, labels_csv)
    return SplitAnnotations(file_names=file_names, labels=labels, confidences=confidences)


def read_annotator_features(config_dir_or_csv: PathLike) -> np.ndarray:
    """Reads `annotator_features.csv`: (16, 2) float32.

    Row i describes the annotator of CSV column i: (normalised accuracy,
    normalised log parameter count).

    Args:
      config_dir_or_csv: a config folder or the path of the CSV itself.
    """
    path = epath.Path(config_dir_or_csv)
    if path.is_dir():
        path = path / upstream.ANNOTATOR_FEATURES_RELPATH
    _check_readable(path)
    lines = path.read_bytes().removeprefix(_UTF8_BOM).rstrip(_BLANK).splitlines()
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if len(lines) != expected_shape[0]:
        raise AnnotationError(
            f"{path}: expected {expected_shape[0]} lines (one per annotator), found {len(lines)}."
        )
    features = np.empty(expected_shape, np.float32)
    for line_number, line in enumerate(lines, 1):
        fields = line.split(b",")
        if len(fields) != expected_shape[1]:
            raise AnnotationError(
                f"{path}, line {line_number}: expected {expected_shape[1]} comma-separated "
                f"numbers, found {len(fields)} fields: {_show(line)}."
                + _separator_hint(line, expected_shape[1])
            )
        for column, text in enumerate(fields):
            try:
                value = float(_unquoted(text))
            except ValueError:
                raise AnnotationError(
                    f"{path}, line {line_number}: field {column + 1} is not a number: "
                    f"{_show(text)}."
                ) from None
            if not np.isfinite(value):
                raise AnnotationError(
                    f"{path}, line {line_number}: field {column + 1} is not finite: {_show(text)}."
                )
            features[line_number - 1, column] = value
    return features


def write_split(
    config_dir: PathLike,
    split: str,
    file_names: Sequence[str] | np.ndarray,
    labels: np.ndarray,
    confidences: np.ndarray,
) -> None:
    """Writes `labels/<split>.csv` and `confidences/<split>.csv` in the upstream format.

    Rows are written in the given order, without a header: the file name, then 16
    labels as integers or 16 confidences as `repr(float)` (full float64 precision).
    Values are written as given, without range checks, so tests can write bad files.

    Args:
      config_dir: the config folder; sub-folders are created.
      split: 'train' or 'validation'.
      file_names: (num_examples,) str or bytes.
      labels: (num_examples, 16) integers.
      confidences: (num_examples, 16) floats.
    """
    names = [_as_str(name) for name in np.asarray(file_names).reshape(-1).tolist()]
    labels = np.asarray(labels)
    confidences = np.asarray(confidences, dtype=np.float64)
    shape = (len(names), upstream.NUM_ANNOTATORS)
    if labels.shape != shape or confidences.shape != shape:
        raise ValueError(
            f"labels and confidences must have shape {shape}, got "
            f"{labels.shape} and {confidences.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    for name in names:
        if not name or any(character in name for character in ",\n\r\0"):
            raise ValueError(
                f"file names must be non-empty, without commas or line breaks: {name!r}"
            )

    config_dir = epath.Path(config_dir)
    encoded_names = [name.encode("utf-8") for name in names]
    for kind, write in (("labels", _write_labels), ("confidences", _write_confidences)):
        path = config_dir / upstream.csv_relpath(kind, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write(f, encoded_names, labels if kind == "labels" else confidences)


def _write_labels(f: BinaryIO, names: list[bytes], labels: np.ndarray) -> None:
    """Label rows; pyarrow prints integers as str() does, several times faster."""
    table = pa.table(
        {
            _NAME_COLUMN: pa.array(names, pa.binary()),
            **{column: labels[:, i] for i, column in enumerate(_VALUE_COLUMNS)},
        }
    )
    pa_csv.write_csv(table, f, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


def _write_confidences(f: BinaryIO, names: list[bytes], confidences: np.ndarray) -> None:
    """Confidence rows, as repr(float): pyarrow prints floats differently (0.00001 for 1e-05)."""
    for start in range(0, len(names), _WRITE_CHUNK_ROWS):
        stop = start + _WRITE_CHUNK_ROWS
        rows = zip(names[start:stop], confidences[start:stop].tolist())
        f.write(
            b"".join(b"%s,%s\n" % (name, ",".join(map(repr, row)).encode()) for name, row in rows)
        )


def write_annotator_features(config_dir: PathLike, features: np.ndarray) -> None:
    """Writes `annotator_features.csv`: 16 lines `<accuracy>,<log parameter count>`.

    Args:
      config_dir: the config folder (created if absent).
      features: (16, 2) floats, written as `repr(float)`.
    """
    features = np.asarray(features, dtype=np.float64)
    expected_shape = (upstream.NUM_ANNOTATORS, upstream.NUM_ANNOTATOR_FEATURES)
    if features.shape != expected_shape:
        raise ValueError(f"features must have shape {expected_shape}, got {features.shape}")
    path = epath.Path(config_dir) / upstream.ANNOTATOR_FEATURES_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(",".join(map(repr, row)) + "\n" for row in features.tolist())
    path.write_bytes(lines.encode("utf-8"))


# Reading one CSV.


def _read_values_csv(path: PathLike, kind: str) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Parses a labels or confidences CSV, rows in file order.

    Returns:
      names: (num_rows,) pyarrow binary, the file names.
      values: (num_rows, 16) int16 for labels, float32 for confidences.
    """
    path = epath.Path(path)
    # Confidences are parsed as float64 then rounded: float32(float64(text)) is what
    # float64-based readers give, and differs from a direct float32 parse on ties.
    parse_type, dtype = (pa.int16(), np.int16) if kind == "labels" else (pa.float64(), np.float32)
    content_size = _content_size(path)
    try:
        table = _parse_file(path, parse_type, content_size)
    except pa.ArrowInvalid as error:
        raise _malformed_file_error(path, kind, parse_type, error, content_size) from None
    if table.num_rows == 0:
        raise AnnotationError(f"{path} has no rows.")

    names = table.column(_NAME_COLUMN)
    values = np.empty((table.num_rows, upstream.NUM_ANNOTATORS), dtype)
    batches = table.drop_columns([_NAME_COLUMN]).to_batches()
    del table
    start = 0
    for i, batch in enumerate(batches):
        values[start : start + batch.num_rows] = batch.to_tensor(row_major=True).to_numpy()
        start += batch.num_rows
        batches[i] = None  # Frees the parsed columns as they are copied.
    pa.default_memory_pool().release_unused()

    lengths = pc.binary_length(names)
    if pc.min(lengths).as_py() == 0:
        line_number = pc.index(lengths, 0).as_py() + 1
        raise AnnotationError(f"{path}, line {line_number}: the file name is empty.")
    return names, values


def _parse(source: str | io.IOBase | BinaryIO | pa.NativeFile, value_type: pa.DataType) -> pa.Table:
    """One multithreaded pyarrow parse: a binary name column and 16 value columns."""
    return pa_csv.read_csv(
        source,
        read_options=pa_csv.ReadOptions(column_names=(_NAME_COLUMN, *_VALUE_COLUMNS)),
        # Blank lines are kept, so row i is line i + 1 (file names hold no line breaks,
        # quoted or not). Quoting costs pyarrow nothing measurable on unquoted files.
        parse_options=pa_csv.ParseOptions(quote_char='"', ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={_NAME_COLUMN: pa.binary(), **dict.fromkeys(_VALUE_COLUMNS, value_type)},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _content_size(path: epath.Path) -> int | None:
    """The size of a CSV without the blank lines at its end, or None if it has none.

    Reads the last `_TAIL_BYTES` only: a file ending in more blank lines than that
    is left whole, and its first blank line is reported as malformed.
    """
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read()
    content = tail.rstrip(_BLANK)
    blanks = tail[len(content) :]
    breaks = [i for i in (blanks.find(b"\r"), blanks.find(b"\n")) if i >= 0]
    if not content or not breaks:
        return None
    # The last line keeps its own line break (and any spaces before it).
    line_end = len(content) + min(breaks)
    line_end += 2 if tail[line_end : line_end + 2] == b"\r\n" else 1
    return size - len(tail) + line_end if line_end < len(tail) else None


def _parse_file(path: epath.Path, value_type: pa.DataType, size: int | None) -> pa.Table:
    """`_parse` of a file's first `size` bytes (all if None).

    Local paths are read by pyarrow itself (memory-mapped when cut), others through epath.
    """
    local_path = os.fspath(path)
    if "://" not in local_path:
        if size is None:
            return _parse(local_path, value_type)
        with pa.memory_map(local_path) as mapped:
            return _parse(pa.BufferReader(mapped.read_buffer(size)), value_type)
    if size is not None:
        return _parse(pa.BufferReader(path.read_bytes()[:size]), value_type)
    with path.open("rb") as f:
        return _parse(f, value_type)


def _name_matrix(names: pa.BinaryArray) -> np.ndarray:
    """pyarrow binary -> (len, width) uint8, NUL-padded, width even.

    Row i viewed as bytes ('S<width>') is name i; viewed as big-endian uint16
    digits it sorts in the same order, which `_sorted_order` uses.
    """
    offsets, data = _offsets_and_data(names)
    lengths = np.diff(offsets)
    width = -(-max(int(lengths.max(initial=0)), 1) // 2) * 2
    matrix = np.zeros((len(names), width), np.uint8)
    matrix[np.arange(width) < lengths[:, None]] = data[offsets[0] : offsets[-1]]
    return matrix


def _offsets_and_data(names: pa.BinaryArray) -> tuple[np.ndarray, np.ndarray]:
    """The buffers of a binary array: (len + 1,) int32 offsets into (bytes,) uint8 data."""
    offsets = np.frombuffer(names.buffers()[1], np.int32, len(names) + 1, names.offset * 4)
    return offsets, np.frombuffer(names.buffers()[2] or b"", np.uint8)


def _as_bytes(names: np.ndarray) -> np.ndarray:
    """(num_rows, width) uint8 name matrix -> (num_rows,) 'S<width>' view."""
    return names.view(f"S{names.shape[1]}").reshape(-1)


def _to_str(names: np.ndarray, ascii_only: bool) -> np.ndarray:
    """(num_rows, width) uint8 name matrix -> (num_rows,) 'U' array of the names."""
    width = max(int(np.count_nonzero(names.any(axis=0))), 1)
    if ascii_only:  # bytes are code points, no decoding needed
        return names[:, :width].astype(np.uint32).view(f"U{width}").reshape(-1)
    return np.char.decode(_as_bytes(names), "utf-8")


# Checks.


def _check_readable(path: epath.Path) -> None:
    """Refuses a missing file, a folder or other non-file, an empty file and a Git LFS pointer."""
    local = "://" not in os.fspath(path)
    what = paths.not_a_file(path) if local else None
    if not local and path.is_dir():  # a remote path: only a folder is told apart
        what = "is a folder, not a file"
    if what not in (None, paths.MISSING):
        raise AnnotationError(
            f"{path} {what}; expected an ImageNet-PI CSV file there. Put the file itself in "
            "its place (a folder named like the file, as some unzipping tools make, holds it "
            "one level too deep)."
        )
    if not path.exists():
        raise AnnotationError(
            f"ImageNet-PI annotation file not found: {path}. The imagenet_pi builder downloads "
            f"the annotation CSVs from the upstream Git LFS URLs ({upstream.LFS_URL_ROOT}/"
            f"<config>/...). To provide them by hand, clone {UPSTREAM_REPO_URL} with Git LFS "
            "installed (`git lfs install`, then `git clone`) and put the clone (or its "
            "high_noise/ and low_noise/ folders) in manual_dir."
        )
    with path.open("rb") as f:
        head = f.read(len(upstream.LFS_POINTER_PREFIX))
    if not head:
        raise AnnotationError(f"{path} is empty; expected ImageNet-PI annotation rows.")
    if head == upstream.LFS_POINTER_PREFIX:
        raise AnnotationError(
            f"{path} is a Git LFS pointer, not the data: the clone was made without Git LFS. "
            "Run `git lfs install` and then `git lfs pull` in the clone of "
            f"{UPSTREAM_REPO_URL} to fetch the real files."
        )


def _check_label_range(labels: np.ndarray, path: PathLike) -> None:
    """Labels are class indices 0..999."""
    if labels.min(initial=0) >= 0 and labels.max(initial=0) < upstream.NUM_CLASSES:
        return
    bad = (labels < 0) | (labels >= upstream.NUM_CLASSES)
    row, column = np.argwhere(bad)[0]
    raise AnnotationError(
        f"{path}, line {row + 1}, annotator {column + 1}: label {labels[row, column]} is not a "
        f"class index in 0..{upstream.NUM_CLASSES - 1}."
    )


def _check_confidence_range(confidences: np.ndarray, path: PathLike) -> None:
    """Confidences are probabilities in [0, 1] (after rounding to float32); NaN fails."""
    if confidences.min(initial=0) >= 0 and confidences.max(initial=0) <= 1:
        return
    bad = ~((confidences >= 0) & (confidences <= 1))
    row, column = np.argwhere(bad)[0]
    fields = _read_line(epath.Path(path), row + 1).split(b",")
    raise AnnotationError(
        f"{path}, line {row + 1}, annotator {column + 1}: confidence {_show(fields[column + 1])} "
        "is not in [0, 1]."
    )


def _sorted_order(names: np.ndarray, path: PathLike) -> np.ndarray | None:
    """The permutation sorting a name matrix (None if already sorted); refuses duplicates."""
    as_bytes = _as_bytes(names)
    if np.all(as_bytes[1:] > as_bytes[:-1]):
        return None
    # numpy radix-sorts 16-bit keys: sorting by 2-byte digits, last first, is several
    # times faster than numpy's string sort.
    digits = names.view(">u2").astype(np.uint16).T[::-1].copy()
    order = np.lexsort(digits)
    del digits
    sorted_names = np.take(as_bytes, order)
    duplicates = np.flatnonzero(sorted_names[1:] == sorted_names[:-1])
    if duplicates.size:
        first, second = order[duplicates[0]], order[duplicates[0] + 1]
        raise AnnotationError(
            f"{path}: file name {_shown_name(as_bytes[first])!r} appears twice, on lines "
            f"{first + 1} and {second + 1}; each image must have one row."
        )
    return order


def _check_name_ends(names: pa.BinaryArray, path: PathLike) -> None:
    """Refuses file names (non-empty, file order) that start or end with ASCII whitespace.

    CSV readers keep a space or tab beside a comma as part of the field, so
    `n01440764_18.JPEG ,3,...` names another image. Two gathers of N bytes, about 7 ms for
    the 1.28M names of train: no measurable cost beside the parse.
    """
    offsets, data = _offsets_and_data(names)
    firsts, lasts = data[offsets[:-1]], data[offsets[1:] - 1]
    if firsts.min(initial=255) > _MAX_BLANK and lasts.min(initial=255) > _MAX_BLANK:
        return  # the usual case, decided by two comparisons that vectorise well
    blank = _IS_ASCII_BLANK[firsts] | _IS_ASCII_BLANK[lasts]
    if blank.any():
        row = int(np.argmax(blank))
        raise _blank_end_error(path, row + 1, names[row].as_py())


def _check_unicode_name_ends(file_names: np.ndarray, order: np.ndarray | None, path: PathLike):
    """Refuses sorted names starting or ending with any whitespace (`order`: rows in file order)."""
    stripped = np.char.strip(file_names)
    if np.array_equal(stripped, file_names):
        return
    index = int(np.argmax(stripped != file_names))
    row = index if order is None else int(order[index])
    raise _blank_end_error(path, row + 1, str(file_names[index]).encode("utf-8"))


def _blank_end_error(path: PathLike, line_number: int, name: bytes) -> AnnotationError:
    text = _shown_name(name)
    where = "starts with whitespace" if text[:1].isspace() else "ends with whitespace"
    return AnnotationError(
        f"{path}, line {line_number}: the file name {text!r} {where}; expected "
        "a name without, such as 'n01440764_18.JPEG'. A CSV reader keeps spaces and tabs "
        "beside a comma as part of the field, so this names no image: remove the whitespace "
        "around the file names (and write the file without spaces after its commas)."
    )


def _different_names_error(
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
            file_names = _to_str(matrix, ascii_only=False)
        except UnicodeDecodeError:
            return _not_utf8_error(path, matrix)
        _check_name_ends(names, path)
        _check_unicode_name_ends(file_names, None, path)
    (labels_csv, _, labels_matrix), (confidences_csv, _, confidences_matrix) = labels, confidences
    labels_bytes, confidences_bytes = _as_bytes(labels_matrix), _as_bytes(confidences_matrix)
    only_labels = np.setdiff1d(labels_bytes, confidences_bytes)
    only_confidences = np.setdiff1d(confidences_bytes, labels_bytes)
    by_letters = {_without_whitespace(name): name for name in only_confidences.tolist()}
    for name in only_labels.tolist():
        other = by_letters.get(_without_whitespace(name))
        if other is not None:
            labels_line = int(np.flatnonzero(labels_bytes == name)[0]) + 1
            confidences_line = int(np.flatnonzero(confidences_bytes == other)[0]) + 1
            return AnnotationError(
                f"{labels_csv}, line {labels_line}: the file name {_shown_name(name)!r} is "
                f"{_shown_name(other)!r} in {confidences_csv}, line {confidences_line}: the "
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


def _malformed_file_error(
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
        for lines in _line_blocks(f):
            block_end = position + sum(map(len, lines))
            if lines_before == 0 and lines[0].startswith(_UTF8_BOM):
                lines[0] = lines[0][len(_UTF8_BOM) :]
            if size is not None and block_end > size:  # leave out the blank lines at the end
                excess = block_end - size
                while excess > 0 and lines:
                    excess -= len(lines.pop())
            if not lines:
                break
            try:
                _parse(io.BytesIO(b"".join(lines)), value_type)
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
            _parse(io.BytesIO(b"".join(lines[:middle])), value_type)
            good = middle
        except pa.ArrowInvalid:
            bad = middle
    return bad - 1


def _line_blocks(f: BinaryIO) -> Iterator[list[bytes]]:
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
    hint = _separator_hint(line, _NUM_FIELDS)
    fields = line.split(b",")
    unmatched = [text for text in fields if text.startswith(_QUOTE) and _unquoted(text) is text]
    if unmatched:
        return (
            f": the field {_show(unmatched[0])} opens a quote it does not close: {_show(line)}. "
            "Quote whole fields, '\"n01440764_18.JPEG\"', or write the CSV without quotes."
        )
    if len(fields) != _NUM_FIELDS:
        return (
            f": expected {_NUM_FIELDS} comma-separated fields (a file name and "
            f"{upstream.NUM_ANNOTATORS} {kind}), found {len(fields)}: {_show(line)}.{hint}"
        )
    for column, text in enumerate(fields[1:], 1):
        # int64 for labels: a label such as 40000 is out of range, not unreadable.
        value = _parsed_value(text, pa.int64() if kind == "labels" else value_type)
        shown = _show(_unquoted(text))
        if value is None and kind == "labels":
            return f", annotator {column}: label {shown} is not an integer.{hint}"
        if value is None:
            return f", annotator {column}: confidence {shown} is not a number.{hint}"
        if kind == "labels" and not 0 <= value < upstream.NUM_CLASSES:
            return (
                f", annotator {column}: label {value} is not a class index in "
                f"0..{upstream.NUM_CLASSES - 1}."
            )
    return f": this line cannot be read as a CSV line: {_show(line)}.{hint}"


def _separator_hint(line: bytes, num_fields: int) -> str:
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


# Small helpers.


def _without_whitespace(name: bytes) -> str:
    return "".join(_shown_name(name).split())


def _take(array: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    # np.take along axis 0 copies rows several times faster than fancy indexing.
    return array if order is None else np.take(array, order, axis=0)


def _unquoted(text: bytes) -> bytes:
    """A CSV field without its surrounding quotes (doubled quotes inside undone), or as is."""
    if len(text) >= 2 and text.startswith(_QUOTE) and text.endswith(_QUOTE):
        return text[1:-1].replace(b'""', _QUOTE)
    return text


def _not_utf8_error(path: PathLike, names: np.ndarray) -> AnnotationError:
    """Names the first line whose file name is not UTF-8 (`names`: name matrix, file order)."""
    for line_number, name in enumerate(_as_bytes(names).tolist(), 1):
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            return AnnotationError(
                f"{path}, line {line_number}: the file name {name!r} is not UTF-8; "
                "ImageNet-PI names are ASCII, such as 'n01440764_18.JPEG'. The file was "
                "saved in another encoding or is damaged: download or pull it again."
            )
    raise AssertionError("every name decodes")  # only called after a decoding failure


def _read_line(path: epath.Path, line_number: int) -> bytes:
    """Line `line_number` (1-based) of a file without its line end, b"" past the end."""
    lines_before = 0
    with path.open("rb") as f:
        for lines in _line_blocks(f):
            if line_number <= lines_before + len(lines):
                return lines[line_number - lines_before - 1].rstrip(b"\r\n")
            lines_before += len(lines)
    return b""


def _shown_name(name: bytes) -> str:
    """A file name for a message, its bytes that are not UTF-8 as `\\xe9`."""
    return name.decode("utf-8", "backslashreplace")


def _show(text: bytes, limit: int = 200) -> str:
    """A bounded, quoted rendering of file content for an error message."""
    shown = text.decode("utf-8", "replace")
    return repr(shown if len(shown) <= limit else shown[:limit] + "...")


def _some_names(names: np.ndarray) -> str:
    if not len(names):
        return "none"
    shown = ", ".join(repr(_shown_name(name)) for name in names[:_MAX_NAMES_SHOWN].tolist())
    more = f" and {len(names) - _MAX_NAMES_SHOWN} more" if len(names) > _MAX_NAMES_SHOWN else ""
    return f"{len(names)} ({shown}{more})"
