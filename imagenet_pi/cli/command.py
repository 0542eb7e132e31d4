"""What each `imagenet-pi` command declares, for `imagenet_pi.cli.main` to parse and run it."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Command:
    """One subcommand of `imagenet-pi`, as its module declares it."""

    name: str  # as typed: `imagenet-pi <name>`
    help: str  # its line in `imagenet-pi --help`
    add_arguments: Callable[[argparse.ArgumentParser], None]  # its flags
    run: Callable[[argparse.Namespace], None]  # raises on bad input; main prints one line
    # Whether running it with these flags imports TensorFlow: main then holds back
    # TensorFlow's start-up lines (see `quiet`). Decided before anything is imported.
    uses_tensorflow: Callable[[argparse.Namespace], bool]
    description: str | None = None  # the text of `imagenet-pi <name> --help`, if not `help`
