"""README.md as data: its fenced code blocks, their markers, headings and tables.

Shared by the tests/test_readme_*.py files. A ```python / ```sh / ```bash block must sit
right under one marker line (README, "Development"):

    <!-- run -->                 run by tests/test_readme_blocks.py in a prepared sandbox
    <!-- test: NAME -->          run by a dedicated test that names NAME
    <!-- not run: REASON -->     compiled and its flags / imagenet_pi names checked only
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")

# Languages whose blocks must be run or marked; blocks of other languages (or none:
# folder layouts, log output) are text.
PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console", "zsh"})
CODE_LANGUAGES = PYTHON_LANGUAGES | SHELL_LANGUAGES

_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
_MARKER = re.compile(
    r"^\s*<!--\s*(run|test:\s*(?P<name>[\w.-]+)|not run:\s*(?P<reason>.+?))\s*-->\s*$"
)


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # 1-based line of the opening fence
    language: str  # "" for a plain block
    code: str
    kind: str | None  # "run", "test", "not run", or None when unmarked
    name: str = ""  # the test name of a "test" block
    reason: str = ""  # why a "not run" block is not run

    @property
    def is_python(self) -> bool:
        return self.language in PYTHON_LANGUAGES

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES

    @property
    def label(self) -> str:
        """How a failure names the block: `README.md:LINE (```LANG)`."""
        return f"README.md:{self.line} (```{self.language})"


def read(readme: str = README) -> str:
    with open(readme, encoding="utf-8") as f:
        return f.read()


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block, in order, with the marker on the line right above it."""
    lines = (read() if text is None else text).splitlines()
    found = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        indent, ticks, language = fence.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        code = "\n".join(
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]
        )
        kind = name = reason = ""
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        if marker:
            kind = marker.group(1).split(":")[0].strip()
            name = marker.group("name") or ""
            reason = marker.group("reason") or ""
        found.append(Block(i + 1, language.lower(), code + "\n", kind or None, name, reason))
        i = end + 1
    return found


def code_blocks(text: str | None = None) -> list[Block]:
    """The ```python and shell blocks: those that must be run or marked."""
    return [block for block in blocks(text) if block.language in CODE_LANGUAGES]


def run_python_block(name: str, cwd: str | os.PathLike, **env: str):
    """Runs the ```python block marked `<!-- test: name -->` as a script in `cwd`, with
    `env` added to the environment; returns the `subprocess.CompletedProcess`."""
    (block,) = [block for block in code_blocks() if block.name == name and block.is_python]
    script = os.path.join(cwd, f"{name}.py")
    with open(script, "w", encoding="utf-8") as f:
        f.write(block.code)
    return subprocess.run(
        [sys.executable, script],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, **env},
    )


def prose_lines(text: str | None = None) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line outside fenced blocks."""
    lines = (read() if text is None else text).splitlines()
    inside = None
    prose = []
    for number, line in enumerate(lines, 1):
        fence = _FENCE.match(line)
        if inside is None and fence:
            inside = fence.group(2)
        elif inside is not None and line.strip().startswith(inside):
            inside = None
        elif inside is None:
            prose.append((number, line))
    return prose


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and '_'
    return text.replace(" ", "-")


def headings(text: str | None = None) -> list[tuple[int, int, str, str]]:
    """(line, level, title, anchor) of every heading; repeated anchors get -1, -2, ..."""
    seen: dict[str, int] = {}
    found = []
    for number, line in prose_lines(text):
        match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.append(
            (number, len(match.group(1)), match.group(2), slug if count == 0 else f"{slug}-{count}")
        )
    return found


def split_table_row(line: str) -> list[str]:
    """The cells of a Markdown table row; `\\|` and `|` inside backticks stay in the cell."""
    cells, cell, in_code, i = [], "", False, 0
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cell += "|"
            i += 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
        i += 1
    if cell.strip():
        cells.append(cell.strip())
    return cells


def tables(text: str | None = None) -> list[tuple[int, list[str], list[tuple[int, list[str]]]]]:
    """(line of the header, header cells, [(line, cells) of each body row]) of every table."""
    prose = prose_lines(text)
    found = []
    i = 0
    while i + 1 < len(prose):
        number, line = prose[i]
        separator = prose[i + 1][1]
        if line.lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{3,}", separator):
            header = split_table_row(line)
            rows = []
            i += 2
            while i < len(prose) and prose[i][1].lstrip().startswith("|"):
                rows.append((prose[i][0], split_table_row(prose[i][1])))
                i += 1
            found.append((number, header, rows))
        else:
            i += 1
    return found
