"""Sphinx configuration of the npytrpo site.

Build: ``pip install -e ".[docs]" && python -m sphinx -W -b html docs docs/_build/html``.

Generated at build time (and ignored by git): ``docs/api/`` (the API reference, from the
public API, by ``_ext/apigen.py``) and ``docs/auto_examples/`` (the gallery of ``demos/``, by
sphinx-gallery with the short budgets of ``_ext/demo_gallery.py``).
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, os.path.dirname(HERE))  # the checkout's npytrpo, installed or not

import demo_gallery  # noqa: E402

import npytrpo  # noqa: E402

project = "npytrpo"
author = "the npytrpo developers"
copyright = "the npytrpo developers"
release = version = npytrpo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "codelinks",  # _ext/codelinks.py: writes api/, resolves the chapters' code links
    "demo_gallery",  # _ext/demo_gallery.py: the demos' docstrings as written
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
templates_path: list[str] = []
html_static_path = ["_static"]

# -- markdown chapters (MyST) ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 4  # oracle.md links its own sections: [..](#file-format)

# -- API reference (autodoc + numpydoc) --------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters section gives the types (with shapes)
autosummary_generate = False  # the pages are written by _ext/apigen.py
numpydoc_show_class_members = False  # autodoc's :members: documents them once
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- gallery of demos/ (sphinx-gallery) --------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../demos"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": demo_gallery.FILENAME_PATTERN,
    "ignore_pattern": demo_gallery.IGNORE_PATTERN,
    "reset_argv": "demo_gallery.reset_argv",
    "image_scrapers": ("matplotlib", "demo_gallery.png_scraper"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "capture_repr": (),
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"npytrpo {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = True


# ---------------------------------------------------------------------------- docstrings
# The docstrings write math in plain Unicode, where "|" means a conditional or an absolute value
# (π(·|s), |g|) and "x_" a subscript. reST would read "|…|" as a substitution and "x_ " as a
# reference: escape both in prose (not inside ``literals``, not in table borders) before autodoc
# hands the text to docutils. The docstrings stay readable as plain text.
import re as _re  # noqa: E402

_LITERAL = _re.compile(r"(``.*?``|:math:`.*?`)")


def _escape_math(line: str) -> str:
    if line.lstrip().startswith(("| ", "+-", "+=", ">>>", "...")):  # line blocks, grids, code
        return line
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):  # the even parts lie outside literals and :math:
        p = parts[i].replace("|", "\\|")
        parts[i] = _re.sub(r"(?<=\w)_(?!\w)", r"\\_", p)
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines):
    """Escape prose lines; the body of a ``.. math::`` directive is LaTeX and left alone."""
    math_indent = None
    for k, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if math_indent is not None and (not line.strip() or indent > math_indent):
            continue
        math_indent = indent if ".. math::" in line else None
        if math_indent is None:
            lines[k] = _escape_math(line)
        elif line.split(".. math::", 1)[1].strip():  # inline content after the directive
            continue


def setup(app):
    app.connect("autodoc-process-docstring", _escape_docstring)
