"""How the builder writes its shards: TFDS's writer, with array_record left uncompressed.

TFDS writes array_record files with `group_size:1` and array_record's default
compression, zstd level 3. An ImageNet-PI record is almost all JPEG bytes, which
zstd cannot shrink (uncompressed files come out the same size, a few bytes smaller),
yet every random read then pays a zstd decompression and every write a compression.
`ExampleWriter` writes array_record with `group_size:1,uncompressed` instead (one
record per chunk, so random access stays one read); every array_record reader
(`tfds.data_source`, grain, `ArrayRecordDataSource`) reads either kind, because
the options are stored in the file. TFRecord and other formats go through TFDS
unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from tensorflow_datasets.core import file_adapters
from tensorflow_datasets.core import writer as tfds_writer

ARRAY_RECORD_OPTIONS = "group_size:1,uncompressed"


class ExampleWriter(tfds_writer.ExampleWriter):
    """TFDS's `ExampleWriter` (the builder's `_example_writer` hook) with uncompressed
    array_record shards."""

    def write(self, path: os.PathLike | str, examples: Iterable[tuple[object, bytes]]):
        """Writes `(key, serialized example)` pairs to the shard at `path`."""
        if self.file_format != file_adapters.FileFormat.ARRAY_RECORD:
            return super().write(path, examples)
        from array_record.python import array_record_module

        writer = array_record_module.ArrayRecordWriter(os.fspath(path), ARRAY_RECORD_OPTIONS)
        try:
            for _, serialized in examples:
                writer.write(serialized)
        finally:
            writer.close()
        return None
