"""Write docs/cli.md, the command-line reference, from the argparse parsers themselves.

Every command of ``npytrpo`` and ``npytrpo oracle`` gets a section with its one-line help, its
usage, and a table of its arguments (name, value, default, description), grouped as the parser
groups them. The page is built from the parsers' structure (option strings, metavars, choices,
defaults, help strings), not from ``--help``'s text, so it does not depend on the terminal's
width or on the Python version's help layout. Run after changing an option:

    python docs/cli_reference.py            # rewrite docs/cli.md
    python docs/cli_reference.py --check    # exit 1 if docs/cli.md is stale (what the test checks)
"""

from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "cli.md"

HEADER = """\
# Command-line reference

Generated from the parsers by `python docs/cli_reference.py` (do not edit by hand;
`tests/test_cli_reference.py` fails when this page and the code disagree). `npytrpo COMMAND
--help` prints the same options. Exit status: 0 success, 2 a usage error (one line on stderr,
no traceback); `npytrpo oracle check` and `verify` exit 1 when an implementation disagrees.
"""


def _cell(text: str) -> str:
    """Markdown-table-safe text: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _value(action: argparse.Action) -> str:
    """What an option takes, as ``--help`` shows it (argparse's own formatting of metavars,
    choices and nargs); nothing for a flag."""
    if action.nargs == 0:
        return ""
    fmt = argparse.HelpFormatter("npytrpo")
    if action.option_strings:
        default = fmt._get_default_metavar_for_optional(action)
    else:
        default = fmt._get_default_metavar_for_positional(action)
    return fmt._format_args(action, default)


def _default(action: argparse.Action) -> str:
    """The default as argparse stores it, blank where there is none to show."""
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, [], ""):
        return ""
    return f"`{action.default!r}`"


def _name(action: argparse.Action) -> str:
    if action.option_strings:
        return ", ".join(f"`{s}`" for s in action.option_strings)
    return f"`{action.metavar or action.dest}`"


def _rows(actions: list[argparse.Action]) -> list[str]:
    rows = []
    for a in actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        help_text = "" if a.help in (None, argparse.SUPPRESS) else a.help
        rows.append(f"| {_name(a)} | {_cell(_value(a))} | {_default(a)} | {_cell(help_text)} |")
    return rows


def _usage(prog: str, parser: argparse.ArgumentParser) -> str:
    positional = [_value(a) for a in parser._actions if not a.option_strings]
    return " ".join([prog, "[options]", *positional])


def _command(prog: str, help_line: str, parser: argparse.ArgumentParser) -> list[str]:
    """One command's section: heading, help line, description, usage, argument tables."""
    out = [f"## `{prog}`", ""]
    if help_line:
        out += [_cell(help_line), ""]
    if parser.description and parser.description != help_line:
        out += [_cell(parser.description), ""]
    out += ["```text", _usage(prog, parser), "```", ""]
    return out + _tables(parser)


def _tables(parser: argparse.ArgumentParser) -> list[str]:
    """One table per argument group (headed by its title), then the exclusive groups' rules."""
    out: list[str] = []
    exclusive = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    for group in parser._action_groups:
        rows = _rows(group._group_actions)
        if not rows:
            continue
        out += [f"**{_cell(group.title)}**", ""]
        out += ["| argument | value | default | description |", "|---|---|---|---|", *rows, ""]
    for group in {id(g): g for g in exclusive.values()}.values():
        names = " or ".join(_name(a) for a in group._group_actions)
        need = "exactly one" if group.required else "at most one"
        out += [f"Give {need} of {names}.", ""]
    return out


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, help, parser)`` of every sub-command, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in action._choices_actions}
            return [(name, helps.get(name, ""), p) for name, p in action.choices.items()]
    return []


def render() -> str:
    """The whole page: ``npytrpo`` and its commands, then ``npytrpo oracle`` and its commands."""
    from npytrpo.oracle.cli import _parser as oracle_parser
    from npytrpo.tools.cli import _build_parser

    lines = [HEADER]
    for prog, parser in (("npytrpo", _build_parser()), ("npytrpo oracle", oracle_parser())):
        lines += [f"## `{prog}`", "", _cell(parser.description or ""), ""]
        lines += [f"Commands: {', '.join(f'`{n}`' for n, _, _ in _subcommands(parser))}.", ""]
        lines += _tables(parser)
        for name, help_line, sub in _subcommands(parser):
            if prog == "npytrpo" and name == "oracle":
                continue  # forwarded: its own section follows
            lines += _command(f"{prog} {name}", help_line, sub)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/cli.md is stale")
    a = p.parse_args(argv)
    text = render()
    current = PAGE.read_text() if PAGE.exists() else ""
    if a.check:
        if text != current:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python docs/cli_reference.py")
            return 1
        return 0
    if text != current:
        PAGE.write_text(text)
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
