"""How the builder's array_record shards are written: uncompressed, one record a chunk.

TFDS writes array_record files with `group_size:1` and array_record's default
compression, zstd level 3. An ImageNet-PI record is almost all JPEG bytes, which
zstd cannot shrink (uncompressed files come out the same size, a few bytes smaller),
yet every random read then pays a zstd decompression and every write a compression.
The shards are written with `group_size:1,uncompressed` instead (one record per
chunk, so random access stays one read); every array_record reader
(`tfds.data_source`, grain, `ArrayRecordDataSource`) reads either kind, because the
options are stored in the file. TFDS calls `write_array_record` for every shard through
`tfds_internals.ExampleWriter`; TFRecord and other formats go through TFDS unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

ARRAY_RECORD_OPTIONS = "group_size:1,uncompressed"


def write_array_record(path: os.PathLike | str, records: Iterable[bytes]) -> None:
    """Writes `records` (serialized examples, in order) to the array_record file `path`."""
    from array_record.python import array_record_module

    writer = array_record_module.ArrayRecordWriter(os.fspath(path), ARRAY_RECORD_OPTIONS)
    try:
        for record in records:
            writer.write(record)
    finally:
        writer.close()
