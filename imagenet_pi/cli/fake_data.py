"""`imagenet-pi fake-data`: synthetic ILSVRC2012 tars and ImageNet-PI CSVs (a manual_dir)."""

from __future__ import annotations

import argparse
import os
import shlex

from imagenet_pi import fake_data, upstream
from imagenet_pi.cli import arguments
from imagenet_pi.cli.command import Command


def add_arguments(fake: argparse.ArgumentParser) -> None:
    fake.add_argument(
        "--out", required=True, type=arguments.folder_to_write, help="the manual_dir to write"
    )
    fake.add_argument(
        "--configs",
        nargs="+",
        default=sorted(upstream.NOISE_LEVELS),
        choices=sorted(upstream.NOISE_LEVELS),
        help="configs to write PI CSVs for",
    )
    arguments.add_sample_flags(fake, synsets=10, images=5, val=20)


def run(args: argparse.Namespace) -> None:
    sample = fake_data.write_sample(args.out, configs=args.configs, **arguments.sample_kwargs(args))
    print(
        f"Wrote {len(sample.train_file_names)} train and {len(sample.validation_file_names)} "
        f"validation images to {sample.train_tar} and {sample.val_tar}, and PI CSVs for "
        f"{', '.join(args.configs)} under {os.path.join(args.out, 'imagenet_pi')}."
    )
    # A data_dir of the sample's own keeps its builds apart from those of the real dataset.
    print("Build it next:")
    for config in args.configs:
        print(f"  {next_build_command(config, args.out)}")


def next_build_command(config: str, out: str) -> str:
    """The `tfds build` command that builds `config` from the sample written to `out`."""
    out = os.path.abspath(out)
    data_dir = os.path.join(out, "tensorflow_datasets")
    return (
        f"tfds build imagenet_pi/{config} --imports imagenet_pi --manual_dir {shlex.quote(out)} "
        f"--data_dir {shlex.quote(data_dir)}"
    )


COMMAND = Command(
    name="fake-data",
    help="write synthetic ILSVRC2012 tars and ImageNet-PI CSVs (a manual_dir)",
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: False,
)
