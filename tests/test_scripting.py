"""Tests for npytrpo.tools.scripting: dataclass → command-line flags, field docstrings in --help."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npytrpo.tools.scripting import field_docs, parse_dataclass_args


@dataclass
class Base:
    seed: int = 0
    """seeds
    everything"""


@dataclass
class Args(Base):
    rate: float = 0.5
    """step size, 50% by default"""
    name: str = ""
    """run name"""
    plot: bool = True
    """draw the figure"""
    hidden: tuple[int, ...] = (64, 64)
    """hidden widths"""
    rates: list[float] = field(default_factory=lambda: [0.1, 0.2])
    """rates to try"""
    budget: int | None = None
    """steps (None: the preset's)"""
    out: str = "x.png"
    """figure file (default: next to the script)"""
    tagged: int = field(default=3, metadata={"help": "from metadata"})
    """from the docstring"""
    bare: int = 1


@dataclass
class Needs:
    count: int
    """how many"""


def help_text(cls, capsys, monkeypatch) -> str:
    """The --help output of ``cls``'s parser, whitespace collapsed (wide terminal: no wrap)."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exc:
        parse_dataclass_args(cls, ["--help"], description="demo")
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_field_docs_reads_the_string_under_each_field_including_base_classes():
    """field_docs maps each documented field (own and inherited) to its docstring, whitespace
    collapsed; undocumented fields are absent."""
    docs = field_docs(Args)
    assert docs["seed"] == "seeds everything"
    assert docs["rate"] == "step size, 50% by default"
    assert docs["tagged"] == "from the docstring"
    assert "bare" not in docs


def test_field_docs_without_source_is_empty():
    """A dataclass built at run time has no source: no descriptions, no error."""
    made = dataclasses.make_dataclass("Made", [("a", int, 1)])
    assert field_docs(made) == {}
    assert parse_dataclass_args(made, ["--a", "4"]).a == 4


def test_defaults_and_every_kind_of_flag():
    """No flags give the defaults; each kind parses from its flag."""
    assert parse_dataclass_args(Args, []) == Args()
    got = parse_dataclass_args(
        Args,
        ["--seed", "3", "--rate", "1e-3", "--name", "r1", "--no-plot", "--hidden", "8",
         "--rates", "1,2.5", "--budget", "100", "--tagged", "4"],
    )  # fmt: skip
    assert got == Args(seed=3, rate=1e-3, name="r1", plot=False, hidden=(8,), rates=[1.0, 2.5],
                       budget=100, tagged=4)  # fmt: skip
    assert isinstance(got.hidden, tuple) and isinstance(got.rates, list)


def test_empty_list_and_none():
    """An empty value is the empty sequence; the word None is None for an optional field."""
    got = parse_dataclass_args(Args, ["--hidden", "", "--budget", "None"])
    assert got.hidden == () and got.budget is None


@given(st.lists(st.integers(-(10**6), 10**6), max_size=6))
def test_int_sequences_round_trip(xs):
    """--hidden=a,b,... gives the tuple of those ints (the = form lets a list start with -)."""
    text = ",".join(map(str, xs))
    assert parse_dataclass_args(Args, [f"--hidden={text}"]).hidden == tuple(xs)


def test_help_shows_descriptions_defaults_and_list_syntax(capsys, monkeypatch):
    """--help gives each field's description and default; list options say how to write them;
    metadata help wins over the docstring; '%' in a description is printed as is."""
    text = help_text(Args, capsys, monkeypatch)
    assert "--seed INT seeds everything (default: 0)" in text
    assert "--rate FLOAT step size, 50% by default (default: 0.5)" in text
    assert '--name STR run name (default: "")' in text
    assert "draw the figure (default: on)" in text
    assert "--hidden INT[,...] hidden widths; comma-separated int values (default: 64,64)" in text
    assert "--rates FLOAT[,...] rates to try; comma-separated float values (default: 0.1,0.2)" in (
        text
    )
    assert "--budget INT steps (None: the preset's) (default: None)" in text
    assert "--out STR figure file (default: next to the script) --" in text  # not stated twice
    assert "--tagged INT from metadata (default: 3)" in text
    assert "--bare INT default: 1" in text


def test_required_field_and_bad_values_exit_with_a_message(capsys):
    """A field without default is required; a value of the wrong type names what was expected."""
    with pytest.raises(SystemExit):
        parse_dataclass_args(Needs, [])
    assert "--count" in capsys.readouterr().err
    assert parse_dataclass_args(Needs, ["--count", "2"]).count == 2
    with pytest.raises(SystemExit):
        parse_dataclass_args(Args, ["--hidden", "1,x"])
    assert "invalid comma-separated int value: '1,x'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_dataclass_args(Args, ["--budget", "many"])
    assert "invalid int or None value: 'many'" in capsys.readouterr().err


def test_not_a_dataclass_is_a_type_error():
    """cls must be a dataclass type (TypeError naming the argument and the value)."""
    with pytest.raises(TypeError, match="cls must be a dataclass type, got 3"):
        parse_dataclass_args(3, [])
    with pytest.raises(TypeError, match="cls must be a dataclass type"):
        parse_dataclass_args(Args(), [])
