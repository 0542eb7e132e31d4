"""The upstream CSV format as this package parses it, and the error of every annotation file.

A split's labels or confidences CSV holds, per image, a row `<file name>,<v1>,...,<v16>`
without a header. Each file is one multithreaded pyarrow parse with fixed column types:
the names as binary, the 16 values as `int16` labels or `float64` confidences. File names
are then held as a NUL-padded byte matrix, so that they sort and compare vectorised.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from imagenet_pi import errors, upstream

PathLike = str | os.PathLike
NAME_COLUMN = "file_name"
VALUE_COLUMNS = tuple(f"annotator_{i}" for i in range(upstream.NUM_ANNOTATORS))
NUM_FIELDS = 1 + upstream.NUM_ANNOTATORS
UTF8_BOM = b"\xef\xbb\xbf"
QUOTE = b'"'
BLANK = b" \t\r\n"


class AnnotationError(errors.ImagenetPiError, ValueError):
    """An ImageNet-PI annotation file is missing, incomplete or malformed."""


def parse(source: str | io.IOBase | BinaryIO | pa.NativeFile, value_type: pa.DataType) -> pa.Table:
    """One multithreaded pyarrow parse: a binary name column and 16 value columns."""
    return pa_csv.read_csv(
        source,
        read_options=pa_csv.ReadOptions(column_names=(NAME_COLUMN, *VALUE_COLUMNS)),
        # Blank lines are kept, so row i is line i + 1 (file names hold no line breaks,
        # quoted or not). Quoting costs pyarrow nothing measurable on unquoted files.
        parse_options=pa_csv.ParseOptions(quote_char='"', ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={NAME_COLUMN: pa.binary(), **dict.fromkeys(VALUE_COLUMNS, value_type)},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def name_matrix(names: pa.BinaryArray) -> np.ndarray:
    """pyarrow binary -> (len, width) uint8, NUL-padded, width even.

    Row i viewed as bytes ('S<width>') is name i; viewed as big-endian uint16
    digits it sorts in the same order, which `_sorted_order` uses.
    """
    offsets, data = offsets_and_data(names)
    lengths = np.diff(offsets)
    width = -(-max(int(lengths.max(initial=0)), 1) // 2) * 2
    matrix = np.zeros((len(names), width), np.uint8)
    matrix[np.arange(width) < lengths[:, None]] = data[offsets[0] : offsets[-1]]
    return matrix


def offsets_and_data(names: pa.BinaryArray) -> tuple[np.ndarray, np.ndarray]:
    """The buffers of a binary array: (len + 1,) int32 offsets into (bytes,) uint8 data."""
    offsets = np.frombuffer(names.buffers()[1], np.int32, len(names) + 1, names.offset * 4)
    return offsets, np.frombuffer(names.buffers()[2] or b"", np.uint8)


def as_bytes(names: np.ndarray) -> np.ndarray:
    """(num_rows, width) uint8 name matrix -> (num_rows,) 'S<width>' view."""
    return names.view(f"S{names.shape[1]}").reshape(-1)


def to_str(names: np.ndarray, ascii_only: bool) -> np.ndarray:
    """(num_rows, width) uint8 name matrix -> (num_rows,) 'U' array of the names."""
    width = max(int(np.count_nonzero(names.any(axis=0))), 1)
    if ascii_only:  # bytes are code points, no decoding needed
        return names[:, :width].astype(np.uint32).view(f"U{width}").reshape(-1)
    return np.char.decode(as_bytes(names), "utf-8")


def unquoted(text: bytes) -> bytes:
    """A CSV field without its surrounding quotes (doubled quotes inside undone), or as is."""
    if len(text) >= 2 and text.startswith(QUOTE) and text.endswith(QUOTE):
        return text[1:-1].replace(b'""', QUOTE)
    return text


def shown_name(name: bytes) -> str:
    """A file name for a message, its bytes that are not UTF-8 as `\\xe9`."""
    return name.decode("utf-8", "backslashreplace")


def show(text: bytes, limit: int = 200) -> str:
    """A bounded, quoted rendering of file content for an error message."""
    shown = text.decode("utf-8", "replace")
    return repr(shown if len(shown) <= limit else shown[:limit] + "...")
