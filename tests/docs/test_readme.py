"""The README: short, and holding what a new user needs first (issue 19): what ImageNet-PI
is, install with PyTorch's CPU build, the Quickstart, five minutes with a synthetic sample,
the real dataset in three steps, a feature table linking to the docs, the citation."""

from __future__ import annotations

import doc_pages

_SECTIONS = [
    "Install",
    "Quickstart",
    "Five minutes with a synthetic sample",
    "The real dataset in three steps",
    "What it does",
    "Citation",
]


def test_readme_is_at_most_200_lines():
    lines = doc_pages.README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move detail into docs/"


def test_readme_holds_its_sections_in_order():
    titles = [title for _, level, title in doc_pages.heading_titles(doc_pages.README) if level == 2]
    assert titles == _SECTIONS


def test_readme_gives_the_cpu_only_pytorch_install_command():
    install = [
        block.code
        for block in doc_pages.code_blocks()
        if block.page == "README.md" and "pip install" in block.code
    ]
    assert any(
        "pip install torch --index-url https://download.pytorch.org/whl/cpu" in code
        for code in install
    ), install


def test_readme_feature_table_links_every_row_to_the_docs():
    (table,) = [t for t in doc_pages.tables(doc_pages.README) if t.header[0] == "feature"]
    unlinked = [cells for _, cells in table.rows if "](docs/" not in cells[-1]]
    assert not unlinked, unlinked
