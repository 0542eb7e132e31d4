"""README.md's table of contents lists every section, and every #anchor link has a heading."""

from __future__ import annotations

import re

import readme_doc

_LINK = re.compile(r"\]\(#([^)\s]*)\)")
_TOC_ENTRY = re.compile(r"^(\s*)- \[(.*)\]\(#([^)\s]*)\)\s*$")


def _contents() -> list[tuple[int, int, str, str]]:
    """(line, level, title, anchor) of each entry of the "Contents" list."""
    heads = readme_doc.headings()
    start = next((line for line, _, title, _ in heads if title == "Contents"), None)
    assert start is not None, "README.md has no '## Contents' section"
    entries = []
    for number, line in readme_doc.prose_lines():
        if number <= start:
            continue
        if line.startswith("#"):
            break
        entry = _TOC_ENTRY.match(line)
        if entry:
            level = 2 + len(entry.group(1)) // 2
            entries.append((number, level, entry.group(2), entry.group(3)))
        elif line.strip():
            raise AssertionError(f"README.md:{number}: not a Contents entry: {line!r}")
    return entries


def test_github_slugs():
    assert readme_doc.github_slug("Errors about the images, and what to do") == (
        "errors-about-the-images-and-what-to-do"
    )
    assert readme_doc.github_slug("From the upstream `ImageNetPI`") == (
        "from-the-upstream-imagenetpi"
    )
    assert readme_doc.github_slug("1. Put ILSVRC2012 in the manual_dir") == (
        "1-put-ilsvrc2012-in-the-manual_dir"
    )
    assert readme_doc.github_slug("From Python: the relabelling API") == (
        "from-python-the-relabelling-api"
    )
    assert readme_doc.github_slug("Coming from TFDS's imagenet_pi") == (
        "coming-from-tfdss-imagenet_pi"
    )
    text = "# A\n\n## Same\n\n```sh\n# not a heading\n```\n\n## Same\n"
    assert [h[3] for h in readme_doc.headings(text)] == ["a", "same", "same-1"]


def test_every_anchor_link_has_a_heading():
    anchors = {anchor for _, _, _, anchor in readme_doc.headings()}
    broken = [
        f"README.md:{number}: #{anchor} is no heading's anchor"
        for number, line in readme_doc.prose_lines()
        for anchor in _LINK.findall(line)
        if anchor not in anchors
    ]
    assert not broken, "\n".join(broken) + f"\nanchors: {sorted(anchors)}"


def test_contents_lists_every_section_in_order():
    sections = [
        (level, title, anchor)
        for _, level, title, anchor in readme_doc.headings()
        if level in (2, 3) and title != "Contents"
    ]
    listed = [(level, title, anchor) for _, level, title, anchor in _contents()]
    expected = "\n".join(
        ("  " if level == 3 else "") + f"- [{title}](#{anchor})"
        for level, title, anchor in sections
    )
    assert listed == sections, (
        "README.md's Contents must list every ## and ### heading, in order, indented by "
        f"level. Replace its list with:\n{expected}"
    )
