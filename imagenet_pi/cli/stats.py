"""`imagenet-pi stats`: the noise report of a built config or of a folder of PI CSVs."""

from __future__ import annotations

import argparse
import os

from imagenet_pi import upstream
from imagenet_pi.cli import arguments
from imagenet_pi.cli.command import Command


def add_arguments(command: argparse.ArgumentParser) -> None:
    from imagenet_pi import stats

    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a built config, e.g. imagenet_pi/high_noise")
    source.add_argument(
        "--annotations", help="a config folder of PI CSVs (upstream layout), no build needed"
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir of --dataset")
    command.add_argument(
        "--splits", nargs="+", default=list(upstream.SPLITS), choices=upstream.SPLITS
    )
    command.add_argument(
        "--out",
        type=arguments.folder_to_write,
        help="write report.md, report.json and PNG plots here",
    )
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument(
        "--top",
        type=arguments.int_in(0),
        default=stats.TOP_CONFUSIONS,
        help=f"confusions to list (>= 0; default {stats.TOP_CONFUSIONS})",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> None:
    import json

    from imagenet_pi import stats, stats_rendering

    if args.annotations:
        source = stats.from_annotations_dir(args.annotations, args.splits)
    else:
        source = stats.from_built_dataset(
            args.dataset, args.data_dir, args.splits, progress=not args.no_progress
        )
    result = stats.report(source, top_confusions=args.top)
    if args.out:
        written = stats_rendering.write_report(result, args.out)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(stats_rendering.format_text(result))
    if args.out:
        print(f"\nWrote {', '.join(os.path.basename(path) for path in written)} to {args.out}.")


COMMAND = Command(
    name="stats",
    help="agreement, confidences, confusions and noise transitions of a config, with plots",
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: bool(args.dataset),  # a built dataset is read with TFDS
)
