"""TensorFlow's start-up lines and TFDS's chatter kept out of `imagenet-pi`'s output.

Nothing happens on import: `imagenet_pi.cli.main` calls `quiet_start_up` once it knows the
command, before anything imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator


class DropMessages(logging.Filter):
    """Drops log records whose message `pattern` finds (and keeps every other record)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


# What TFDS logs about itself whatever the data: a deprecation inside its own code
# (PartialDecoding reads FeatureConnector.dtype), a decoder recommendation, and its note that
# a version folder holds no finished build yet (the command says it, or builds it).
TFDS_CHATTER = re.compile(
    r"^`FeatureConnector\.dtype` is deprecated|^OpenCV is not installed"
    r"|^Variant folder .* has no dataset_info\.json$"
)
_TFDS_CHATTER_FILTER = DropMessages(TFDS_CHATTER)

# Lines TensorFlow's C++ start-up writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says (absl
# logs them before its logging is initialised): facts about the machine, not the data.
TENSORFLOW_START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cuda_platform|cuda_dnn|cuda_fft|cuda_blas"
    r"|cpu_feature_guard)\.cc:\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate"
)


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Holds back what anything (C++ included) writes to file descriptor 2 meanwhile, then
    writes it out without the lines `noise` matches."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not noise.match(line)))
            sys.stderr.flush()


def quiet_start_up(uses_tensorflow: bool) -> None:
    """Keeps TensorFlow's start-up chatter out of the command's output.

    Runs before anything imports TensorFlow (TF_CPP_MIN_LOG_LEVEL is read at import);
    `import imagenet_pi` itself changes nothing. TF_CPP_MIN_LOG_LEVEL defaults to 2
    (TensorFlow's INFO and WARNING lines hidden, errors kept); a user who sets it to 0
    sees everything, start-up lines and TFDS's chatter included. With `uses_tensorflow`
    (the command will load it), TensorFlow is loaded here, its start-up lines filtered out.
    """
    if "tensorflow" in sys.modules:  # called from Python after TensorFlow was loaded
        return
    if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2") == "0":
        return
    logging.getLogger("absl").addFilter(_TFDS_CHATTER_FILTER)  # once, however often called
    if uses_tensorflow:
        with filtered_stderr(TENSORFLOW_START_UP_NOISE):
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, not mid-report
