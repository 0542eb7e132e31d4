"""The `imagenet-pi` command."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

from imagenet_pi import upstream


def _add_sample_flags(parser: argparse.ArgumentParser, *, synsets: int, images: int, val: int):
    parser.add_argument("--synsets", type=int, default=synsets, help="number of train synsets")
    parser.add_argument(
        "--images-per-synset", type=int, default=images, help="train images per synset"
    )
    parser.add_argument("--validation", type=int, default=val, help="validation images")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--cmyk", type=int, default=0, help="CMYK JPEGs per split")
    parser.add_argument("--png", type=int, default=0, help="PNGs named .JPEG per split")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def _sample_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        num_synsets=args.synsets,
        images_per_synset=args.images_per_synset,
        num_validation=args.validation,
        image_size=args.image_size,
        num_cmyk=args.cmyk,
        num_png=args.png,
        seed=args.seed,
    )


def _fake_data(args: argparse.Namespace) -> None:
    from imagenet_pi import fake_data

    sample = fake_data.write_sample(args.out, configs=args.configs, **_sample_kwargs(args))
    print(
        f"Wrote {len(sample.train_file_names)} train and {len(sample.validation_file_names)} "
        f"validation images to {sample.train_tar} and {sample.val_tar}, and PI CSVs for "
        f"{', '.join(args.configs)} under {os.path.join(args.out, 'imagenet_pi')}."
    )


def _demo(args: argparse.Namespace) -> None:
    import numpy as np
    import tensorflow_datasets as tfds

    import imagenet_pi
    from imagenet_pi import fake_data

    tfds.disable_progress_bar()
    workdir = args.workdir or tempfile.mkdtemp(prefix="imagenet_pi_demo_")
    manual_dir = os.path.join(workdir, "manual")
    data_dir = os.path.join(workdir, "tensorflow_datasets")
    name = f"imagenet_pi/{args.config}"
    print(f"1. Synthetic ILSVRC2012 tars and ImageNet-PI CSVs -> {manual_dir}")
    fake_data.write_sample(manual_dir, configs=[args.config], **_sample_kwargs(args))
    print(f"2. Building {name} with the TFDS builder -> {data_dir}")
    builder = tfds.builder(name, data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
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
    image = builder.info.features["image"].decode_example_np(example["image"])
    features = imagenet_pi.annotator_features(builder)
    print(f"\n  One example: {example['file_name'].decode()}, image {image.shape} uint8")
    print(f"    clean_label            {example['clean_label']}")
    print(f"    annotator_labels       {example['annotator_labels'].tolist()}")
    confidences = np.array2string(example["annotator_confidences"], precision=2)
    print(f"    annotator_confidences  {confidences}")
    print(f"    annotator_features     {features.shape} float32, first row {features[0]}")
    print(f"\nDone. Dataset in {data_dir}.")


def _verify(args: argparse.Namespace) -> None:
    from imagenet_pi import archive_checks

    paths = {
        name: os.path.join(args.manual_dir, name) for name in (upstream.TRAIN_TAR, upstream.VAL_TAR)
    }
    present = {name: path for name, path in paths.items() if os.path.isfile(path)}
    if not present:
        raise FileNotFoundError(
            f"Neither {paths[upstream.TRAIN_TAR]} nor {paths[upstream.VAL_TAR]} exists. "
            "`verify` checks the ILSVRC2012 tars, the only form with official checksums; "
            "extracted folders and prepared datasets cannot be checked this way."
        )
    for name in paths.keys() - present.keys():
        print(f"{paths[name]}: not there, not checked.")
    for warning in archive_checks.size_warnings(present, log=False):
        print(f"Size: {warning}")
    for verdict in archive_checks.verify(present, progress=True, raise_on_mismatch=True):
        print(f"{verdict.path}: OK (sha256 {verdict.found_sha256})")


def _add_verify_command(commands) -> None:
    verify = commands.add_parser(
        "verify",
        help="check the ILSVRC2012 tars in a manual_dir against the official sizes and sha256",
    )
    verify.add_argument(
        "--manual_dir", "--manual-dir", required=True, help="the folder holding the tars"
    )
    verify.set_defaults(run=_verify)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `imagenet-pi` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="imagenet-pi", description="ImageNet-PI for TensorFlow Datasets and JAX."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="build imagenet_pi from a synthetic sample and load it (no ImageNet needed)"
    )
    demo.add_argument("--workdir", help="where to write the sample and the dataset (default: tmp)")
    demo.add_argument("--config", default="high_noise", choices=sorted(upstream.NOISE_LEVELS))
    _add_sample_flags(demo, synsets=10, images=8, val=40)
    demo.set_defaults(run=_demo)

    fake = commands.add_parser(
        "fake-data", help="write synthetic ILSVRC2012 tars and ImageNet-PI CSVs (a manual_dir)"
    )
    fake.add_argument("--out", required=True, help="the manual_dir to write")
    fake.add_argument(
        "--configs",
        nargs="+",
        default=sorted(upstream.NOISE_LEVELS),
        choices=sorted(upstream.NOISE_LEVELS),
        help="configs to write PI CSVs for",
    )
    _add_sample_flags(fake, synsets=10, images=5, val=20)
    fake.set_defaults(run=_fake_data)
    _add_verify_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `imagenet-pi` console script."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError) as error:
        # Bad input: the message says what to do; a traceback would bury it.
        print(f"imagenet-pi {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
