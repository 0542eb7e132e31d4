"""Every relative link of every page leads to a file there, and every #anchor to a heading.

Quick, without building the site: tests/docs/test_site.py builds it with warnings as
errors, which checks the links between docs pages again, but not the README's,
CONTRIBUTING.md's or CHANGELOG.md's (they are not pages of the site). The site's contents
are its toctree; `docs/index.md` must list every page.
"""

from __future__ import annotations

import pathlib
import re
import urllib.parse

import doc_pages
import pytest

_PAGES = doc_pages.pages()


def _problems(page: pathlib.Path) -> list[str]:
    problems = []
    for line, target in doc_pages.links(page):
        scheme = urllib.parse.urlsplit(target).scheme
        if scheme in ("http", "https", "mailto"):
            continue
        where = f"{doc_pages.relative(page)}:{line}: [..]({target})"
        if scheme:
            problems.append(f"{where}: a link of scheme {scheme!r}")
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / urllib.parse.unquote(path)).resolve() if path else page
        if not file.exists():
            problems.append(f"{where}: {doc_pages.relative(page.parent)}/{path} does not exist")
            continue
        if doc_pages.ROOT not in file.parents and file != doc_pages.ROOT:
            problems.append(f"{where}: leads out of the repository")
            continue
        if anchor and file.suffix == ".md" and anchor not in doc_pages.anchors(file):
            problems.append(
                f"{where}: #{anchor} is no heading's anchor in {doc_pages.relative(file)} "
                f"(its anchors: {sorted(doc_pages.anchors(file))})"
            )
        if page.parent == doc_pages.DOCS and doc_pages.DOCS not in file.parents:
            problems.append(
                f"{where}: a docs page links out of docs/, which the site does not hold; "
                "name the file in backticks instead"
            )
    return problems


@pytest.mark.parametrize("page", _PAGES, ids=doc_pages.relative)
def test_every_relative_link_and_anchor_leads_somewhere(page):
    problems = _problems(page)
    assert not problems, "\n".join(problems)


def test_broken_links_and_anchors_are_found(tmp_path, monkeypatch):
    monkeypatch.setattr(doc_pages, "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(doc_pages, "DOCS", tmp_path / "docs")
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Some heading\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n[ok](docs/a.md#some-heading) [ok too](#title) [gone](docs/b.md) "
        "[no anchor](docs/a.md#other) [no heading](#nowhere) [web](https://example.org)\n",
        encoding="utf-8",
    )
    problems = _problems(page)
    assert [re.search(r"\]\((.*?)\)", problem).group(1) for problem in problems] == [
        "docs/b.md",
        "docs/a.md#other",
        "#nowhere",
    ]


def test_anchors_are_githubs_and_mysts(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A\n\n## Same\n\n```sh\n# not a heading\n```\n\n## Same\n", "utf-8")
    assert doc_pages.anchors(page) == {"a", "same", "same-1"}
    assert doc_pages.slug("Coming from TFDS's imagenet_pi") == "coming-from-tfdss-imagenet_pi"
    assert doc_pages.slug("From the upstream `ImageNetPI`") == "from-the-upstream-imagenetpi"
    assert doc_pages.slug("On every core") == "on-every-core"


def _toctree_entries() -> list[str]:
    text = (doc_pages.DOCS / "index.md").read_text(encoding="utf-8")
    entries = []
    for body in re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.DOTALL):
        entries += [line.strip() for line in body.splitlines() if line.strip() and ":" not in line]
    return entries


def test_the_toctree_lists_every_docs_page_once():
    pages = sorted(
        path.relative_to(doc_pages.DOCS).with_suffix("").as_posix()
        for path in doc_pages.DOCS.rglob("*.md")
        if path.name != "index.md"
    )
    entries = _toctree_entries()
    assert sorted(entries) == pages, (
        f"docs/index.md's toctree lists {entries}; the pages are {pages}: list each page once"
    )


def test_the_readme_links_to_every_docs_page():
    linked = {
        (doc_pages.ROOT / target.partition("#")[0]).resolve()
        for _, target in doc_pages.links(doc_pages.README)
        if target.startswith("docs/")
    }
    missing = [
        doc_pages.relative(path)
        for path in sorted(doc_pages.DOCS.rglob("*.md"))
        if path.resolve() not in linked
    ]
    assert not missing, f"the README's feature table links to no {missing}"


# A module, test or benchmark file, or a folder of them: `tests/docs/test_site.py`,
# `tests/relabelling/` (not a dataset name such as `imagenet_pi/high_noise`).
_REPOSITORY_PATH = re.compile(
    r"(?<![\w/.<>-])((?:imagenet_pi|tests|benchmarks)/(?:[\w.-]+/)*(?:[\w.-]+\.py)?)(?![\w/])"
)


@pytest.mark.parametrize("page", _PAGES, ids=doc_pages.relative)
def test_every_file_of_the_repository_a_page_names_exists(page):
    # Module and test paths move with the code (tests mirror the package): a page that
    # names one must follow.
    text = page.read_text(encoding="utf-8")
    gone = sorted(
        {path for path in _REPOSITORY_PATH.findall(text) if not (doc_pages.ROOT / path).exists()}
    )
    assert not gone, f"{doc_pages.relative(page)} names files that do not exist: {gone}"
