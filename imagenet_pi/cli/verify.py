"""`imagenet-pi verify`: the ILSVRC2012 tars of a manual_dir against their official sha256."""

from __future__ import annotations

import argparse
import os

from imagenet_pi import upstream
from imagenet_pi.cli.command import Command


def add_arguments(verify: argparse.ArgumentParser) -> None:
    verify.add_argument(
        "--manual_dir", "--manual-dir", required=True, help="the folder holding the tars"
    )


def run(args: argparse.Namespace) -> None:
    from imagenet_pi.ilsvrc import verification

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
    for warning in verification.size_warnings(present, log=False):
        print(f"Size: {warning}")
    for verdict in verification.verify(present, progress=True, raise_on_mismatch=True):
        print(f"{verdict.path}: OK (sha256 {verdict.found_sha256})")


COMMAND = Command(
    name="verify",
    help="check the ILSVRC2012 tars in a manual_dir against the official sizes and sha256",
    add_arguments=add_arguments,
    run=run,
    uses_tensorflow=lambda args: False,
)
