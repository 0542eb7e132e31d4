"""ILSVRC2012 as the user downloaded it by hand -> image records, part by part.

One module a concern:

- `records`: `ImageRecord`, `IlsvrcError`, the `Part` protocol, and the checks every
  record passes (UTF-8 name, JPEG not cut short, odd images fixed, synset);
- `tar_reader`: tars read without trusting them (offsets, slices, where a tar ends);
- `tars`, `folders`, `prepared`: the layouts (the two tars; extracted folders and the
  Kaggle copy; a TFDS-prepared `imagenet2012`), each cut into parts;
- `layouts`: which layout a manual_dir holds (`detect_layout`), and `iter_split`;
- `verification`: the tars against their official sizes and sha256;
- `image_fixes`: CMYK and PNG images found by content, re-encoded as RGB JPEG.

The names below are the ones the rest of the package uses.
"""

from imagenet_pi.ilsvrc.folders import FolderLayout
from imagenet_pi.ilsvrc.layouts import (
    KAGGLE_ROOT,
    LAYOUT_KINDS,
    Layout,
    LayoutKind,
    detect_layout,
    iter_split,
)
from imagenet_pi.ilsvrc.prepared import PreparedImagenet2012Layout, find_prepared_imagenet2012
from imagenet_pi.ilsvrc.records import IlsvrcError, ImageRecord, Part
from imagenet_pi.ilsvrc.tars import TarLayout

__all__ = [
    "KAGGLE_ROOT",
    "LAYOUT_KINDS",
    "FolderLayout",
    "IlsvrcError",
    "ImageRecord",
    "Layout",
    "LayoutKind",
    "Part",
    "PreparedImagenet2012Layout",
    "TarLayout",
    "detect_layout",
    "find_prepared_imagenet2012",
    "iter_split",
]
