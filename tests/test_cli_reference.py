"""docs/cli.md, the command-line reference, is what the parsers say: regenerating it from the code
gives the committed page byte for byte, and it describes the options ``--help`` prints, with the
same help sentences (compared without whitespace, which ``--help`` wraps to the terminal)."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from npytrpo.oracle.cli import _parser as oracle_parser
from npytrpo.tools.cli import _build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "cli.md"


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs" / "cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_reference = _load_generator()


def _commands():
    """``(prog, parser)`` of every command documented on the page."""
    out = []
    for prog, parser in (("npytrpo", _build_parser()), ("npytrpo oracle", oracle_parser())):
        out.append((prog, parser))
        for name, _, sub in cli_reference._subcommands(parser):
            if (prog, name) != ("npytrpo", "oracle"):
                out.append((f"{prog} {name}", sub))
    return out


COMMANDS = _commands()


def _section(page: str, prog: str) -> str:
    """The text of ``## `prog` `` up to the next heading of its level."""
    m = re.search(rf"^## `{re.escape(prog)}`\n(.*?)(?=^## |\Z)", page, re.S | re.M)
    assert m, f"docs/cli.md has no section for {prog}"
    return m.group(1)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_committed_reference_is_the_generated_one():
    assert cli_reference.render() == PAGE.read_text(), (
        "docs/cli.md is stale: run python docs/cli_reference.py"
    )


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text(PAGE.read_text().replace("evaluate a saved model", "evaluate a model"))
    monkeypatch.setattr(cli_reference, "PAGE", stale)
    monkeypatch.setattr(cli_reference, "ROOT", tmp_path)
    assert cli_reference.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().out
    assert cli_reference.main([]) == 0  # rewrites it
    assert stale.read_text() == cli_reference.render()
    assert cli_reference.main(["--check"]) == 0


@pytest.mark.parametrize("prog,parser", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_and_help_sentence_of_help_is_in_its_section(prog, parser):
    section = _section(PAGE.read_text(), prog)
    help_text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        for opt in action.option_strings:
            assert opt in help_text
            assert f"`{opt}`" in section, f"{prog}: {opt} missing from docs/cli.md"
        if action.help not in (None, argparse.SUPPRESS):
            # The same sentence in --help (wrapped) and on the page (escaped pipes).
            assert _squash(action.help) in _squash(help_text)
            assert _squash(action.help.replace("|", "\\|")) in _squash(section), (
                f"{prog}: help of {action.dest} differs"
            )
        if action.choices is not None and action.metavar is None:
            assert "{" + ",".join(map(str, action.choices)) + "}" in section


@pytest.mark.parametrize("prog,parser", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_group_title_of_help_heads_a_table(prog, parser):
    section = _section(PAGE.read_text(), prog)
    help_text = parser.format_help()
    for group in parser._action_groups:
        shown = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if shown and not all(isinstance(a, argparse._SubParsersAction) for a in shown):
            assert f"{group.title}:" in help_text
            assert f"**{group.title}**" in section


def test_the_page_is_in_the_sites_table_of_contents():
    index = (ROOT / "docs" / "index.md").read_text()
    toc = re.search(r"```\{toctree\}(.*?)```", index, re.S).group(1)
    assert "cli" in toc.split()


def test_a_mutually_exclusive_requirement_is_stated():
    section = _section(PAGE.read_text(), "npytrpo oracle make")
    assert "Give exactly one of `--n-actions` or `--act-dim`." in section


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
