"""Every message in the error tables of the docs is one the code can still produce.

An error table is a table whose first header cell starts with "message". In its first
column, each backticked span is a message start, except spans inside parentheses (notes
such as the exception class or module) and a span followed by ":" (the command, as in
"`relabel`: `...`"). A message is checked by its literal fragments: the text left when its
placeholders are cut out (docs/troubleshooting.md, "How to read the tables"):

- `<anything>` in angle brackets, and `...`: any text;
- a quoted value (`'x'`, `'high_noise'`): a value the code prints with repr;
- a lone capital letter, maybe with digits (`N`, `L1`), or a lone small letter other
  than "a" (`x`, `k`): a number or a name;
- a leading `SomeError: `: the exception class, which the code must name.

Each fragment must occur in a string literal of the package (f-strings are joined around
their replacement fields), or of TFDS when the row says "(TFDS)".
"""

from __future__ import annotations

import ast
import functools
import os
import re

import doc_pages
import pytest

_PACKAGE = os.path.join(doc_pages.ROOT, "imagenet_pi")

_PLACEHOLDER = re.compile(
    r"""'?[\w./-]*<[^<>]+>[\w./<>-]*'?          # <csv>, <dir>/<split>, <dir>/relabel.json
    | [\[(]?\.\.\.[\])]?                         # any text: ..., [...], (...)
    | '[^']*'                                  # a value printed with repr: 'x'
    | (?<![\w.-])(?:[A-Z]\d*|[b-z])(?![\w-])    # N, L1, x, k
    | (?<![\w.-])\d+(?:\.\d+)?(?![\w])          # 16, 0.5
    | \b[A-Z]\w*(?:Error|Exception|Warning)\b   # ReadError: the class of an exception
    """,
    re.VERBOSE,
)
_BREAK = "\x00"  # where a replacement field of the code's string stood


def _string_constants(trees: list[ast.Module]) -> dict[str, str]:
    """Module-level `NAME = "text"` of the sources; names given two values are left out."""
    values: dict[str, set[str]] = {}
    for tree in trees:
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(node, ast.AnnAssign):
                target = node.target
            value = getattr(node, "value", None)
            constant = isinstance(value, ast.Constant) and isinstance(value.value, str)
            if isinstance(target, ast.Name) and constant:
                values.setdefault(target.id, set()).add(value.value)
    return {name: texts.pop() for name, texts in values.items() if len(texts) == 1}


@functools.cache
def _source_strings(root: str) -> tuple[str, frozenset[str]]:
    """All string literals under root, joined by breaks, and every name the code uses."""
    trees = []
    for folder, _, files in os.walk(root):
        for file_name in sorted(files):
            if not file_name.endswith(".py") or file_name.endswith("_test.py"):
                continue
            with open(os.path.join(folder, file_name), encoding="utf-8") as f:
                try:
                    trees.append(ast.parse(f.read()))
                except SyntaxError:
                    continue
    constants = _string_constants(trees)

    def field(part: ast.expr) -> str:
        # f"{upstream.TRAIN_TAR}" prints a known constant; anything else varies.
        if isinstance(part, ast.Constant):
            return part.value
        if isinstance(part, ast.FormattedValue) and part.conversion == -1 and not part.format_spec:
            name = getattr(part.value, "id", None) or getattr(part.value, "attr", None)
            if name in constants:
                return constants[name]
        return _BREAK

    texts, names = [], set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                texts.append("".join(field(part) for part in node.values))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # "{}".format(...) and "%s" % ... fields are breaks too.
                texts.append(re.sub(r"\{[^{}]*\}|%[sdrif]", _BREAK, node.value))
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
    # A table cannot show backticks inside a backticked message: leave them out.
    text = _BREAK.join(texts).replace("`", "")
    return re.sub(r"\s+", " ", text), frozenset(names)


@functools.cache
def _tfds_root() -> str:
    import tensorflow_datasets

    return os.path.join(os.path.dirname(tensorflow_datasets.__file__), "core")


