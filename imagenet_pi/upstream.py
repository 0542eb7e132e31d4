"""Facts about the upstream ImageNet-PI and ILSVRC2012 releases.

Everything here is reference data read from the public releases: file layout,
URLs, sizes, noise levels and the agreement figures the paper reports.
"""

from __future__ import annotations

import dataclasses

NUM_ANNOTATORS = 16
NUM_CLASSES = 1000
NUM_ANNOTATOR_FEATURES = 2  # (normalised accuracy, normalised log parameter count)

SPLITS = ("train", "validation")
NUM_EXAMPLES = {"train": 1_281_167, "validation": 50_000}

# The 16 `tf.keras.applications` models that relabelled ILSVRC2012. Upstream
# does not state that CSV column i is the i-th model of this list.
ANNOTATOR_MODELS = (
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "InceptionResNetV2",
    "InceptionV3",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "NASNetMobile",
    "VGG16",
    "VGG19",
    "Xception",
)

# The one spelling of the upstream repository; the README names it in prose.
REPOSITORY = "google-research-datasets/imagenet_pi"
REPO_URL = f"https://github.com/{REPOSITORY}"
# Git LFS objects of branch main, served over HTTPS: `<LFS_URL_ROOT>/<config>/<relpath>`.
LFS_URL_ROOT = f"https://media.githubusercontent.com/media/{REPOSITORY}/main"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"


@dataclasses.dataclass(frozen=True)
class NoiseLevel:
    """One released version of ImageNet-PI."""

    name: str
    beta: float  # rate of the Gamma(1, beta) temperature: E[T] = 1 / beta
    expected_agreement: float  # fraction of annotator labels equal to the clean label
    legacy_name: str  # folder name before upstream renamed it


NOISE_LEVELS = {
    "high_noise": NoiseLevel("high_noise", 0.1, 0.162, "more_label_noise"),
    "low_noise": NoiseLevel("low_noise", 0.5, 0.519, "less_label_noise"),
}


def csv_relpath(kind: str, split: str) -> str:
    """Path of a per-split CSV inside a config folder, e.g. `labels/train.csv`."""
    if kind not in ("labels", "confidences"):
        raise ValueError(f"kind must be 'labels' or 'confidences', got {kind!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return f"{kind}/{split}.csv"


# The same file (632 bytes, one sha256) in both released configs.
ANNOTATOR_FEATURES_RELPATH = "annotator_features.csv"


def split_csv_relpaths() -> list[str]:
    """The four per-split CSVs of a config: `labels/train.csv`, ..., `confidences/validation.csv`.

    TFDS's own `imagenet_pi` builder (1.0.0) reads exactly these, straight from the
    manual_dir (`<manual_dir>/labels/train.csv`, ...), with no config folder and no
    annotator_features.csv.
    """
    return [csv_relpath(kind, split) for kind in ("labels", "confidences") for split in SPLITS]


def config_relpaths() -> list[str]:
    """Every file of one config folder in the upstream layout."""
    return [*split_csv_relpaths(), ANNOTATOR_FEATURES_RELPATH]


def lfs_url(config: str, relpath: str, root: str = LFS_URL_ROOT) -> str:
    """The upstream LFS URL of one file of a released config (under another `root`: a mirror)."""
    return f"{root}/{config}/{relpath}"


# ILSVRC2012, downloaded by hand from image-net.org.
TRAIN_TAR = "ILSVRC2012_img_train.tar"
VAL_TAR = "ILSVRC2012_img_val.tar"
ILSVRC_TAR_SIZES = {TRAIN_TAR: 147_897_477_120, VAL_TAR: 6_744_924_160}
ILSVRC_TAR_SHA256 = {
    TRAIN_TAR: "b08200a27a8e34218a0e58fde36b0fe8f73bc377f4acea2d91602057c3ca45bb",
    VAL_TAR: "c7e06a6c0baccf06d8dbeb6577d71efff84673a5dbdd50633ab44f8ea0456ae0",
}
