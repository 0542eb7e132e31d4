"""Sphinx configuration of the imagenet_pi docs: MyST Markdown pages, the CLI reference
from the real argparse parser (sphinx-argparse), the API reference from the docstrings
(autodoc). `sphinx-build -W --keep-going -b html docs docs/_build/html` builds it;
tests/docs/test_site.py builds it the same way, so a warning fails the suite."""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)  # the package of this checkout, whatever is installed

project = "imagenet_pi"
author = "imagenet_pi authors"
copyright = "imagenet_pi authors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxarg.ext",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# GitHub's anchors for headings down to ###, so that `page.md#a-heading` links work both on
# GitHub and in the built site, and a link to a heading that is not there is a warning.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Docstrings mark code with single backticks, as Markdown does.
default_role = "code"
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# `--out` in help texts and prose stays two hyphens, not an en dash.
smartquotes = False

html_theme = "furo"
html_title = "imagenet_pi"


def _skip_borrowed_class_attributes(app, what, name, obj, skip, options):
    """A dataclass field whose default is a type of another library (`dtype = np.float32`)
    would be documented with that type's docstring: its field is in the class's own
    docstring (Attributes), so leave it out."""
    if what == "class" and isinstance(obj, type):
        module = getattr(obj, "__module__", "") or ""
        if not module.startswith("imagenet_pi"):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_borrowed_class_attributes)
