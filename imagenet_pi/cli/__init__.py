"""The `imagenet-pi` command: parse, quiet TensorFlow's start-up, run, say errors in one line.

`main` is the console script's entry point (`imagenet_pi.cli:main`; `python -m
imagenet_pi.cli` runs it too). Each command is a module of this package that declares a
`Command`: its flags, what it runs and whether it loads TensorFlow. `arguments` holds the
flag types and the flags commands share; `quiet` the filtering of TensorFlow's start-up.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from collections.abc import Sequence

from imagenet_pi import errors
from imagenet_pi.cli import check_build, demo, fake_data, predict, quiet, relabel, stats, verify
from imagenet_pi.cli.command import Command

# In the order of `imagenet-pi --help`.
COMMANDS: tuple[Command, ...] = (
    demo.COMMAND,
    fake_data.COMMAND,
    verify.COMMAND,
    check_build.COMMAND,
    relabel.COMMAND,
    predict.COMMAND,
    stats.COMMAND,
)
_COMMAND_OF_NAME = {command.name: command for command in COMMANDS}


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser of `imagenet-pi`, and the parser of each command by name."""
    parser = argparse.ArgumentParser(
        prog="imagenet-pi", description="ImageNet-PI for TensorFlow Datasets, JAX and PyTorch."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    command_parsers = {}
    for command in COMMANDS:
        command_parser = subparsers.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
        command_parsers[command.name] = command_parser
    return parser, command_parsers


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `imagenet-pi` and all its subcommands."""
    return _parsers()[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `imagenet-pi` console script."""
    parser, command_parsers = _parsers()
    args = parser.parse_args(argv)
    if hasattr(args, "check_flags"):  # checks between flags, after each flag's own
        # The command's own parser, so that the usage error carries its usage line.
        args.check_flags(command_parsers[args.command], args)
    quiet.quiet_start_up(_COMMAND_OF_NAME[args.command].uses_tensorflow(args))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_show_warning, args.command)
            args.run(args)
    except (errors.ImagenetPiError, ValueError, FileNotFoundError) as error:
        # Bad input: the message says what to do; a traceback would bury it.
        print(f"imagenet-pi {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _show_warning(command: str, message, category, filename, lineno, file=None, line=None):
    """A warning of this package as one line, `imagenet-pi <command>: warning: ...`; other
    libraries' warnings as Python shows them."""
    if category.__module__.split(".")[0] == "imagenet_pi":
        print(f"imagenet-pi {command}: warning: {message}", file=file or sys.stderr)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning
