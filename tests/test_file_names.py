"""File names as str, from every container the project meets them in."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from imagenet_pi import file_names

NAME = "n01440764_10026.JPEG"


@pytest.mark.parametrize(
    "held",
    [
        NAME,
        NAME.encode(),
        np.bytes_(NAME.encode()),
        np.str_(NAME),
        np.array(NAME.encode()),
        np.array([NAME], dtype=object)[0],
        tf.constant(NAME),
    ],
    ids=["str", "bytes", "np.bytes_", "np.str_", "0-d array", "object item", "tf string"],
)
def test_every_holder_gives_the_plain_str(held):
    name = file_names.as_str(held)
    assert type(name) is str and name == NAME


def test_non_ascii_bytes_are_decoded_as_utf8():
    assert file_names.as_str("écureuil.JPEG".encode()) == "écureuil.JPEG"
