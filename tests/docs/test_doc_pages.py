"""tests/doc_pages.py reads the pages as GitHub and MyST do: fences (in lists too), markers,
tables by GitHub's rules, and it hands each block to the evaluator of its marker."""

from __future__ import annotations

import re

import doc_pages
import pytest

_TEXT = """# Page

1. A step:

   <!-- run -->
   ```python
   x = 1
   ```

<!-- not run: needs the real ILSVRC2012 -->
~~~sh
ls
~~~

```{eval-rst}
.. automodule:: imagenet_pi
```

| message (start) | what to do |
|---|---|
| `a \\| b` and `c` | d |
"""


def test_fences_in_list_items_keep_their_marker_and_lose_their_indent():
    found = doc_pages.blocks_of_text(_TEXT)
    assert [(b.line, b.language, b.kind, b.code) for b in found] == [
        (6, "python", "run", "x = 1\n"),
        (11, "sh", "not run", "ls\n"),
    ]


def test_each_block_is_evaluated_by_the_evaluator_of_its_marker(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(_TEXT, encoding="utf-8")
    seen = []
    examples = doc_pages.examples(page, {"run": lambda e: seen.append(("run", e.parsed.code))})
    for example in examples:
        example.evaluate()
    assert seen == [("run", "x = 1\n")]


def test_tables_split_cells_as_github_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(_TEXT, encoding="utf-8")
    (table,) = doc_pages.tables(page)
    assert table.header == ["message (start)", "what to do"]
    assert table.rows == [(21, ["`a | b` and `c`", "d"])]


def _cell_counts(path) -> list[tuple[int, int, int]]:
    """(line, cells, header cells) of each table row, split at unescaped pipes as GitHub does."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for table in doc_pages.tables(path):
        width = len(table.header)
        for line, _ in table.rows:
            row = lines[line - 1].strip().strip("|")
            found.append((line, len(re.split(r"(?<!\\)\|", row)), width))
    return found


@pytest.mark.parametrize("page", doc_pages.pages(), ids=doc_pages.relative)
def test_every_table_row_has_the_cells_of_its_header(page):
    # GitHub and MyST drop the cells past the header's and pad short rows without a word:
    # a `|` left unescaped inside backticks would cut a message in two.
    wrong = [(line, n, width) for line, n, width in _cell_counts(page) if n != width]
    assert not wrong, f"{doc_pages.relative(page)}: rows (line, cells, header cells): {wrong}"
