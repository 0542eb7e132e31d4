"""Image file names as `str`, whatever held them.

TFDS and tf.data give file names as bytes, numpy as `np.bytes_`/`np.str_` scalars or 0-d
arrays, eager TensorFlow as string tensors; CSVs, messages and `file_names.txt` want `str`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_str(name: Any) -> str:
    """`name` as a `str`: bytes are decoded as UTF-8; tensors and numpy scalars unwrapped."""
    if type(name) is str:  # the common case first: millions of CSV rows come through here
        return name
    if isinstance(name, bytes):
        return name.decode("utf-8")
    name = name.numpy() if hasattr(name, "numpy") else name
    name = name.item() if isinstance(name, np.ndarray | np.generic) else name
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)
