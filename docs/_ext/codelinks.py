"""Sphinx extension: the code links of the markdown chapters, resolved inside the site.

On GitHub, ``docs/theory.md`` links each equation to the lines of the function that implements
it: ``[`Policy.kl`](../npytrpo/policies.py#L127-L136)`` (``docs/relink.py`` keeps the ranges
fresh and ``tests/test_study.py`` fails on a stale one). In the site the same link goes to

1. the API entry of the object when it is documented (it shows the docstring and a
   ``[source]`` link to the highlighted module, from ``sphinx.ext.viewcode``);
2. otherwise (a private helper such as ``Policy._trial``) the highlighted source of its module,
   at its nearest documented owner (``_modules/npytrpo/policies.html#Policy``), or at the top;
3. otherwise the module's section of the API reference; and if nothing shows that module,
   a warning (an error under ``-W``).

Links to ``../demos/X.py`` go to the gallery page of ``X``, and ``../demos`` to the gallery.
The markdown files are not changed: the links are rewritten when Sphinx reads them
(``source-read``), into the ``codelink`` role defined here.
"""

from __future__ import annotations

import pathlib
import posixpath
import re

# docutils and sphinx are imported inside the functions that Sphinx calls, so that the tests can
# import the link rules here without them.

#: [`name`](../npytrpo/f.py#La-Lb) (the range optional), as docs/relink.py writes them.
CODE_LINK = re.compile(r"\[`([A-Za-z_][\w.]*)`\]\(\.\./(npytrpo/[\w/]+\.py)(?:#L\d+-L\d+)?\)")
#: [text](../demos/X.py) and [text](../demos) / (../demos/).
DEMO_LINK = re.compile(r"\]\(\.\./demos/(\w+)\.py\)")
DEMOS_LINK = re.compile(r"\]\(\.\./demos/?\)")
GALLERY = "auto_examples"
ROLE = re.compile(r"^(?P<name>[\w.]+)\s*<(?P<path>[\w/]+\.py)>$")


def rewrite(text: str, docname: str) -> str:
    """The markdown ``text`` of ``docname`` with its code and demo links in site form."""
    up = posixpath.relpath(GALLERY, posixpath.dirname(docname) or ".")
    text = CODE_LINK.sub(lambda m: f"{{codelink}}`{m.group(1)} <{m.group(2)}>`", text)
    text = DEMO_LINK.sub(lambda m: f"]({up}/{m.group(1)}.rst)", text)
    return DEMOS_LINK.sub(f"]({up}/index.rst)", text)


def module_of(path: str) -> str:
    """``npytrpo/oracle/run.py`` → ``npytrpo.oracle.run`` (an ``__init__`` → its package)."""
    mod = path[: -len(".py")].replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def codelink_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{codelink}`Qual.name <npytrpo/file.py>``` → a pending cross-reference (see module)."""
    from docutils import nodes
    from sphinx import addnodes

    m = ROLE.match(text.strip())
    if m is None:
        msg = inliner.reporter.error(f"codelink: expected 'name <npytrpo/file.py>', got {text!r}")
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    qualname, module = m["name"], module_of(m["path"])
    public = _public_index()
    head, _, rest = qualname.partition(".")
    target = public.get((module, head))
    target = f"{target}.{rest}" if target and rest else (target or f"{module}.{qualname}")
    node = addnodes.pending_xref(
        rawtext,
        nodes.literal(qualname, qualname, classes=["xref", "py", "py-obj"]),
        refdomain="py",
        reftype="obj",
        reftarget=target,
        refexplicit=True,
        refwarn=False,
        codelink_module=module,
        codelink_qualname=qualname,
    )
    node["py:module"] = None
    node["py:class"] = None
    return [node], []


#: The entries of the API reference, set on ``builder-inited`` when the pages are written.
API: list = []


def _public_index() -> dict:
    """``{(defining module, top-level name): public path}`` of the API reference."""
    out = {}
    for e in API:
        out.setdefault((e.module, e.name.rpartition(".")[2]), e.name)
    return out


def on_builder_inited(app) -> None:
    """Write the API reference pages (``docs/api/``) from the public API, before reading."""
    import apigen  # docs/_ext is on sys.path (conf.py)

    API[:] = apigen.write_api(pathlib.Path(app.srcdir) / "api")


def on_source_read(app, docname, source) -> None:
    if docname.startswith(GALLERY) or docname.startswith("api/"):
        return
    source[0] = rewrite(source[0], docname)


def on_missing_reference(app, env, node, contnode):
    from docutils import nodes
    from sphinx.util import logging

    module = node.get("codelink_module")
    if module is None:
        return None
    qualname = node["codelink_qualname"]
    py = env.get_domain("py")
    public = _public_index()
    fromdoc = node.get("refdoc", env.docname)
    with_source = {e.module for e in API if e.kind != "data"}
    if app.builder.format == "html" and module in with_source:
        parts = qualname.split(".")
        anchor = ""
        for k in range(len(parts) - 1, 0, -1):
            owner = public.get((module, parts[0]))
            owner = ".".join([owner, *parts[1:k]]) if owner else None
            if owner in py.objects:
                anchor = "#" + ".".join(parts[:k])
                break
        uri = app.builder.get_relative_uri(fromdoc, "_modules/" + module.replace(".", "/"))
        return nodes.reference("", "", contnode, internal=True, refuri=uri + anchor)
    if module in py.modules:
        entry = py.modules[module]
        uri = app.builder.get_relative_uri(fromdoc, entry.docname) + "#" + entry.node_id
        return nodes.reference("", "", contnode, internal=True, refuri=uri)
    logging.getLogger(__name__).warning(
        "code link %s -> %s: no API entry, source page or module section shows it",
        qualname,
        module,
        location=node,
    )
    return contnode


#: A block of sphinx.ext.viewcode's source page and its "[docs]" link back to the API entry.
VIEWCODE_BACK = re.compile(
    r'(<div class="viewcode-block" id="(?P<qual>[^"]+)">\s*<a class="viewcode-back" '
    r'href="(?P<page>[^"#]*)#)(?P<anchor>[^"]*)"'
)


def on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    """Point the "[docs]" links of a source page at the right API entries.

    viewcode builds every back link of a module from one prefix (that of the first object
    documented from it), so in a module with both ``npytrpo.MLP`` and ``npytrpo.nn.orthogonal``
    one of the two would miss its anchor; the public path of each is known here.
    """
    if not pagename.startswith("_modules/") or "body" not in context:
        return
    module = pagename[len("_modules/") :].replace("/", ".")
    public = _public_index()

    def fix(m: re.Match) -> str:
        head, _, rest = m["qual"].partition(".")
        path = public.get((module, head))
        if path is None:
            return m.group(0)
        return f'{m.group(1)}{path}{"." + rest if rest else ""}"'

    context["body"] = VIEWCODE_BACK.sub(fix, context["body"])


def setup(app):
    app.add_role("codelink", codelink_role)
    app.connect("builder-inited", on_builder_inited)
    app.connect("source-read", on_source_read)
    app.connect("missing-reference", on_missing_reference)
    app.connect("html-page-context", on_html_page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