def message_spans(cell: str) -> list[str]:
    """The message starts of a table's first cell (see the module docstring)."""
    messages = []
    depth = 0
    position = 0
    for match in re.finditer(r"`([^`]+)`", cell):
        before = cell[position : match.start()]
        depth += before.count("(") - before.count(")")
        position = match.end()
        if depth > 0 or cell[match.end() :].lstrip().startswith(":"):
            continue
        messages.append(match.group(1))
    return messages


def fragments(message: str) -> list[str]:
    """The literal fragments of a message: what is left between its placeholders."""
    pieces = (re.sub(r"\s+", " ", piece).strip() for piece in _PLACEHOLDER.split(message))
    return [piece for piece in pieces if len(piece) >= 3 and re.search(r"[A-Za-z]", piece)]


def _error_rows() -> list[tuple[str, str, list[str]]]:
    """("page:line", first cell, its messages) of every error table row of every page."""
    rows = []
    for page in doc_pages.pages():
        for table in doc_pages.tables(page):
            if not table.header or not table.header[0].lower().startswith("message"):
                continue
            for line, cells in table.rows:
                if cells:
                    rows.append((f"{table.page}:{line}", cells[0], message_spans(cells[0])))
    return rows


_ROWS = _error_rows()


def test_troubleshooting_holds_the_error_tables():
    rows = [row for row in _ROWS if row[0].startswith("docs/troubleshooting.md:")]
    assert len(rows) >= 100, f"found only {len(rows)} rows in docs/troubleshooting.md"
    assert sum(bool(messages) for _, _, messages in rows) >= 100
    assert len(rows) == len(_ROWS), "error tables belong in docs/troubleshooting.md"


def _missing(message: str, from_tfds: bool) -> list[str]:
    text, names = _source_strings(_tfds_root() if from_tfds else _PACKAGE)
    if re.fullmatch(r"[A-Za-z_]\w*", message):  # a class name, e.g. of an exception
        return [] if message in names else [f"the name {message}"]
    pieces = fragments(message)
    if not pieces:
        return [f"a fragment (all of {message!r} is placeholders)"]
    return [f"{piece!r}" for piece in pieces if piece not in text]


@pytest.mark.parametrize("row", _ROWS, ids=lambda row: row[0])
def test_every_error_message_of_the_docs_is_produced_by_the_code(row):
    where, cell, messages = row
    from_tfds = "(TFDS" in cell
    where = "tensorflow_datasets/core" if from_tfds else "imagenet_pi/"
    problems = []
    for message in messages:
        missing = _missing(message, from_tfds)
        if missing:
            problems.append(f"`{message}`: no string literal in {where} holds {', '.join(missing)}")
    assert not problems, (
        f"{where}, error table row {cell!r}:\n  "
        + "\n  ".join(problems)
        + "\nThe code no longer says this: update the row to the message the code gives (its "
        "start, with <placeholders> for what varies), or fix the code if the docs' wording "
        "is the better one. Messages of TFDS itself are marked '(TFDS)'."
    )


def test_message_spans_and_fragments():
    cell = "`relabel`: `<dir>/<split>: expected one <Model>.npy, missing [...]` (`JoinError`)"
    assert message_spans(cell) == ["<dir>/<split>: expected one <Model>.npy, missing [...]"]
    assert message_spans("`a is b` / `c is d` (TFDS, `x`)") == ["a is b", "c is d"]
    assert fragments("<csv>, line L, annotator A: label V is not an integer") == [
        ", line",
        ", annotator",
        ": label",
        "is not an integer",
    ]
    assert fragments("<source> holds the image 'x' twice") == ["holds the image", "twice"]
    assert fragments("<dir>/relabel.json: line L: expected 16 lines") == [
        ": line",
        ": expected",
        "lines",
    ]
    assert fragments("<tar> cannot be read (ReadError: ...). The archive") == [
        "cannot be read (",
        ". The archive",
    ]
    assert fragments("k of the n train files are missing") == ["of the", "train files are missing"]


def test_a_message_the_code_never_gives_is_reported():
    assert _missing("<csv>, line L: this message was never written", from_tfds=False)
    assert not _missing("<csv>, line L: expected 17 comma-separated fields", from_tfds=False)
    assert _missing("NoSuchError", from_tfds=False)
    assert not _missing("AnnotationError", from_tfds=False)
    assert _missing("<csv> N", from_tfds=False)
