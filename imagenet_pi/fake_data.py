"""Synthetic ILSVRC2012 archives and ImageNet-PI annotations, for tests, demo and benchmarks.

The output has the real shapes: `ILSVRC2012_img_train.tar` holding one tar per
synset (`n01440764.tar` holding `n01440764_<k>.JPEG`), a flat
`ILSVRC2012_img_val.tar` of `ILSVRC2012_val_<8 digits>.JPEG`, and PI CSVs in the
upstream layout (`<config>/labels/<split>.csv`, `<config>/confidences/<split>.csv`,
`<config>/annotator_features.csv`) whose labels come from the real relabelling
process applied to synthetic annotator models.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import tarfile
import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from imagenet_pi import annotations, relabel, synsets, upstream
from imagenet_pi.ilsvrc import verification
from imagenet_pi.relabelling import annotator_feature_table

# A sample that builds in seconds yet spans several synsets: the tests' default.
SMALL_SAMPLE = dict(num_synsets=4, images_per_synset=3, num_validation=6, image_size=32)

# Valid ranges of the sample's sizes (the `imagenet-pi fake-data` flags use them too).
# Train image numbers are drawn without repetition from 1..20000.
MAX_IMAGES_PER_SYNSET = 20_000
MAX_VALIDATION = 50_000  # the official ground truth gives the synsets of 50,000 images
# Sides are drawn in [0.75, 1] x image_size: 2 is the least that gives 1 pixel; 4096 keeps
# an image's float64 noise (~400 MB) in memory.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 2, 4096


def int_range(low: int, high: int | None = None) -> str:
    """How messages name the integers in `low..high` (no upper bound if None)."""
    return f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """`value` if it is an int in `low..high` (no upper bound if None); else ValueError."""
    valid = int_range(low, high)
    in_range = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not (in_range and low <= value and (high is None or value <= high)):
        raise ValueError(f"{name}: expected {valid}, found {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class FakeIlsvrc:
    """What `write_ilsvrc_tars` wrote."""

    train_tar: str
    val_tar: str
    train_file_names: list[str]  # in archive order
    train_synsets: list[str]  # synset of each train image
    validation_file_names: list[str]
    odd_images: dict[str, str]  # file name -> "cmyk" | "png"

    @property
    def train_clean_labels(self) -> np.ndarray:
        """`(num_train,) int64` class indices."""
        return np.array([synsets.class_index(s) for s in self.train_synsets], np.int64)

    @property
    def validation_clean_labels(self) -> np.ndarray:
        """`(num_validation,) int64` class indices from the official ground truth."""
        return synsets.validation_class_indices(self.validation_file_names)


def pick_synsets(num_synsets: int) -> list[str]:
    """`num_synsets` real synset ids spread evenly over the 1000 classes."""
    check_int("num_synsets", num_synsets, 1, upstream.NUM_CLASSES)
    indices = np.linspace(0, upstream.NUM_CLASSES - 1, num_synsets).round().astype(int)
    return [synsets.synsets()[i] for i in indices]


def encode_image(
    rng: np.random.Generator, size: int, image_format: str = "jpeg", quality: int = 90
) -> bytes:
    """A random image of about `size` x `size` pixels, encoded.

    `image_format` is "jpeg" (RGB), "cmyk" (a CMYK JPEG) or "png" (RGB PNG).
    Smooth gradients plus noise: `noise` controls how large the JPEG is, so that
    benchmarks can produce ImageNet-sized files (~110 kB at 400 px).
    """
    check_int("image_size", size, MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
    check_int("quality", quality, 0, 100)  # PIL's JPEG quality scale
    height = int(size * rng.uniform(0.75, 1.0))
    width = int(size * rng.uniform(0.75, 1.0))
    base = rng.integers(0, 256, size=(1, 1, 3))
    ramp = np.linspace(0, 1, width)[None, :, None] * rng.integers(-128, 128, size=(1, 1, 3))
    noise = rng.normal(0, 40, size=(height, width, 3))
    pixels = np.clip(base + ramp + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=quality)
    elif image_format == "cmyk":
        image.convert("CMYK").save(buffer, format="JPEG", quality=quality)
    elif image_format == "png":
        image.save(buffer, format="PNG")
    else:
        raise ValueError(f"image_format must be jpeg, cmyk or png, got {image_format!r}")
    return buffer.getvalue()


def _add_member(tar: tarfile.TarFile, name: str, payload: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    # Whole seconds: a float mtime would add a PAX header per member, which the real
    # (GNU tar) archives do not have and which changes how a damaged tar reads.
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(payload))


def tar_members(archive: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    """The members of a tar (its bytes) with their data (b"" for links and folders)."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar]


