"""The documentation site's sources agree with the code (no Sphinx build, no Sphinx import):
the API reference covers the public API, the gallery runs every demo with flags it accepts, the
chapters' links have a target in the site, and the committed figures are small. The HTML build
itself (``python -m sphinx -W -b html docs docs/_build/html``) runs in ``.ci/run``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import runpy
import sys
from pathlib import Path

import pytest

import npytrpo

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXT = DOCS / "_ext"
FIGURES = DOCS / "_static" / "figures"


def _load(name: str, path: Path):
    """Import ``path`` as module ``name`` (registered: the docs' helpers import each other)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


apigen = _load("apigen", EXT / "apigen.py")
demo_gallery = _load("demo_gallery", EXT / "demo_gallery.py")
codelinks = _load("codelinks", EXT / "codelinks.py")


@pytest.fixture(scope="module")
def entries():
    return apigen.public_entries()


@pytest.fixture(scope="module")
def pages(entries):
    return apigen.render(entries)


@pytest.fixture(scope="module")
def conf():
    """docs/conf.py's namespace (it imports npytrpo and the helpers, not Sphinx)."""
    return runpy.run_path(str(DOCS / "conf.py"))


# ====================================================================================== API
def _directives(pages: dict[str, str]) -> dict[str, str]:
    """``{documented name: page}`` of every autodoc directive of the generated pages."""
    found = {}
    for page, text in pages.items():
        for name in re.findall(r"^\.\. auto(?:class|exception|function|data):: (\S+)$", text, re.M):
            assert name not in found, f"{name} documented twice ({found[name]}, {page})"
            found[name] = page
    return found


def test_every_name_of_npytrpo_all_has_an_api_entry(pages):
    """Each name of ``npytrpo.__all__`` is documented as ``npytrpo.<name>`` on a layer page."""
    documented = _directives(pages)
    missing = [n for n in npytrpo.__all__ if f"npytrpo.{n}" not in documented]
    assert not missing, f"not in the API reference: {missing}"
    assert "index.rst" not in documented.values()


def test_every_public_submodule_name_is_documented_once(entries, pages):
    """Each name of a public submodule's ``__all__`` is documented, under exactly one path that
    imports to the same object (re-exports are not documented twice)."""
    documented = _directives(pages)
    objects = {}
    for e in entries:
        module, _, attr = e.name.rpartition(".")
        objects[e.name] = getattr(importlib.import_module(module), attr)
    for module in apigen.public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            hits = [
                path
                for path, o in objects.items()
                if o is obj and (path.rpartition(".")[2] == name or callable(obj))
            ]
            assert len(hits) == 1, f"{module.__name__}.{name}: documented as {hits}"
            assert hits[0] in documented


def test_layers_follow_the_defining_module_by_prefix(entries):
    """A module's layer is its longest matching prefix, so moved modules keep their layer, and
    a module outside the table is an error naming it."""
    assert apigen.layer_of("npytrpo.io.checkpoint") == "io"
    assert apigen.layer_of("npytrpo.tools.cli") == "tools"
    assert apigen.layer_of("npytrpo.config") == "step"
    assert apigen.layer_of("npytrpo.oracle.run") == "oracle"
    with pytest.raises(ValueError, match="npytrpo.newthing"):
        apigen.layer_of("npytrpo.newthing")
    for e in entries:  # the recorded layer is the one of the object's own module
        module, _, attr = e.name.rpartition(".")
        obj = getattr(importlib.import_module(module), attr)
        if e.kind != "data":
            assert e.module == obj.__module__
        assert e.layer == apigen.layer_of(e.module)
    assert {"math", "step", "agent", "io", "oracle", "tools"} <= {e.layer for e in entries}


def test_api_index_lists_every_layer_page(pages):
    """The API index's toctree names exactly the layer pages that were generated."""
    toc = re.findall(r"^   (\w+)$", pages["index.rst"], re.M)
    assert sorted(f"{t}.rst" for t in toc) == sorted(p for p in pages if p != "index.rst")


# ================================================================================== gallery
def test_every_demo_is_run_by_the_gallery(conf):
    """Every ``demos/*.py`` is selected by the gallery's filename pattern and not ignored."""
    gallery = conf["sphinx_gallery_conf"]
    assert [(DOCS / d).resolve() for d in gallery["examples_dirs"]] == [ROOT / "demos"]
    demos = sorted((ROOT / "demos").glob("*.py"))
    assert demos
    for path in demos:
        assert re.search(gallery["filename_pattern"], str(path)), f"{path.name} not run"
        assert not re.search(gallery["ignore_pattern"], str(path)), f"{path.name} ignored"
    assert demo_gallery.demo_files() == demos
    assert gallery["reset_argv"] == "demo_gallery.reset_argv"


@pytest.mark.parametrize("path", sorted((ROOT / "demos").glob("*.py")), ids=lambda p: p.stem)
def test_gallery_flags_are_fields_of_the_demo(path, tmp_path):
    """The short-budget flags name fields of the demo's ``Args`` and parse with its parser."""
    fields = demo_gallery.args_fields(path)
    argv = demo_gallery.gallery_argv(path, tmp_path)
    flags = [a[2:] for a in argv if a.startswith("--")]
    for flag in flags:
        name = flag.removeprefix("no-").replace("-", "_")
        assert name in fields, f"--{flag} is not a field of {path.name}'s Args"
    if "out" in fields:
        assert argv[argv.index("--out") + 1] == str(tmp_path) + os.sep
    source = path.read_text(encoding="utf-8")
    if re.search(r"^def parse_args\b", source, re.M):
        demo = _load(f"demo_{path.stem}", path)
        args = demo.parse_args(argv)
        wanted = {**demo_gallery.SHORT_BUDGET, **demo_gallery.PER_DEMO.get(path.stem, {})}
        for key, value in wanted.items():
            if key in fields and isinstance(value, bool):
                assert getattr(args, key) is value
            elif key in fields and "," not in value and key != "seeds":  # not the tuples
                assert str(getattr(args, key)) == value


def test_docstring_becomes_title_and_preformatted_text():
    """An example page's plain-text docstring becomes a title and a literal block."""
    rst = (
        ".. _sphx_glr_auto_examples_x.py:\n\nA |title| with *stars*\n\n    run me\n"
        "J = |A(s|a)|\n\n.. GENERATED FROM PYTHON SOURCE LINES 1-2\n"
    )
    out = demo_gallery.docstring_as_text(rst)
    title = "A \\|title\\| with \\*stars\\*"  # escaped: reST would read |title| and *stars*
    assert f"\n{title}\n{'=' * len(title)}\n" in out
    assert ".. code-block:: none\n\n        run me\n    J = |A(s|a)|\n" in out
    assert out.endswith(".. GENERATED FROM PYTHON SOURCE LINES 1-2\n")


# ============================================================================= chapter links
@pytest.mark.parametrize("md", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_chapter_links_have_a_target_in_the_site(md, entries):
    """Every code link's module is shown by the site (API entries, hence a source page), and
    every demo link names a gallery demo; in the site form none is left pointing at a file."""
    text = md.read_text(encoding="utf-8")
    shown = {e.module for e in entries}
    for name, path in codelinks.CODE_LINK.findall(text):
        module = codelinks.module_of(path)
        assert module in shown, f"{md.name}: {name} -> {module}: no page of the site shows it"
    demos = {p.stem for p in demo_gallery.demo_files()}
    for stem in codelinks.DEMO_LINK.findall(text):
        assert stem in demos, f"{md.name}: demos/{stem}.py is not in the gallery"
    site = codelinks.rewrite(text, md.stem)
    assert not re.search(r"\]\(\.\./(npytrpo|demos)\b", site), "a link left as a file link"


def test_public_code_links_name_their_api_entry(entries):
    """A link to a public object becomes a reference to its documented (public) path."""
    index = {(e.module, e.name.rpartition(".")[2]): e.name for e in entries}
    assert index[("npytrpo.policies", "Policy")] == "npytrpo.Policy"
    assert index[("npytrpo.distributions", "log_softmax")] == (
        "npytrpo.distributions.log_softmax"
    )
    site = codelinks.rewrite("[`Policy.kl`](../npytrpo/policies.py#L1-L2)", "theory")
    assert site == "{codelink}`Policy.kl <npytrpo/policies.py>`"
    assert codelinks.module_of("npytrpo/oracle/__init__.py") == "npytrpo.oracle"


# ================================================================================== figures
def test_committed_figures_exist_and_are_small():
    """Each figure make_figures.py writes is committed, and every PNG there is < 150 KB."""
    make_figures = _load("make_figures", DOCS / "make_figures.py")
    names = ["learning_curves", *make_figures.STUDY_DEMOS]
    for name in names:
        assert (FIGURES / f"{name}.png").is_file(), f"run python docs/make_figures.py ({name})"
    for png in FIGURES.glob("*.png"):
        assert png.stat().st_size < make_figures.LIMIT_BYTES, f"{png.name} too large"
