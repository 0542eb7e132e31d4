"""PI for your own ILSVRC2012 pipeline: look annotations up by file name in tf.data.

For people who keep their own TFDS `imagenet2012` shards (or any tf.data pipeline
whose examples carry ILSVRC2012 file names): a `PiTable` holds one split's
annotations, and `attach_pi` adds them to each example with a
`tf.lookup.StaticHashTable` from file name to row and a gather.

    table = PiTable.from_csvs("imagenet_pi/high_noise", "train")  # a clone's folder
    ds = tfds.load("imagenet2012", split="train")
    ds = attach_pi(ds, table)  # + annotator_labels, _confidences, _features
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import annotations, built_datasets, damaged_builds, upstream


@dataclasses.dataclass(frozen=True, eq=False)
class PiTable:
    """The annotations of one split, row by row.

    Attributes:
      file_names: `(N,)` str, e.g. "n02097047_2079.JPEG".
      annotator_labels: `(N, 16) int64` class indices.
      annotator_confidences: `(N, 16) float32`.
      annotator_features: `(16, 2) float32`, the same for every example.
    """

    file_names: np.ndarray
    annotator_labels: np.ndarray
    annotator_confidences: np.ndarray
    annotator_features: np.ndarray

    @classmethod
    def from_annotations(
        cls, split_annotations: annotations.SplitAnnotations, annotator_features: np.ndarray
    ) -> PiTable:
        """From arrays `annotations` read."""
        return cls(
            file_names=split_annotations.file_names,
            annotator_labels=split_annotations.labels.astype(np.int64),
            annotator_confidences=split_annotations.confidences.astype(np.float32),
            annotator_features=np.asarray(annotator_features, np.float32),
        )

    @classmethod
    def from_csvs(cls, config_dir: str | os.PathLike, split: str) -> PiTable:
        """From the upstream CSVs of a config folder (e.g. a clone's `high_noise/`): fast."""
        return cls.from_annotations(
            annotations.read_split(config_dir, split),
            annotations.read_annotator_features(
                os.path.join(config_dir, upstream.ANNOTATOR_FEATURES_RELPATH)
            ),
        )

    @classmethod
    def from_builder(cls, builder: tfds.core.DatasetBuilder, split: str) -> PiTable:
        """From a built imagenet_pi split, TFRecord or array_record (reads every record,
        images included: slow on the full train split; prefer `from_csvs` when you have
        the CSVs).

        Raises:
          DamagedBuildError: a shard of the build is missing or damaged (names it).
        """
        damaged_builds.check_shard_files(builder)
        keys = ("file_name", "annotator_labels", "annotator_confidences")
        columns = {key: [] for key in keys}
        for batch in built_datasets.read_columns(builder, split, keys):
            for key in keys:
                columns[key].append(batch[key])
        names = np.concatenate(columns["file_name"]).astype(str)
        order = np.argsort(names, kind="stable")
        return cls(
            file_names=names[order],
            annotator_labels=np.concatenate(columns["annotator_labels"])[order],
            annotator_confidences=np.concatenate(columns["annotator_confidences"])[order],
            annotator_features=built_datasets.annotator_features_of(builder),
        )

    def __len__(self) -> int:
        return len(self.file_names)


def attach_pi(
    ds: tf.data.Dataset,
    table: PiTable,
    *,
    file_name_key: str = "file_name",
    missing: Literal["error", "drop"] = "error",
) -> tf.data.Dataset:
    """Adds the PI of each example of `ds` (dict examples with a file name).

    Adds `annotator_labels (16,) int64`, `annotator_confidences (16,) float32` and
    `annotator_features (16, 2) float32`, like the imagenet_pi builder's features.

    Args:
      ds: unbatched examples, dicts holding `file_name_key` (tf.string).
      table: the annotations of the split `ds` reads.
      file_name_key: the key of the file name (TFDS imagenet2012: "file_name").
      missing: "error" fails on an example without annotations (naming it);
        "drop" leaves such examples out.
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', got {missing!r}")
    rows = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(table.file_names.astype(bytes)),
            tf.range(len(table), dtype=tf.int64),
        ),
        default_value=-1,
    )
    labels = tf.constant(table.annotator_labels, tf.int64)
    confidences = tf.constant(table.annotator_confidences, tf.float32)
    features = tf.constant(table.annotator_features, tf.float32)

    def with_row(example):
        return example, rows.lookup(example[file_name_key])

    def check(example, row):
        message = tf.strings.join(
            [
                "no ImageNet-PI annotations for ",
                example[file_name_key],
                f" among the {len(table)} file names of the PiTable: is it the table of the "
                "split this dataset reads? (attach_pi(..., missing='drop') skips such examples)",
            ]
        )
        with tf.control_dependencies([tf.debugging.Assert(row >= 0, [message])]):
            return example, tf.identity(row)

    def add(example, row):
        return {
            **example,
            "annotator_labels": tf.gather(labels, row),
            "annotator_confidences": tf.gather(confidences, row),
            "annotator_features": features,
        }

    ds = ds.map(with_row, num_parallel_calls=tf.data.AUTOTUNE)
    if missing == "drop":
        ds = ds.filter(lambda example, row: row >= 0)
    else:
        ds = ds.map(check, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(add, num_parallel_calls=tf.data.AUTOTUNE)
