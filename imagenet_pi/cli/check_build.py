"""`imagenet-pi check-build`: a built dataset against the sha256 recorded when it was built."""

from __future__ import annotations

import argparse

from imagenet_pi.cli.command import Command


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--dataset", required=True, help="a built config, e.g. imagenet_pi/high_noise"
    )
    command.add_argument("--data-dir", "--data_dir", help="TFDS data_dir it was built in")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> None:
    from imagenet_pi import build_checks

    progress = None
    if not args.no_progress:
        from tqdm import tqdm as progress
    check = build_checks.check_build(args.dataset, args.data_dir, progress=progress)
    build_checks.raise_for_problems(check)
    print(
        f"{check.dataset} in {check.data_dir}: all {len(check.verdicts)} files match the "
        "sizes and sha256 recorded when it was built."
    )


COMMAND = Command(
    name="check-build",
    help="check every file of a built dataset against the sha256 recorded at build time",
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: True,
)
