"""README.md's "Command-line reference" names every `imagenet-pi` command and flag, and no other."""

from __future__ import annotations

import argparse
import re

import readme_doc

from imagenet_pi import cli, internals

_FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def _commands() -> dict[str, list[argparse.Action]]:
    """Each subcommand of `imagenet-pi` -> its optional arguments (help left out)."""
    return {
        name: [each for each in internals.parser_actions(parser) if each.option_strings]
        for name, parser in internals.subcommand_parsers(cli.build_parser()).items()
    }


def _documented_flags() -> dict[str, tuple[int, set[str]]]:
    """command -> (README line, the flags its rows of a `| command | ... | flags |` table name)."""
    documented: dict[str, tuple[int, set[str]]] = {}
    for _, header, rows in readme_doc.tables():
        if not header or header[0] != "command" or header[-1] != "flags":
            continue
        for line, cells in rows:
            command = cells[0].strip("`")
            flags = set(_FLAG.findall(cells[-1]))
            previous_line, previous = documented.get(command, (line, set()))
            documented[command] = (previous_line, previous | flags)
    return documented


def test_every_command_and_flag_is_documented_and_exists():
    commands, documented = _commands(), _documented_flags()
    problems = []
    for command, actions in commands.items():
        if command not in documented:
            problems.append(f"`imagenet-pi {command}` has no row in the Command-line reference")
            continue
        line, flags = documented[command]
        for action in actions:
            if not flags & set(action.option_strings):
                problems.append(
                    f"README.md:{line}: `imagenet-pi {command}` takes {action.option_strings[-1]}"
                    f" ({action.help or 'no help'}), which the Command-line reference omits"
                )
        known = {flag for action in actions for flag in action.option_strings}
        problems += [
            f"README.md:{line}: `imagenet-pi {command}` has no flag {flag}"
            for flag in sorted(flags - known)
        ]
    problems += [
        f"README.md:{line}: the Command-line reference documents `{command}`, "
        "which `imagenet-pi` does not have"
        for command, (line, _) in documented.items()
        if command not in commands
    ]
    assert not problems, "\n".join(problems)
