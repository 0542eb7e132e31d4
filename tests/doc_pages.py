"""The Markdown pages of the project as data: their code blocks, markers, tables, headings
and links. Shared by the tests of tests/docs/.

The pages are README.md, CONTRIBUTING.md, CHANGELOG.md and every docs/**/*.md. A
```python / ```sh / ```bash block must sit right under one marker line (CONTRIBUTING.md,
"The doc tests"):

    <!-- run -->                 run in a prepared sandbox (tests/docs/test_code_blocks.py)
    <!-- test: NAME -->          run by a dedicated test that names NAME
    <!-- not run: REASON -->     compiled and its flags / imagenet_pi names checked only

Code blocks are found by Sybil's Markdown lexer and become Sybil examples, whose evaluator
is the one the caller gives for their marker. Tables, headings and links are parsed with
markdown-it (the parser MyST uses, GitHub's table rules), and anchors are made with MyST's
GitHub-style slugs, so that what is checked here is what GitHub and the site show.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable, Mapping

from markdown_it import MarkdownIt
from myst_parser.mdit_to_docutils.base import default_slugify
from sybil import Document, Example, Region
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Languages whose blocks must be run or marked; blocks of other languages (or none:
# folder layouts, log output, MyST directives such as {toctree}) are text.
PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console", "zsh"})
CODE_LANGUAGES = PYTHON_LANGUAGES | SHELL_LANGUAGES

_MARKER = re.compile(
    r"^\s*<!--\s*(run|test:\s*(?P<name>[\w.-]+)|not run:\s*(?P<reason>.+?))\s*-->\s*$"
)
_INFO = re.compile(r"(?P<language>[^\s`{}]*)[^\n]*$\n", re.MULTILINE)


def pages() -> list[pathlib.Path]:
    """Every Markdown page: the README, CONTRIBUTING.md, CHANGELOG.md and docs/**/*.md."""
    top = [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")]
    return [path for path in top if path.exists()] + sorted(DOCS.rglob("*.md"))


def relative(path: os.PathLike | str) -> str:
    """A page's path from the repository root (as it is, for a file elsewhere)."""
    path = pathlib.Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if ROOT in path.parents else path.as_posix()


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # the page's path from the repository root, e.g. "docs/jax.md"
    line: int  # 1-based line of the opening fence
    language: str
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
        """How a failure names the block: `docs/jax.md:LINE (```LANG)`."""
        return f"{self.page}:{self.line} (```{self.language})"

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


Evaluator = Callable[[Example], None]


class MarkedCodeBlockParser:
    """A Sybil parser: every ```python / shell block, with the marker on the line above it
    as its `parsed` Block and the evaluator given for that marker (None: nothing to run)."""

    def __init__(self, evaluators: Mapping[str, Evaluator] | None = None):
        self.evaluators = dict(evaluators or {})
        self.lexer = RawFencedCodeBlockLexer(info_pattern=_INFO)

    def __call__(self, document: Document):
        for region in self.lexer(document):
            language = region.lexemes["language"].lower()
            if language not in CODE_LANGUAGES:
                continue
            before = document.text[: region.start].rstrip(" \t")
            line = before.count("\n") + 1
            above = before[:-1].rsplit("\n", 1)[-1] if before.endswith("\n") else ""
            marker = _MARKER.match(above)
            kind = name = reason = ""
            if marker:
                kind = marker.group(1).split(":")[0].strip()
                name = marker.group("name") or ""
                reason = marker.group("reason") or ""
            block = Block(
                relative(document.path),
                line,
                language,
                str(region.lexemes["source"]),
                kind or None,
                name,
                reason,
            )
            yield Region(
                region.start,
                region.end,
                parsed=block,
                evaluator=self.evaluators.get(kind),
                lexemes=region.lexemes,
            )


def examples(
    page: os.PathLike | str, evaluators: Mapping[str, Evaluator] | None = None
) -> list[Example]:
    """The Sybil examples of a page's code blocks, in order; `example.parsed` is a Block."""
    document = Document.parse(str(page), MarkedCodeBlockParser(evaluators))
    return list(document)


def blocks_of_text(text: str, page: str = "README.md") -> list[Block]:
    """The code blocks of Markdown text (for the tests of this module)."""
    document = Document(text, str(ROOT / page))
    for region in MarkedCodeBlockParser()(document):
        document.add(region)
    return [example.parsed for example in document]


