"""What every back end of `imagenet_pi.input_pipeline` makes: raw batches.

A raw batch of B examples, as numpy arrays (B = `RawOptions.local_batch_size`):

    image                   (B, size, size, 3) float32, preprocessed and normalised
    file_name               (B,) bytes, b"" on padding
    clean_label             (B,) int64
    annotator_labels        (B, 16) int
    annotator_confidences   (B, 16) float32
    annotator_features      (B, 16, 2) float32
    mask                    (B,) bool, False on padding
    epoch                   (B,) int64

Labels, PI, the output dtype and the device layout are made from it afterwards, in one
place for every back end (`input_pipeline.finish_batch`).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf
import tensorflow_datasets as tfds

from imagenet_pi import preprocessing

# The fields a pipeline reads from each example, besides the image.
ANNOTATION_KEYS = ("annotator_labels", "annotator_confidences", "annotator_features")
RECORD_KEYS = ("file_name", "clean_label", *ANNOTATION_KEYS)


@dataclasses.dataclass(frozen=True)
class RawOptions:
    """What shapes the raw batches, the same for every back end.

    Attributes:
      train: random crop and flip, shuffling, repetition; else centre crop, in order.
      local_batch_size: examples a batch of this process.
      image_size: side of the square images.
      normalise: a `preprocessing.normalise` name ("imagenet", ...).
      seed: seeds shuffling and each example's crop and flip.
    """

    train: bool
    local_batch_size: int
    image_size: int
    normalise: str
    seed: int


def decode_or_pad(
    features: tfds.features.FeaturesDict,
    record: tf.Tensor,
    seed: tf.Tensor,
    mask: tf.Tensor,
    options: RawOptions,
) -> dict[str, tf.Tensor]:
    """One serialized example -> its annotations and its preprocessed, normalised image;
    a padding record (`mask` False) -> zeros and an empty file name."""

    def decode() -> dict:
        parsed = features.deserialize_example(
            record, decoders={"image": tfds.decode.SkipDecoding()}
        )
        out = {key: parsed[key] for key in RECORD_KEYS}
        image = preprocessing.decode_and_resize(
            parsed["image"], seed, train=options.train, image_size=options.image_size
        )
        out["image"] = preprocessing.normalise_image(image, options.normalise)
        return out

    def padding() -> dict:
        out = {key: tf.zeros(features[key].shape, features[key].tf_dtype) for key in RECORD_KEYS}
        out["image"] = tf.zeros((options.image_size, options.image_size, 3), tf.float32)
        return out

    return tf.cond(mask, decode, padding)
