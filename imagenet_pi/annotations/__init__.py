"""ImageNet-PI annotation CSVs -> validated numpy arrays.

Upstream ships, per config (`high_noise`, `low_noise`), one labels CSV and one
confidences CSV per split, rows `<file name>,<v1>,...,<v16>` without a header,
plus `annotator_features.csv` (16 rows of 2 floats). This package finds them, reads
them into numpy arrays sorted by file name, checks them, and writes files in the same
format (for synthetic data and re-sampled labels). One module a concern:

- `origins`: where a config's CSVs come from (a clone, a config folder, TFDS's flat
  layout, or the pinned download), and `releases`: the released files, pinned in
  checksums.tsv, and files identified as one of them; `download`: the download;
- `split_reader`: a split's two CSVs -> `SplitAnnotations` (`split_annotations`), over
  the format and parse of `csv_format`; `csv_diagnosis`: what is wrong with a bad file;
- `annotator_features`: `annotator_features.csv` read and written; `split_writer`: a
  split's CSVs written.

`from imagenet_pi import annotations` gives the reading and writing API below.
"""

from imagenet_pi.annotations.annotator_features import (
    read_annotator_features,
    write_annotator_features,
)
from imagenet_pi.annotations.csv_format import AnnotationError, PathLike
from imagenet_pi.annotations.split_annotations import SplitAnnotations
from imagenet_pi.annotations.split_reader import UPSTREAM_REPO_URL, read_split, read_split_files
from imagenet_pi.annotations.split_writer import write_split

__all__ = [
    "UPSTREAM_REPO_URL",
    "AnnotationError",
    "PathLike",
    "SplitAnnotations",
    "read_annotator_features",
    "read_split",
    "read_split_files",
    "write_annotator_features",
    "write_split",
]
