"""The JAX iterator over the shared builds (the `builds` fixture), for the tests of
`input_pipeline` and of its back ends in `pipelines`."""

from __future__ import annotations

import numpy as np

from imagenet_pi import fake_data

NAME = "imagenet_pi/high_noise"
NUM_TRAIN = fake_data.SMALL_SAMPLE["num_synsets"] * fake_data.SMALL_SAMPLE["images_per_synset"]
IMAGE_SIZE = 32  # output images: small, so that tests stay fast


def iterator(builds, backend, **kwargs):
    """`input_pipeline.make_iterator` over the build of `backend`: batches of 8, file names on."""
    from imagenet_pi import input_pipeline  # imports TensorFlow: when a test runs, not before

    kwargs = {"global_batch_size": 8, "image_size": IMAGE_SIZE, "with_file_names": True, **kwargs}
    return input_pipeline.make_iterator(NAME, backend=backend, data_dir=builds[backend], **kwargs)


def take(iterator, num_batches):
    """The next `num_batches` batches of `iterator`."""
    return [next(iterator) for _ in range(num_batches)]


def file_names(batch) -> list[str]:
    """The file names of a batch, in order (padding: "")."""
    return [name.decode() for name in np.asarray(batch["file_name"]).ravel().tolist()]
