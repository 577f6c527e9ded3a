"""The API reference, generated from the public API at build time (no sphinx import here).

The public API is ``npytrpo.__all__`` plus the ``__all__`` of every public submodule
(``npytrpo.oracle``, ``npytrpo.presets`` …): each object is documented once, under its
shortest public path (``npytrpo.trpo_step``, not ``npytrpo.trust_region.trpo_step``). Objects
are grouped into layers by the module that *defines* them (``obj.__module__``; for a constant,
the module it is imported from), matched against :data:`LAYERS` by module prefix, so that a
module that moves (``npytrpo.persist`` → ``npytrpo.io.persist``) changes nothing here as long
as its prefix is in the table. An object whose module matches no prefix is an error: add the
prefix to the table.

``conf.py`` calls :func:`write_api` on ``builder-inited``; ``tests/test_docs.py`` calls
:func:`public_entries` and :func:`render` to check that every public name has its directive.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil
from dataclasses import dataclass

PACKAGE = "npytrpo"

#: (layer, page title, what it holds, module prefixes). A module belongs to the layer of its
#: longest matching prefix; old and new locations are both listed while modules move.
LAYERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "math",
        "Math: networks, heads, policies",
        "Pure functions of a flat float64 θ: the MLP with its JVP/VJP, the distribution heads "
        "and the policies (log-probs, KL, surrogate, Fisher). No gymnasium.",
        (
            "npytrpo.nn",
            "npytrpo.sensitivity",
            "npytrpo.distributions",
            "npytrpo.gsde",
            "npytrpo.policies",
            "npytrpo.linearize",
        ),
    ),
    (
        "step",
        "Step: CG, line search, the trust-region and PPO updates",
        "Generic solvers on callables and vectors, the TRPO / NPG / VPG updates built on them "
        "(with the dense closed form used as ground truth), and the PPO update rules.",
        (
            "npytrpo.cg",
            "npytrpo.linesearch",
            "npytrpo.trust_region",
            "npytrpo.closed_form",
            "npytrpo.config",
            "npytrpo.ppo",
            "npytrpo.ppo_config",
            "npytrpo.ppo_objectives",
            "npytrpo.optim",
            "npytrpo.lbfgsb",
        ),
    ),
    (
        "agent",
        "Agent: rollouts, advantages, value, normalisers, TRPO",
        "The learning loop: vector-env rollouts, GAE, the value baseline, running normalisers "
        "and the ``TRPO`` agent with ``learn``, ``predict``, ``evaluate``, ``save``, ``load``.",
        (
            "npytrpo.rollout",
            "npytrpo.vecenv",
            "npytrpo.workers",
            "npytrpo.acting",
            "npytrpo.advantages",
            "npytrpo.value",
            "npytrpo.value_adam",
            "npytrpo.value_varpro",
            "npytrpo.value_info",
            "npytrpo.normalize",
            "npytrpo.agent",
            "npytrpo.agent_config",
            "npytrpo.updates",
            "npytrpo.fitproc",
            "npytrpo.logs",
            "npytrpo.memory",
        ),
    ),
    (
        "io",
        "I/O: checkpoints and saved agents",
        "Pickle-free, atomically written ``.npz`` checkpoints and the agent's saved state.",
        (
            "npytrpo.io",
            "npytrpo.checkpoint",
            "npytrpo.persist",
            "npytrpo.envstate",
            "npytrpo._files",
        ),
    ),
    (
        "oracle",
        "Oracle: test vectors for a TRPO step",
        "Language-neutral cases and results of one TRPO step, and the comparison of another "
        "implementation's numbers with them (see :doc:`../oracle`).",
        ("npytrpo.oracle",),
    ),
    (
        "tools",
        "Tools: command line, presets, plotting, demo helpers",
        "The ``npytrpo`` command, the tuned presets and the helpers the demos share.",
        (
            "npytrpo.tools",
            "npytrpo.cli",
            "npytrpo.presets",
            "npytrpo.plotting",
            "npytrpo.scripting",
        ),
    ),
)


@dataclass(frozen=True)
class Entry:
    """One documented object: its public path, defining module, layer and autodoc kind."""

    name: str  # the public path, e.g. "npytrpo.trpo_step"
    module: str  # the defining module, e.g. "npytrpo.trust_region"
    layer: str
    kind: str  # "class" | "exception" | "function" | "data"


def layer_of(module: str) -> str:
    """The layer of ``module`` by longest prefix in :data:`LAYERS`; ValueError if none."""
    best, best_len = None, -1
    for layer, _, _, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = layer, len(p)
    if best is None:
        raise ValueError(
            f"module {module!r} matches no prefix of the layer table in docs/_ext/apigen.py"
        )
    return best


def public_modules(package: str = PACKAGE) -> list:
    """The package and every submodule without a leading underscore, imported, sorted."""
    pkg = importlib.import_module(package)
    mods = [pkg]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]):
            continue
        mods.append(importlib.import_module(info.name))
    return sorted(mods, key=lambda m: m.__name__)


def _import_sources(module) -> dict[str, str]:
    """``{name: absolute module}`` of the package-relative ``from .x import name`` in a module."""
    path = getattr(module, "__file__", None)
    if not path:
        return {}
    base = module.__name__ if path.endswith("__init__.py") else module.__name__.rpartition(".")[0]
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            anchor = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
            src = f"{anchor}.{node.module}" if node.module else anchor
            for alias in node.names:
                out[alias.asname or alias.name] = src
    return out


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "function"
    return "data"


def public_entries(package: str = PACKAGE) -> list[Entry]:
    """Every public object once, under its shortest public path, in a stable order."""
    entries: list[Entry] = []
    seen: set = set()
    for mod in public_modules(package):
        names = getattr(mod, "__all__", None)
        if names is None:
            continue
        sources = _import_sources(mod)
        for name in names:
            obj = getattr(mod, name)
            kind = _kind(obj)
            # Classes and functions are one object wherever re-exported; a constant is known
            # by (name, object), since equal small ints and strings may share an identity.
            key = id(obj) if kind != "data" else (name, id(obj))
            if key in seen:
                continue
            seen.add(key)
            defined = getattr(obj, "__module__", None) if kind != "data" else None
            home = defined or sources.get(name, mod.__name__)
            entries.append(Entry(f"{mod.__name__}.{name}", home, layer_of(home), kind))
    return entries


_DIRECTIVE = {
    "class": "autoclass",
    "exception": "autoexception",
    "function": "autofunction",
    "data": "autodata",
}


def _heading(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}\n"


def _layer_page(layer: str, title: str, blurb: str, entries: list[Entry]) -> str:
    lines = [
        ".. This page is generated by docs/_ext/apigen.py at build time: do not edit.",
        "",
        _heading(title, "="),
        blurb,
        "",
        ".. autosummary::",
        "",
        *(f"   {e.name}" for e in entries),
        "",
    ]
    names = {e.name for e in entries}
    for module in sorted({e.module for e in entries}):
        # A module that shares its dotted name with an object it exports (the function
        # npytrpo.oracle.diagnose of module npytrpo.oracle.diagnose) is shown, not indexed.
        no_index = ["   :no-index:"] if module in names else []
        lines += [_heading(f"``{module}``", "-"), f".. automodule:: {module}", *no_index, ""]
        for e in (e for e in entries if e.module == module):
            lines.append(f".. {_DIRECTIVE[e.kind]}:: {e.name}")
            if e.kind in ("class", "exception"):
                lines.append("   :members:")
            lines.append("")
    return "\n".join(lines)


def render(entries: list[Entry]) -> dict[str, str]:
    """``{file name: reST text}`` of the API index and one page per non-empty layer."""
    pages: dict[str, str] = {}
    toc = []
    for layer, title, blurb, _ in LAYERS:
        mine = [e for e in entries if e.layer == layer]
        if not mine:
            continue
        pages[f"{layer}.rst"] = _layer_page(layer, title, blurb, mine)
        toc.append(layer)
    index = [
        ".. This page is generated by docs/_ext/apigen.py at build time: do not edit.",
        "",
        _heading("API reference", "="),
        f".. automodule:: {PACKAGE}",
        "   :no-index:",
        "",
        "Every public function and class, grouped by layer; a layer imports only the layers "
        "below it (math ← step ← agent; io, oracle and tools on top). Each entry links to its "
        "source.",
        "",
        ".. toctree::",
        "   :maxdepth: 2",
        "",
        *(f"   {layer}" for layer in toc),
        "",
    ]
    pages["index.rst"] = "\n".join(index)
    return pages


def write_api(outdir: str | pathlib.Path, package: str = PACKAGE) -> list[Entry]:
    """Write the API pages into ``outdir`` (only files whose text changed) and return entries."""
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    entries = public_entries(package)
    pages = render(entries)
    for stale in out.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return entries
