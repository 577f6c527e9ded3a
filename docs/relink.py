"""Refresh the line ranges of code links in docs/*.md from the current source.

A link ``[`Name`](../npytrpo/module.py#La-Lb)`` (``Name`` a function, a class or
``Class.method``) is rewritten to the lines of that definition, found with ``ast``. Run after
editing the library when ``tests/test_study.py`` reports a link whose range has drifted:

    python docs/relink.py            # rewrite docs/*.md in place, print what changed
    python docs/relink.py --check    # exit 1 if any link is stale (what the test checks)
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[`([A-Za-z_][\w.]*)`\]\(\.\./(npytrpo/[\w/]+\.py)#L(\d+)-L(\d+)\)")


def definitions(path: pathlib.Path) -> dict[str, tuple[int, int]]:
    """``{"name" or "Class.name": (first line, last line)}`` of every def and class."""
    tree = ast.parse(path.read_text())
    found: dict[str, tuple[int, int]] = {}

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                found.setdefault(name, (child.lineno, child.end_lineno))
                visit(child, f"{name}.")

    visit(tree, "")
    return found


def relink(text: str) -> tuple[str, list[str]]:
    """The text with every code link's range refreshed, and a list of the changes made."""
    changes: list[str] = []
    cache: dict[str, dict[str, tuple[int, int]]] = {}

    def fix(m: re.Match) -> str:
        name, rel = m.group(1), m.group(2)
        defs = cache.setdefault(rel, definitions(ROOT / rel))
        if name not in defs:
            changes.append(f"{name} not defined in {rel}: link left as it is")
            return m.group(0)
        a, b = defs[name]
        if (a, b) != (int(m.group(3)), int(m.group(4))):
            changes.append(f"{name}: {rel}#L{m.group(3)}-L{m.group(4)} -> #L{a}-L{b}")
        return f"[`{name}`](../{rel}#L{a}-L{b})"

    return LINK.sub(fix, text), changes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report stale links, change nothing")
    args = ap.parse_args(argv)
    stale = 0
    for md in sorted((ROOT / "docs").glob("*.md")):
        new, changes = relink(md.read_text())
        for c in changes:
            print(f"{md.name}: {c}")
        stale += len(changes)
        if changes and not args.check:
            md.write_text(new)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
