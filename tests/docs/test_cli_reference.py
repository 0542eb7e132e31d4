"""docs/cli.md: generated from the real parser, and naming every `imagenet-pi` command.

The flags of each command are documented by sphinx-argparse from `cli.build_parser` when the
site is built (tests/docs/test_site.py); what is written by hand is the table of commands,
which must name each command once, and no other.
"""

from __future__ import annotations

import re

import doc_pages

from imagenet_pi import cli, internals

_PAGE = doc_pages.DOCS / "cli.md"


def _commands() -> set[str]:
    return set(internals.subcommand_parsers(cli.build_parser()))


def test_the_reference_is_generated_from_the_real_parser():
    text = _PAGE.read_text(encoding="utf-8")
    directive = re.search(r"\.\. argparse::\n((?:\s+:\w+: .*\n)+)", text)
    assert directive, "docs/cli.md has no sphinx-argparse directive"
    options = dict(re.findall(r":(\w+): (.*)", directive.group(1)))
    assert options == {"module": "imagenet_pi.cli", "func": "build_parser", "prog": "imagenet-pi"}
    assert callable(getattr(cli, options["func"]))


def test_the_table_of_commands_names_every_command_and_no_other():
    tables = [t for t in doc_pages.tables(_PAGE) if t.header and t.header[0] == "command"]
    assert len(tables) == 1, "docs/cli.md should hold one table of commands"
    listed = [cells[0].strip("`") for _, cells in tables[0].rows]
    commands = _commands()
    assert len(listed) == len(set(listed)), f"a command is listed twice: {listed}"
    assert set(listed) == commands, (
        f"docs/cli.md lists {sorted(listed)}; `imagenet-pi` has {sorted(commands)}: "
        "add a row for each command (what it does, the page that explains it), and no other"
    )


def test_every_command_is_shown_in_use_on_some_page():
    text = "\n".join(block.code for block in doc_pages.code_blocks() if block.is_shell)
    unused = sorted(c for c in _commands() if not re.search(rf"imagenet-pi {c}\b", text))
    assert not unused, f"no shell block of the docs runs `imagenet-pi {unused}`"
