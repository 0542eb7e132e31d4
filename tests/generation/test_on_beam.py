"""The join on Apache Beam: its checks on the workers' claims and on what the runner wrote,
and join errors found in the text of a runner's error."""

from __future__ import annotations

import numpy as np
import pytest

from imagenet_pi import annotations
from imagenet_pi.generation import join, on_beam


def test_image_read_by_two_shards_is_reported_twice_in_shard_order():
    split_annotations = annotations.SplitAnnotations(
        file_names=np.array(["a.JPEG", "b.JPEG"]),
        labels=np.zeros((2, 16), np.int16),
        confidences=np.zeros((2, 16), np.float32),
    )
    shard_names = [(1, ["b.JPEG"]), (0, ["a.JPEG", "b.JPEG"])]
    with pytest.raises(join.JoinError, match="holds the image 'b.JPEG' twice"):
        on_beam.check_join(shard_names, split_annotations, "images.tar", "labels.csv")
    on_beam.check_join([(0, ["b.JPEG", "a.JPEG"])], split_annotations, "x", "y")


def test_examples_lost_by_the_runner_fail_the_build_naming_the_split():
    on_beam.check_written_sizes({"train": 12, "validation": 6}, {"train": 12, "validation": 6})
    with pytest.raises(on_beam.LostExamplesError, match="split 'train': 7 written, 12 joined"):
        on_beam.check_written_sizes({"train": 7, "validation": 6}, {"train": 12, "validation": 6})


# The text of the RuntimeError Beam 2.77's multi_processing DirectRunner raised when the
# join check failed on a worker (frames trimmed), from a copy of the package vendored
# under another name: the module path printed is not `imagenet_pi.generation.join`.
_WRAPPED_BY_THE_RUNNER = """\
Traceback (most recent call last):
  File "apache_beam/runners/common.py", line 1512, in apache_beam.runners.common.DoFnRunner.process
  File "/site-packages/apache_beam/transforms/core.py", line 2128, in <lambda>
    wrapper = lambda x: [fn(x)]
  File "/site-packages/_vendor/inpi/on_beam.py", line 170, in check_join_on_worker
    raise error.marked() from None
_vendor.inpi.join.JoinError: {marked}

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/site-packages/apache_beam/runners/worker/sdk_worker.py", line 310, in _execute
    response = task()
  File "apache_beam/runners/common.py", line 1602, in _reraise_augmented
_vendor.inpi.join.JoinError: {marked} [while running 'GenerateExamples/CheckJoin']
"""


def test_join_error_is_found_in_the_text_of_a_runner_error_by_its_marker():
    message = (
        "1 images of /data/ILSVRC2012_img_train.tar have no row in /pi/train.csv "
        "(first: n01440764_1.JPEG); 1 rows of /pi/train.csv have no image in "
        "/data/ILSVRC2012_img_train.tar (first: n99999999_1.JPEG). Nothing was written."
    )
    marked = str(join.JoinError(message).marked())
    wrapped = RuntimeError(_WRAPPED_BY_THE_RUNNER.format(marked=marked))
    found = on_beam.join_error_in(wrapped)
    assert isinstance(found, join.JoinError) and str(found) == message
    # Raised in this process (in-memory runners): the error itself.
    error = join.JoinError(message)
    assert on_beam.join_error_in(error) is error
    # Any other failure is not a join error, even if it names the class.
    other = RuntimeError(
        "imagenet_pi.generation.join.JoinError: not marked [while running 'CheckJoin']"
    )
    assert on_beam.join_error_in(other) is None