@functools.cache
def code_blocks() -> tuple[Block, ...]:
    """Every ```python and shell block of every page."""
    return tuple(example.parsed for page in pages() for example in examples(page))


def run_python_block(name: str, cwd: os.PathLike | str, **env: str):
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


def user_environment(home: os.PathLike | str) -> dict[str, str]:
    """A user's environment for blocks run as they are pasted: a fresh HOME, this Python's
    commands (`imagenet-pi`, `tfds`) first on PATH, this checkout's package, and no TFDS,
    JAX, TensorFlow or XLA settings of the test run."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TFDS_", "PYTEST_", "XLA_", "TF_", "JAX_"))
        and key not in ("DATA_DIR", "MANUAL_DIR")
    }
    env.update(
        HOME=os.fspath(home),
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        # This checkout's package, even where an installed one is elsewhere (editable).
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def run_block(
    block: Block,
    cwd: os.PathLike | str,
    env: Mapping[str, str],
    code: str | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Runs a block as a user pastes it, in `cwd`: shell with `bash -euo pipefail`, Python
    as a script. `code` replaces the block's (its placeholders filled in). Fails the test,
    naming the block, unless it exits with 0; returns the `subprocess.CompletedProcess`."""
    code = block.code if code is None else code
    cwd = pathlib.Path(cwd)
    stem = f"block_{block.line}"
    if block.is_python:
        script, command = cwd / f"{stem}.py", [sys.executable, f"{stem}.py"]
    else:
        script, command = cwd / f"{stem}.sh", ["bash", "-euo", "pipefail", f"{stem}.sh"]
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{block.label} failed (exit status {result.returncode}) after the blocks above "
        f"it:\n{code}\n--- stdout (end):\n{result.stdout[-3000:]}\n"
        f"--- stderr (end):\n{result.stderr[-5000:]}"
    )
    return result


def snippet(name: str) -> str:
    """The code of the one ```python block under `<!-- test: name -->`."""
    found = [b for b in code_blocks() if b.kind == "test" and b.name == name and b.is_python]
    if len(found) != 1:
        raise AssertionError(
            f"the pages have {len(found)} ```python blocks right under the line "
            f"<!-- test: {name} -->, expected one: put the marker on the line before the "
            "snippet this test runs."
        )
    return found[0].code


# ----------------------------------------------------------------------------------------
# Tables, headings and links, as markdown-it (MyST's parser, GitHub's tables) sees them.

_MARKDOWN = MarkdownIt("commonmark").enable("table")


@functools.cache
def _tokens(path: pathlib.Path):
    return _MARKDOWN.parse(path.read_text(encoding="utf-8"))


@dataclasses.dataclass(frozen=True)
class Table:
    page: str
    line: int  # 1-based line of the header row
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (1-based line, cells)


def tables(path: os.PathLike | str) -> list[Table]:
    """Every table of a page; cells hold their Markdown source (backticks kept, `\\|` -> `|`)."""
    found: list[Table] = []
    row: list[str] | None = None
    for token in _tokens(pathlib.Path(path)):
        if token.type == "table_open":
            found.append(Table(relative(path), token.map[0] + 1, [], []))
        elif token.type == "tr_open":
            row = []
            line = token.map[0] + 1
        elif token.type == "inline" and row is not None:
            row.append(token.content.strip())
        elif token.type == "tr_close":
            table = found[-1]
            if not table.header:
                table.header.extend(row)
            else:
                table.rows.append((line, row))
            row = None
    return found


def slug(title: str) -> str:
    """A heading's anchor, as MyST makes it (GitHub's rule)."""
    return default_slugify(title)


@functools.cache
def anchors(path: pathlib.Path) -> frozenset[str]:
    """The anchors of a page's headings; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    tokens = _tokens(path)
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        anchor = slug(tokens[i + 1].content)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def links(path: os.PathLike | str) -> list[tuple[int, str]]:
    """(1-based line, target) of every Markdown link of a page."""
    found = []
    for token in _tokens(pathlib.Path(path)):
        if token.type != "inline":
            continue
        for child in token.children or []:
            if child.type == "link_open":
                found.append((token.map[0] + 1, child.attrs["href"]))
    return found


def heading_titles(path: os.PathLike | str) -> list[tuple[int, int, str]]:
    """(1-based line, level, title) of every heading of a page."""
    tokens = _tokens(pathlib.Path(path))
    return [
        (token.map[0] + 1, int(token.tag[1]), tokens[i + 1].content)
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    ]
