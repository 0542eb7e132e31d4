"""`imagenet-pi relabel`: annotator labels at any beta from predictions, as a config folder."""

from __future__ import annotations

import argparse
import os

from imagenet_pi import upstream
from imagenet_pi.cli import arguments
from imagenet_pi.cli.command import Command


def add_arguments(command: argparse.ArgumentParser) -> None:
    from imagenet_pi.relabelling import parallel_sampling

    command.add_argument("--predictions", required=True, help="folder of <split>/ predictions")
    command.add_argument(
        "--beta",
        required=True,
        type=arguments.float_in(0, low_open=True),
        help="Gamma rate, > 0; E[T] = 1/beta (0.1 high_noise)",
    )
    command.add_argument(
        "--seed", required=True, type=arguments.int_in(0), help="random seed (int >= 0)"
    )
    command.add_argument(
        "--out", required=True, type=arguments.folder_to_write, help="the config folder to write"
    )
    command.add_argument(
        "--splits", nargs="+", default=list(upstream.SPLITS), choices=upstream.SPLITS
    )
    command.add_argument(
        "--from-logits", action="store_true", help="the .npy files hold logits, not probabilities"
    )
    command.add_argument(
        "--annotator-features",
        help="annotator_features.csv (or a config folder holding one) to copy instead of "
        "computing them from accuracy and parameter counts",
    )
    command.add_argument(
        "--accuracy-split",
        default="validation",
        choices=upstream.SPLITS,
        help="split whose clean_labels.npy measures each model's accuracy",
    )
    command.add_argument(
        "--models",
        nargs=upstream.NUM_ANNOTATORS,
        default=list(upstream.ANNOTATOR_MODELS),
        metavar="MODEL",
        help="the 16 <Model>.npy names, in column order (default: upstream's 16 models)",
    )
    command.add_argument(
        "--chunk-size",
        type=arguments.int_in(1),
        default=parallel_sampling.DEFAULT_CHUNK_ROWS,
        help="rows relabelled at a time (>= 1)",
    )
    command.add_argument(
        "--num-workers",
        type=arguments.int_in(1),
        default=None,
        help="processes (>= 1; default: all cores)",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> None:
    import json

    from imagenet_pi import annotations, custom_configs, relabelled_configs
    from imagenet_pi.annotations import origins

    features = None
    if args.annotator_features:
        features = annotations.read_annotator_features(args.annotator_features)
    relabelled_configs.relabel_config(
        args.predictions,
        args.out,
        args.beta,
        args.seed,
        splits=args.splits,
        models=args.models,
        from_logits=args.from_logits,
        annotator_features=features,
        accuracy_split=args.accuracy_split,
        chunk_size=args.chunk_size,
        num_workers=args.num_workers,
        progress=not args.no_progress,
    )
    out = os.path.abspath(args.out)
    print(f"Wrote {', '.join(args.splits)} labels and confidences to {out}.")
    if set(args.splits) != set(upstream.SPLITS):
        print(f"The builder needs every split {upstream.SPLITS}: relabel the others too.")
    try:
        # The name custom_config derives: beta, seed and the digest of what was written.
        name = custom_configs.custom_config(out).name
    except origins.AnnotationFilesError:
        return  # a split is missing: nothing to build yet
    config = json.dumps({"name": name, "beta": args.beta, "annotations_dir": out})
    print(
        f"Config name {name} (beta {args.beta:g}, seed {args.seed}, annotations sha256 "
        f"{name.rsplit('_', 1)[-1]}...). Build it:\n"
        f"  tfds build imagenet_pi --imports imagenet_pi --config '{config}' "
        "--manual_dir <ILSVRC2012 dir> [--data_dir D]\n"
        f"or in Python: tfds.builder('imagenet_pi', config=imagenet_pi.custom_config({out!r}))."
        f"\nLoad it: tfds.load('imagenet_pi/{name}', data_dir=D)."
    )


COMMAND = Command(
    name="relabel",
    help="draw annotator labels at any beta from predictions; writes a config folder",
    description=(
        "Relabels predictions (written by `imagenet-pi predict`: <DIR>/<split>/"
        "file_names.txt and <Model>.npy) with T ~ Gamma(1, rate=beta) and writes "
        "labels/, confidences/, annotator_features.csv and relabel.json to --out."
    ),
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: False,
)
