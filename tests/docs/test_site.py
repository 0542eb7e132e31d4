"""The docs site builds with Sphinx, warnings as errors: a broken link or anchor between
pages, a page outside the toctree, a docstring that does not parse or a CLI reference that
cannot be generated fails this test."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

import doc_pages
import pytest


def _text(page) -> str:
    """An HTML page's text, without tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_docs_site_builds_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TFDS_")}
    env["PYTHONPATH"] = str(doc_pages.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    sphinx = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    result = subprocess.run(
        [*sphinx, "-d", str(tmp_path / "doctrees"), str(doc_pages.DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(warnings) or result.stderr[-5000:]
    pages = {path.stem for path in doc_pages.DOCS.glob("*.md")}
    assert pages <= {path.stem for path in out.glob("*.html")}
    # The CLI reference holds the usage of every command, generated from the parser.
    cli = _text(out / "cli.html")
    for command in ("demo", "fake-data", "verify", "check-build", "predict", "relabel", "stats"):
        assert f"imagenet-pi {command} [-h]" in cli, command
    # The API reference holds the functions of the public modules.
    api = _text(out / "api.html")
    for name in ("make_iterator", "ImageNetPI", "check_build", "custom_config", "write_sample"):
        assert name in api, name