def tar_bytes(members: Sequence[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A tar (GNU format, like the real archives) of `(header, data)` pairs, sizes set from data.

    With `tar_members`, tests edit archives: move, replace or link members.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if info.isfile():
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def write_ilsvrc_tars(
    out_dir: str | os.PathLike,
    *,
    num_synsets: int = 10,
    images_per_synset: int = 5,
    num_validation: int = 20,
    image_size: int = 48,
    num_cmyk: int = 0,
    num_png: int = 0,
    seed: int = 0,
) -> FakeIlsvrc:
    """Writes `ILSVRC2012_img_train.tar` and `ILSVRC2012_img_val.tar` into `out_dir`.

    `num_cmyk` train and validation images are CMYK JPEGs and `num_png` are PNGs,
    all under ordinary `.JPEG` names, like the odd images of the real release. The tars
    are recorded as a synthetic sample beside them (`verification.SYNTHETIC_SAMPLE_FILE`),
    so that building from them does not warn that they are not the official tars.

    Raises:
      ValueError: a size out of its range (the message names the argument and the range),
        or `out_dir` is a file.
    """
    check_int("num_synsets", num_synsets, 1, upstream.NUM_CLASSES)
    check_int("images_per_synset", images_per_synset, 1, MAX_IMAGES_PER_SYNSET)
    check_int("num_validation", num_validation, 1, MAX_VALIDATION)
    check_int("image_size", image_size, MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
    check_int("seed", seed, 0)
    check_int("num_cmyk", num_cmyk, 0)
    check_int("num_png", num_png, 0)
    # The first images of each split are the odd ones: both splits must have that many.
    smaller_split = min(num_synsets * images_per_synset, num_validation)
    if num_cmyk + num_png > smaller_split:
        raise ValueError(
            f"num_cmyk + num_png: expected at most {smaller_split} (the images of the smaller "
            f"split, each split gets that many odd images), found {num_cmyk + num_png}"
        )
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(
            f"out_dir: expected a folder to write the tars into, found a file: {out_dir}"
        )
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    mtime = time.time()
    chosen = pick_synsets(num_synsets)
    odd_formats = ["cmyk"] * num_cmyk + ["png"] * num_png

    train_names: list[str] = []
    train_synsets: list[str] = []
    odd_images: dict[str, str] = {}
    train_tar = os.path.join(out_dir, upstream.TRAIN_TAR)
    with tarfile.open(train_tar, "w") as outer:
        for synset_index, synset in enumerate(chosen):
            numbers = np.sort(rng.choice(20_000, size=images_per_synset, replace=False) + 1)
            inner_buffer = io.BytesIO()
            with tarfile.open(fileobj=inner_buffer, mode="w") as inner:
                for k, number in enumerate(numbers):
                    name = f"{synset}_{number}.JPEG"
                    position = synset_index * images_per_synset + k
                    image_format = odd_formats[position] if position < len(odd_formats) else "jpeg"
                    if image_format != "jpeg":
                        odd_images[name] = image_format
                    _add_member(inner, name, encode_image(rng, image_size, image_format), mtime)
                    train_names.append(name)
                    train_synsets.append(synset)
            _add_member(outer, f"{synset}.tar", inner_buffer.getvalue(), mtime)

    validation_names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, num_validation + 1)]
    val_tar = os.path.join(out_dir, upstream.VAL_TAR)
    with tarfile.open(val_tar, "w") as tar:
        for position, name in enumerate(validation_names):
            image_format = odd_formats[position] if position < len(odd_formats) else "jpeg"
            if image_format != "jpeg":
                odd_images[name] = image_format
            _add_member(tar, name, encode_image(rng, image_size, image_format), mtime)
    verification.record_synthetic_sample([train_tar, val_tar])

    return FakeIlsvrc(
        train_tar=train_tar,
        val_tar=val_tar,
        train_file_names=train_names,
        train_synsets=train_synsets,
        validation_file_names=validation_names,
        odd_images=odd_images,
    )


def synthetic_annotator_accuracies(num_annotators: int = upstream.NUM_ANNOTATORS) -> np.ndarray:
    """Top-1 accuracies of the synthetic annotator models, `(num_annotators,) float64`."""
    return np.linspace(0.55, 0.85, num_annotators)


def annotator_parameter_counts(num_annotators: int = upstream.NUM_ANNOTATORS) -> np.ndarray:
    """Parameter counts of the synthetic annotator models, `(num_annotators,) float64`."""
    # Shuffled, so that size and accuracy are not the same feature.
    counts = np.geomspace(2.5e6, 1.4e8, num_annotators)
    return counts[np.random.default_rng(16).permutation(num_annotators)]


def annotator_probabilities(
    clean_labels: np.ndarray, annotator: int, seed: int, num_annotators: int
) -> np.ndarray:
    """Predictive distributions of one synthetic annotator model.

    The model puts, on average, its accuracy's worth of mass on the clean class
    and spreads the rest over random classes, like an overconfident classifier.

    Returns:
      `(len(clean_labels), 1000) float64` rows summing to 1.
    """
    rng = np.random.default_rng([seed, annotator])
    accuracy = synthetic_annotator_accuracies(num_annotators)[annotator]
    num = len(clean_labels)
    logits = rng.normal(0.0, 1.5, size=(num, upstream.NUM_CLASSES))
    # The logit boost that gives the clean class about `accuracy` of the mass.
    boost = np.log(accuracy / (1 - accuracy) * upstream.NUM_CLASSES) + rng.normal(1.0, 1.5, num)
    logits[np.arange(num), clean_labels] += boost
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


def fake_annotations(
    clean_labels: np.ndarray,
    beta: float,
    seed: int,
    num_annotators: int = upstream.NUM_ANNOTATORS,
) -> tuple[np.ndarray, np.ndarray]:
    """Annotator labels and confidences from the real relabelling process.

    Returns:
      labels `(n, num_annotators) int16`, confidences `(n, num_annotators) float32`.
    """
    clean_labels = np.asarray(clean_labels)
    labels = np.empty((len(clean_labels), num_annotators), np.int16)
    confidences = np.empty((len(clean_labels), num_annotators), np.float32)
    for annotator in range(num_annotators):
        probs = annotator_probabilities(clean_labels, annotator, seed, num_annotators)
        labels[:, annotator], confidences[:, annotator] = relabel.relabel(
            probs, beta=beta, seed=seed, annotator=annotator
        )
    return labels, confidences


def write_annotations(
    config_dir: str | os.PathLike,
    split_file_names: dict[str, Sequence[str]],
    split_clean_labels: dict[str, np.ndarray],
    *,
    beta: float,
    seed: int = 0,
) -> None:
    """Writes PI CSVs in the upstream layout for the given splits into `config_dir`."""
    for split_index, (split, file_names) in enumerate(split_file_names.items()):
        labels, confidences = fake_annotations(
            split_clean_labels[split], beta=beta, seed=seed * 1000 + split_index
        )
        annotations.write_split(config_dir, split, list(file_names), labels, confidences)
    features = annotator_feature_table.annotator_features_from_accuracy(
        synthetic_annotator_accuracies(), annotator_parameter_counts()
    )
    annotations.write_annotator_features(config_dir, features)


def write_sample(
    manual_dir: str | os.PathLike,
    *,
    configs: Sequence[str] = tuple(upstream.NOISE_LEVELS),
    seed: int = 0,
    **tar_kwargs,
) -> FakeIlsvrc:
    """A whole synthetic `manual_dir`: both ILSVRC2012 tars and a PI folder per config.

    The PI CSVs go to `<manual_dir>/imagenet_pi/<config>/`, where a clone of the
    upstream repository would be.
    """
    for config in configs:
        if config not in upstream.NOISE_LEVELS:
            raise ValueError(
                f"configs: expected names among {sorted(upstream.NOISE_LEVELS)}, found {config!r}"
            )
    sample = write_ilsvrc_tars(manual_dir, seed=seed, **tar_kwargs)
    for config in configs:
        write_annotations(
            os.path.join(manual_dir, "imagenet_pi", config),
            {"train": sample.train_file_names, "validation": sample.validation_file_names},
            {"train": sample.train_clean_labels, "validation": sample.validation_clean_labels},
            beta=upstream.NOISE_LEVELS[config].beta,
            seed=seed,
        )
    return sample


# Layouts `extract_to_folders` writes (see ilsvrc.LAYOUT_KINDS for how they are found).
FOLDER_LAYOUTS = ("val_flat", "val_synsets", "kaggle")


def extract_to_folders(
    sample: FakeIlsvrc, out_dir: str | os.PathLike, layout: str = "val_flat"
) -> str:
    """Extracts the tars of `sample` into `out_dir` as people hold ILSVRC2012 extracted.

    Layouts: "val_flat" (`train/<synset>/*.JPEG`, `val/*.JPEG`), "val_synsets"
    (`val/<synset>/*.JPEG`, synset from the official ground truth) and "kaggle"
    (`ILSVRC/Data/CLS-LOC/{train/<synset>,val}/`). The bytes are the archive's, odd
    images included. The PI CSVs beside the tars (`imagenet_pi/`) are copied along.

    Returns:
      `out_dir`, a manual_dir.
    """
    if layout not in FOLDER_LAYOUTS:
        raise ValueError(f"layout must be one of {FOLDER_LAYOUTS}, got {layout!r}")
    out_dir = os.fspath(out_dir)
    root = os.path.join(out_dir, "ILSVRC", "Data", "CLS-LOC") if layout == "kaggle" else out_dir
    with tarfile.open(sample.train_tar) as outer:
        for synset_member in outer:
            synset = synset_member.name[: -len(".tar")]
            synset_dir = os.path.join(root, "train", synset)
            os.makedirs(synset_dir, exist_ok=True)
            with tarfile.open(fileobj=outer.extractfile(synset_member)) as inner:
                for member in inner:
                    _write_file(synset_dir, member.name, inner.extractfile(member).read())
    with tarfile.open(sample.val_tar) as tar:
        for member in tar:
            val_dir = os.path.join(root, "val")
            if layout == "val_synsets":
                val_dir = os.path.join(val_dir, synsets.validation_synset(member.name))
            _write_file(val_dir, member.name, tar.extractfile(member).read())
    annotations_dir = os.path.join(os.path.dirname(sample.train_tar), "imagenet_pi")
    if os.path.isdir(annotations_dir):
        shutil.copytree(annotations_dir, os.path.join(out_dir, "imagenet_pi"))
    return out_dir


def _write_file(folder: str, name: str, payload: bytes) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(payload)


def prepare_imagenet2012(sample: FakeIlsvrc, out_dir: str | os.PathLike) -> str:
    """Builds TFDS's own `imagenet2012` from the tars of `sample`, placed as a user would.

    The dataset is prepared with TFDS's builder into `<out_dir>/imagenet2012/<version>/`
    (so `out_dir` is a manual_dir) and the PI CSVs beside the tars are copied along.
    TFDS converts odd images by a list of real names only, so the synthetic ones stay
    as they are in the tars.

    Returns:
      The version folder.
    """
    import tensorflow_datasets as tfds

    out_dir = os.fspath(out_dir)
    manual_dir = os.path.dirname(sample.train_tar)
    builder = tfds.builder("imagenet2012", data_dir=out_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    annotations_dir = os.path.join(manual_dir, "imagenet_pi")
    if os.path.isdir(annotations_dir):
        shutil.copytree(annotations_dir, os.path.join(out_dir, "imagenet_pi"))
    return os.fspath(builder.data_dir)
