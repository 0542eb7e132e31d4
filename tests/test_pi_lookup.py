"""PI for one's own ILSVRC2012 tf.data pipeline, looked up by file name."""

from __future__ import annotations

import jax_batches
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import ilsvrc, pi_lookup

_NAME = jax_batches.NAME


def test_attach_pi_adds_annotations_to_an_imagenet2012_style_pipeline(small_sample, builds):
    manual_dir, _ = small_sample
    records = list(ilsvrc.iter_split(ilsvrc.detect_layout(manual_dir), "train"))
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "image": [r.image for r in records],
            "file_name": [r.file_name for r in records],
            "label": [0] * len(records),
        }
    )
    table = pi_lookup.PiTable.from_csvs(f"{manual_dir}/imagenet_pi/high_noise", "train")
    from_build = pi_lookup.PiTable.from_builder(
        tfds.builder(_NAME, data_dir=builds["tfdata"]), "train"
    )
    np.testing.assert_array_equal(table.file_names, from_build.file_names)
    np.testing.assert_array_equal(table.annotator_labels, from_build.annotator_labels)
    examples = list(pi_lookup.attach_pi(ds, table).as_numpy_iterator())
    assert len(examples) == len(records)
    for example in examples:
        row = int(np.flatnonzero(table.file_names == example["file_name"].decode())[0])
        np.testing.assert_array_equal(example["annotator_labels"], table.annotator_labels[row])
        np.testing.assert_array_equal(
            example["annotator_confidences"], table.annotator_confidences[row]
        )
        assert example["annotator_features"].shape == (16, 2)


def test_attach_pi_names_an_unknown_file_or_drops_it(small_sample):
    manual_dir, _ = small_sample
    table = pi_lookup.PiTable.from_csvs(f"{manual_dir}/imagenet_pi/high_noise", "train")
    names = [table.file_names[0], "n99999999_1.JPEG"]
    ds = tf.data.Dataset.from_tensor_slices({"file_name": names})
    kept = list(pi_lookup.attach_pi(ds, table, missing="drop").as_numpy_iterator())
    assert [example["file_name"].decode() for example in kept] == [table.file_names[0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="n99999999_1.JPEG"):
        list(pi_lookup.attach_pi(ds, table).as_numpy_iterator())
