"""`imagenet-pi demo`: build imagenet_pi from a synthetic sample and load it, in three steps.

Without `--workdir` the sample and the dataset go to a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from imagenet_pi import fake_data, upstream
from imagenet_pi.cli import arguments
from imagenet_pi.cli.command import Command

if TYPE_CHECKING:
    import numpy as np


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--workdir",
        type=arguments.folder_to_write,
        help="where to write the sample and the dataset (default: tmp)",
    )
    demo.add_argument("--config", default="high_noise", choices=sorted(upstream.NOISE_LEVELS))
    # One odd image a split: the demo shows the odd-image fix.
    arguments.add_sample_flags(demo, synsets=10, images=8, val=40, odd=1)


def run(args: argparse.Namespace) -> None:
    if args.workdir:
        _demo(args, args.workdir)
        print(f"\nDone. The sample and the dataset are kept in {args.workdir}.")
        return
    workdir = tempfile.mkdtemp(prefix="imagenet_pi_demo_")
    try:
        _demo(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nDone. Removed {workdir}; pass --workdir DIR to keep the sample and the dataset.")


def _demo(args: argparse.Namespace, workdir: str) -> None:
    import numpy as np
    import tensorflow_datasets as tfds
    from PIL import Image

    import imagenet_pi
    from imagenet_pi import build_identity

    tfds.disable_progress_bar()
    manual_dir = os.path.join(workdir, "manual")
    data_dir = os.path.join(workdir, "tensorflow_datasets")
    name = f"imagenet_pi/{args.config}"
    print(f"1. Synthetic ILSVRC2012 tars and ImageNet-PI CSVs -> {manual_dir}")
    fake_data.write_sample(manual_dir, configs=[args.config], **arguments.sample_kwargs(args))
    print(f"2. Building {name} with the TFDS builder -> {data_dir}")
    builder = tfds.builder(name, data_dir=data_dir)
    # TFDS's own "Downloading and preparing..." lines repeat step 2.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
            )
        except build_identity.BuildInputsError as error:  # an earlier run's, other flags
            raise build_identity.BuildInputsError(
                f"{workdir} holds a demo dataset built from another sample (other flags) in "
                f"{builder.data_path}, which is never rebuilt unasked: pass another --workdir, "
                f"or delete {workdir} first."
            ) from error
    print(f"3. Loading it with tfds.load({name!r}, data_dir=...)\n")
    splits = tfds.load(
        name,
        data_dir=data_dir,
        split=["train", "validation"],
        decoders={"image": tfds.decode.SkipDecoding()},  # JPEG bytes; decoded below for one
    )
    level = upstream.NOISE_LEVELS[args.config]
    for split, dataset in zip(["train", "validation"], splits):
        batch = next(iter(tfds.as_numpy(dataset.batch(1_000_000))))
        agreement = np.mean(batch["annotator_labels"] == batch["clean_label"][:, None])
        print(
            f"  {split:<10} {len(batch['file_name']):>6} examples; annotator labels agree "
            f"with the clean label {agreement:.1%} of the time (ImageNet-PI {args.config}: "
            f"{level.expected_agreement:.1%})"
        )
    example = next(iter(tfds.as_numpy(splits[0].take(1))))
    image = np.asarray(Image.open(io.BytesIO(example["image"])))  # as TFDS decodes it
    synset = builder.info.features["clean_label"].int2str(example["clean_label"])
    print(
        f"\n  One example: {example['file_name'].decode()}, image {image.shape} uint8, "
        f"clean_label {example['clean_label']} ({synset})"
    )
    print("\n".join(_privileged_information(example, imagenet_pi.annotator_features_of(builder))))


def _privileged_information(example: dict, annotator_features: np.ndarray) -> list[str]:
    """The PI of one example, a line an annotator: its label, confidence and features."""
    lines = ["    annotator  label  confidence  features (accuracy, log size)"]
    for annotator, (label, confidence, (accuracy, size)) in enumerate(
        zip(
            example["annotator_labels"],
            example["annotator_confidences"],
            annotator_features,
            strict=True,
        )
    ):
        lines.append(
            f"    {annotator:>9}  {label:>5}  {confidence:>10.3g}  {accuracy:>8.2f} {size:>9.2f}"
        )
    return lines


COMMAND = Command(
    name="demo",
    help="build imagenet_pi from a synthetic sample and load it (no ImageNet needed)",
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: True,
)
