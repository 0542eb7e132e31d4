"""`imagenet-pi predict`: the keras.applications annotator models over a built split."""

from __future__ import annotations

import argparse
import os

from imagenet_pi import upstream
from imagenet_pi.cli import arguments
from imagenet_pi.cli.command import Command


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--split", required=True, choices=upstream.SPLITS)
    command.add_argument(
        "--out",
        required=True,
        type=arguments.folder_to_write,
        help="predictions folder; gets <out>/<split>/",
    )
    command.add_argument(
        "--dataset",
        default="imagenet2012",
        help="a built TFDS dataset with image and file_name: imagenet2012 or imagenet_pi/<config>",
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir it was built in")
    command.add_argument(
        "--models",
        nargs="+",
        default=list(upstream.ANNOTATOR_MODELS),
        choices=upstream.ANNOTATOR_MODELS,
        metavar="MODEL",
        help="keras.applications models (default: upstream's 16)",
    )
    command.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (Keras' ImageNet weights, downloaded into its cache ~/.keras/models "
        "before any model runs), 'none' (random), or a weights file",
    )
    # Defaults are annotator_models' own; importing it here would load Keras for every command.
    command.add_argument(
        "--batch-size", type=arguments.int_in(1), help="images per model call (>= 1; default 32)"
    )
    command.add_argument(
        "--input-size",
        type=arguments.int_in(32),
        help="one input side for every model (default: each model's own, 224 or 299); "
        "each chosen model must take it: >= 32, >= 75 for InceptionV3 and InceptionResNetV2, "
        ">= 71 for Xception, and with --weights imagenet only the sides of those weights "
        "(checked before any model runs)",
    )
    command.add_argument(
        "--crop-fraction",
        type=arguments.float_in(0, 1, low_open=True),
        help="central crop of the shorter side, in (0, 1] (default 0.875)",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")
    command.set_defaults(check_flags=_check_input_size)


def _check_input_size(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exits with a usage error if a chosen model does not take --input-size."""
    # No Keras: the check runs before TensorFlow loads.
    from imagenet_pi.relabelling import annotator_model_specs

    try:
        annotator_model_specs.check_input_size(
            args.models, args.input_size, imagenet_weights=args.weights == "imagenet"
        )
    except ValueError as error:
        parser.error(f"argument --input-size: {error}")


def run(args: argparse.Namespace) -> None:
    import tensorflow_datasets as tfds

    from imagenet_pi import annotator_models, built_datasets

    tfds.disable_progress_bar()
    builder = built_datasets.open_built(args.dataset, args.data_dir)
    if args.split not in builder.info.splits:
        raise ValueError(
            f"{args.dataset}: expected a split in {sorted(builder.info.splits)}, "
            f"found {args.split!r}"
        )
    images = builder.as_dataset(
        split=args.split,
        shuffle_files=False,  # every model must see the images in the same order
        decoders={"image": tfds.decode.SkipDecoding()},  # decoded and cropped per model
    )
    out = os.path.join(args.out, args.split)
    options = {"batch_size": args.batch_size, "crop_fraction": args.crop_fraction}
    paths = annotator_models.predict_split(
        images,
        out,
        args.models,
        weights=None if args.weights == "none" else args.weights,
        input_size=args.input_size,
        progress=not args.no_progress,
        **{name: value for name, value in options.items() if value is not None},
    )
    print(f"Wrote predictions of {len(paths)} models over {args.dataset} {args.split} to {out}.")


COMMAND = Command(
    name="predict",
    help="run the keras.applications annotator models over a built split (resumable)",
    description=(
        "Writes <out>/<split>/file_names.txt, <Model>.npy (N, 1000) probabilities, "
        "clean_labels.npy and parameter_counts.json: the input of `imagenet-pi relabel`. "
        "Models already complete in the folder are skipped."
    ),
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: True,
)
