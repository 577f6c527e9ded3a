"""The gallery of ``demos/``: which files it runs, with which short budget (no sphinx import).

sphinx-gallery runs each demo as ``__main__`` with ``sys.argv[1:]`` set by ``reset_argv``
(:func:`reset_argv` below). The demos parse their flags from a dataclass ``Args`` (see
``npytrpo/scripting.py``), so the short budget is derived from the field names each demo
declares: a field listed in :data:`SHORT_BUDGET` gets that value, any other keeps the demo's
default. A new demo is picked up by :data:`FILENAME_PATTERN` and given the budget of the fields
it shares with the others; :data:`PER_DEMO` holds what a single demo needs beyond that.
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMOS = ROOT / "demos"

#: Files of ``demos/`` that the gallery runs: every ``*.py`` not starting with an underscore.
FILENAME_PATTERN = r"[\\/][^_\\/][^\\/]*\.py$"
#: Files it leaves out entirely (none today: a demo that breaks the build goes here, with why).
IGNORE_PATTERN = r"__init__\.py$"

#: Flag values by ``Args`` field name: a few seconds of work for every demo that has the field.
SHORT_BUDGET: dict[str, str | bool] = {
    "timesteps": "4096",  # classic control: 2 updates of 2 × 1024 steps
    "eval_episodes": "2",
    "progress": False,  # no tqdm bar in the captured output
    "workers": "1",  # sphinx-gallery's __main__ is not importable by worker processes
    "seeds": "0",
}

#: Extra flags per demo (file stem), on top of :data:`SHORT_BUDGET`.
#: The study demos other than step_sizes run at their own defaults (seconds each): the gallery
#: then shows the figures of docs/theory.md.
PER_DEMO: dict[str, dict[str, str | bool]] = {
    "step_sizes": {"timesteps": "6144", "n_steps": "256"},  # 9 runs of 6 updates, ~10 s
}


def demo_files() -> list[pathlib.Path]:
    """Every file of ``demos/`` that :data:`FILENAME_PATTERN` selects and nothing ignores."""
    return [
        p
        for p in sorted(DEMOS.glob("*.py"))
        if re.search(FILENAME_PATTERN, str(p)) and not re.search(IGNORE_PATTERN, str(p))
    ]


def args_fields(path: str | os.PathLike) -> dict[str, ast.expr]:
    """``{field: default expression}`` of the ``Args`` dataclass in a demo (empty if none)."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Args":
            return {
                s.target.id: s.value
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            }
    return {}


def gallery_argv(path: str | os.PathLike, out_dir: str | os.PathLike) -> list[str]:
    """The flags the gallery passes to one demo: the short budget and ``--out out_dir``."""
    fields = args_fields(path)
    wanted = {**SHORT_BUDGET, **PER_DEMO.get(pathlib.Path(path).stem, {})}
    if "out" in fields:
        wanted["out"] = str(out_dir) + os.sep
    argv: list[str] = []
    for name, value in wanted.items():
        if name not in fields:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            argv += [flag, value]
    return argv


def output_dir(src_file: str | os.PathLike) -> pathlib.Path:
    """A fresh directory (under the system temp dir) where one demo writes its files."""
    base = pathlib.Path(tempfile.gettempdir()) / "npytrpo-gallery"
    base.mkdir(exist_ok=True)
    return pathlib.Path(tempfile.mkdtemp(prefix=pathlib.Path(src_file).stem + "-", dir=base))


def reset_argv(gallery_conf: dict, script_vars: dict) -> list[str]:
    """sphinx-gallery's ``reset_argv`` hook: the demo's flags, and what it runs with.

    sphinx-gallery runs an example in a fresh ``__main__`` with ``__doc__`` emptied and no
    ``__file__``; the demos use both (``argparse``'s description is the docstring's first line,
    and ``figure_path`` takes ``__file__``), so both are set back here, in the example's own
    namespace, before it runs. The output directory is kept in ``script_vars`` for
    :func:`png_scraper`.
    """
    src = script_vars["src_file"]
    namespace = script_vars.get("example_globals")
    if namespace is not None:
        namespace["__file__"] = str(src)
        tree = ast.parse(pathlib.Path(src).read_text(encoding="utf-8"))
        namespace["__doc__"] = ast.get_docstring(tree, clean=False) or ""
    out = output_dir(src)
    script_vars["npytrpo_out"] = out
    return gallery_argv(src, out)


def png_scraper(block, block_vars: dict, gallery_conf: dict) -> str:
    """Image scraper: the PNG files the demo wrote into its output directory (the demos close
    their matplotlib figures after saving them, so the matplotlib scraper sees none)."""
    from sphinx_gallery.scrapers import figure_rst

    out = block_vars.get("npytrpo_out")
    if out is None:
        return ""
    seen = block_vars.setdefault("npytrpo_seen", set())
    images = []
    for png in sorted(pathlib.Path(out).rglob("*.png")):
        if png in seen:
            continue
        seen.add(png)
        target = pathlib.Path(next(block_vars["image_path_iterator"]))
        target.write_bytes(png.read_bytes())
        images.append(str(target))
    return figure_rst(images, gallery_conf["src_dir"]) if images else ""


#: Between sphinx-gallery's label of an example and its first code block: the docstring.
_DOCSTRING = re.compile(
    r"(?P<label>^\.\. _sphx_glr_[\w]+\.py:\n\n)(?P<doc>.*?)(?=^\.\. GENERATED FROM PYTHON)",
    re.S | re.M,
)


def docstring_as_text(rst: str) -> str:
    """An example page with its docstring as a title and a preformatted block.

    The demos' docstrings are plain text, not reST: equations such as ``π(a|s)`` or
    ``|A_π(s, a)|`` would be read as substitutions, and aligned formulas would be reflowed. The
    first line becomes the page title (sphinx-gallery's thumbnails and the toctree need one);
    the rest is shown exactly as written.
    """
    m = _DOCSTRING.search(rst)
    if m is None:
        return rst
    first, _, rest = m["doc"].strip("\n").partition("\n")
    title = re.sub(r"([\\*|`_])", r"\\\1", first.strip())
    body = "\n".join(("    " + line).rstrip() for line in rest.strip("\n").splitlines())
    text = f"{title}\n{'=' * len(title)}\n\n"
    if body.strip():
        text += f".. code-block:: none\n\n{body}\n\n"
    return rst[: m.start("doc")] + text + rst[m.end("doc") :]


def _on_source_read(app, docname: str, source: list[str]) -> None:
    gallery = app.config.sphinx_gallery_conf["gallery_dirs"]
    if any(docname.startswith(g + "/") for g in gallery) and not docname.endswith("/index"):
        source[0] = docstring_as_text(source[0])


def setup(app):
    """Sphinx extension: the demos' plain-text docstrings shown as such (see above)."""
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
