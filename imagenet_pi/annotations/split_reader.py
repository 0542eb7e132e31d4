"""A split's labels and confidences CSVs -> `SplitAnnotations`, every value checked.

Reading is one multithreaded pyarrow CSV parse per file with fixed column types;
all checks are vectorised. What CSV writers add is accepted at no cost, as CSV
readers accept it: a UTF-8 BOM, CRLF line ends and lone CRs, spaces and tabs around
numbers, fields quoted the standard way (`"n01440764_18.JPEG"`, as pandas or R write
them) and blank lines at the end. A file name that starts or ends with whitespace is
refused: a CSV reader keeps it, so it would name no image. Line numbers in error
messages are 1-based line numbers of the file, found again by a slow scan that
only runs on error (`csv_diagnosis`), and so does finding why two files list
different names.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from etils import epath

from imagenet_pi import paths, upstream
from imagenet_pi.annotations.csv_diagnosis import (
    check_name_ends,
    check_unicode_name_ends,
    different_names_error,
    malformed_file_error,
    not_utf8_error,
    read_line,
)
from imagenet_pi.annotations.csv_format import (
    BLANK,
    NAME_COLUMN,
    AnnotationError,
    PathLike,
    as_bytes,
    name_matrix,
    parse,
    show,
    shown_name,
    to_str,
)
from imagenet_pi.annotations.split_annotations import SplitAnnotations

UPSTREAM_REPO_URL = upstream.REPO_URL
# Blank lines at the end of a CSV are looked for in its last bytes only.
_TAIL_BYTES = 1 << 16


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
        check_readable(epath.Path(path))
    # The bigger file first, so pyarrow's buffers are released before numpy's grow.
    confidences_names, confidences = _read_values_csv(confidences_csv, "confidences")
    _check_confidence_range(confidences, confidences_csv)
    labels_names, labels = _read_values_csv(labels_csv, "labels")
    _check_label_range(labels, labels_csv)

    labels_array = labels_names.combine_chunks()
    names = name_matrix(labels_array)
    check_name_ends(labels_array, labels_csv)
    del labels_array  # the sort below peaks in memory
    order = _sorted_order(names, labels_csv)
    if labels_names.equals(confidences_names):  # Same rows in the same order: the usual case.
        confidences_order = order
    else:
        confidences_array = confidences_names.combine_chunks()
        other_names = name_matrix(confidences_array)
        confidences_order = _sorted_order(other_names, confidences_csv)
        if not np.array_equal(
            as_bytes(_take(names, order)), as_bytes(_take(other_names, confidences_order))
        ):
            raise different_names_error(
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
        file_names = to_str(sorted_names, ascii_only)
    except UnicodeDecodeError:
        raise not_utf8_error(labels_csv, names) from None
    if not ascii_only:  # whitespace beyond ASCII: a no-break space, ...
        check_unicode_name_ends(file_names, order, labels_csv)
    return SplitAnnotations(file_names=file_names, labels=labels, confidences=confidences)


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
        raise malformed_file_error(path, kind, parse_type, error, content_size) from None
    if table.num_rows == 0:
        raise AnnotationError(f"{path} has no rows.")

    names = table.column(NAME_COLUMN)
    values = np.empty((table.num_rows, upstream.NUM_ANNOTATORS), dtype)
    batches = table.drop_columns([NAME_COLUMN]).to_batches()
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


def _content_size(path: epath.Path) -> int | None:
    """The size of a CSV without the blank lines at its end, or None if it has none.

    Reads the last `_TAIL_BYTES` only: a file ending in more blank lines than that
    is left whole, and its first blank line is reported as malformed.
    """
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read()
    content = tail.rstrip(BLANK)
    blanks = tail[len(content) :]
    breaks = [i for i in (blanks.find(b"\r"), blanks.find(b"\n")) if i >= 0]
    if not content or not breaks:
        return None
    # The last line keeps its own line break (and any spaces before it).
    line_end = len(content) + min(breaks)
    line_end += 2 if tail[line_end : line_end + 2] == b"\r\n" else 1
    return size - len(tail) + line_end if line_end < len(tail) else None


def _parse_file(path: epath.Path, value_type: pa.DataType, size: int | None) -> pa.Table:
    """`parse` of a file's first `size` bytes (all if None).

    Local paths are read by pyarrow itself (memory-mapped when cut), others through epath.
    """
    local_path = os.fspath(path)
    if "://" not in local_path:
        if size is None:
            return parse(local_path, value_type)
        with pa.memory_map(local_path) as mapped:
            return parse(pa.BufferReader(mapped.read_buffer(size)), value_type)
    if size is not None:
        return parse(pa.BufferReader(path.read_bytes()[:size]), value_type)
    with path.open("rb") as f:
        return parse(f, value_type)


def check_readable(path: epath.Path) -> None:
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
    fields = read_line(epath.Path(path), row + 1).split(b",")
    raise AnnotationError(
        f"{path}, line {row + 1}, annotator {column + 1}: confidence {show(fields[column + 1])} "
        "is not in [0, 1]."
    )


def _sorted_order(names: np.ndarray, path: PathLike) -> np.ndarray | None:
    """The permutation sorting a name matrix (None if already sorted); refuses duplicates."""
    name_bytes = as_bytes(names)
    if np.all(name_bytes[1:] > name_bytes[:-1]):
        return None
    # numpy radix-sorts 16-bit keys: sorting by 2-byte digits, last first, is several
    # times faster than numpy's string sort.
    digits = names.view(">u2").astype(np.uint16).T[::-1].copy()
    order = np.lexsort(digits)
    del digits
    sorted_names = np.take(name_bytes, order)
    duplicates = np.flatnonzero(sorted_names[1:] == sorted_names[:-1])
    if duplicates.size:
        first, second = order[duplicates[0]], order[duplicates[0] + 1]
        raise AnnotationError(
            f"{path}: file name {shown_name(name_bytes[first])!r} appears twice, on lines "
            f"{first + 1} and {second + 1}; each image must have one row."
        )
    return order


def _take(array: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    # np.take along axis 0 copies rows several times faster than fancy indexing.
    return array if order is None else np.take(array, order, axis=0)
