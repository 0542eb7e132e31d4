"""Where a message of the package sends the user to read more, that section exists.

A string literal of the package that names the README and a quoted section title
(`see "Getting ILSVRC2012 into place" in the README`) must name a heading of README.md;
one that names a page of the docs (`docs/ilsvrc2012.md`, with or without a quoted title)
must name a page that exists, and a title must be a heading of that page.
"""

from __future__ import annotations

import ast
import pathlib
import re

import doc_pages

# "Coming from TFDS's imagenet_pi" (an apostrophe inside), or 'Any noise level'.
_QUOTED = re.compile(r""""([^"]{3,80})"|'([^']{3,80})'""")
_DOCS_PAGE = re.compile(r"docs/([\w-]+\.md)")


def _package_strings() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string the package may print: its string literals
    (f-strings joined), docstrings and the parts of f-strings left out."""
    found = []
    for path in sorted((doc_pages.ROOT / "imagenet_pi").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                skip.update(id(part) for part in node.values)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                skip.add(id(node.value))  # a docstring, read by maintainers
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            found.append((doc_pages.relative(path), node.lineno, text))
    return found


def _quoted(text: str) -> list[str]:
    return [double or single for double, single in _QUOTED.findall(text)]


def _looks_like_a_title(quoted: str) -> bool:
    """A section title: words starting with a capital or a digit ("2. The ImageNet-PI CSVs"),
    not a quoted value such as 'x' or a file name."""
    return " " in quoted and (quoted[0].isupper() or quoted[0].isdigit())


def _titles(path: pathlib.Path) -> set[str]:
    return {title for _, _, title in doc_pages.heading_titles(path)}


def _problems(strings: list[tuple[str, int, str]]) -> list[str]:
    problems = []
    for file, line, text in strings:
        where = f"{file}:{line}"
        pages = _DOCS_PAGE.findall(text)
        for page in pages:
            path = doc_pages.DOCS / page
            if not path.exists():
                problems.append(f"{where}: names docs/{page}, which does not exist")
                continue
            for title in filter(_looks_like_a_title, _quoted(text)):
                if title not in _titles(path):
                    problems.append(f"{where}: docs/{page} has no heading {title!r}")
        if "README" in text and not pages:
            for title in filter(_looks_like_a_title, _quoted(text)):
                if title not in _titles(doc_pages.README):
                    problems.append(
                        f"{where}: sends the user to the README's {title!r}, which the README "
                        "no longer has: name the docs page that holds it "
                        f"({_page_with(title) or 'none has it'})"
                    )
    return problems


def _page_with(title: str) -> str | None:
    """The docs page titled so, else the first page with a section of that title."""
    paths = sorted(doc_pages.DOCS.glob("*.md"))
    for level in (1, 2, 3):
        for path in paths:
            if any(t == title and n == level for _, n, t in doc_pages.heading_titles(path)):
                return f'docs/{path.name}, "{title}"'
    return None


def test_the_sections_messages_point_to_exist():
    problems = _problems(_package_strings())
    assert not problems, "\n".join(problems)


def test_a_pointer_to_a_section_that_is_gone_is_found():
    strings = [
        ("x.py", 1, "see 'Getting ILSVRC2012 into place' in the README"),
        ("x.py", 2, 'see "Getting ILSVRC2012 into place" in docs/ilsvrc2012.md'),
        ("x.py", 3, "see docs/no-such-page.md"),
        ("x.py", 4, 'see "No Such Heading here" in docs/ilsvrc2012.md'),
    ]
    problems = _problems(strings)
    assert [problem.split(":")[1] for problem in problems] == ["1", "3", "4"], problems
    assert 'docs/ilsvrc2012.md, "Getting ILSVRC2012 into place"' in problems[0]
