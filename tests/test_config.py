"""Tests of npytrpo.config.TRPOConfig on its own: documented defaults, every option's range
at its edges, plain Python values, the underflow check, from_options and from_dict."""

import dataclasses
import math
import re

import numpy as np
import pytest

from npytrpo.config import XAX_SOURCES, TRPOConfig
from npytrpo.distributions import KL_DIRECTIONS
from npytrpo.linesearch import ACCEPTANCE_RULES

# The defaults the class docstring states (Schulman et al. 2015's experiments).
DOCUMENTED_DEFAULTS = {
    "delta": 0.01,
    "damping": 0.1,
    "cg_iters": 10,
    "cg_tol": 1e-10,
    "backtrack_coeff": 0.5,
    "max_backtracks": 10,
    "kl_direction": "old_new",
    "accept": "kl_and_improve",
    "fvp_subsample": 1,
    "normalize_advantages": False,
    "entropy_coef": 0.0,
    "xax": "product",
}


def test_defaults_are_the_documented_ones_in_declaration_order():
    """TRPOConfig() holds the docstring's defaults; field_names lists the options in order."""
    assert dataclasses.asdict(TRPOConfig()) == DOCUMENTED_DEFAULTS
    assert TRPOConfig.field_names() == tuple(DOCUMENTED_DEFAULTS)


@pytest.mark.parametrize(
    "options",
    [
        {"delta": 1e-300},  # any positive radius
        {"damping": 0.0},  # no damping (λ = 0)
        {"cg_tol": 0.0},  # run every CG iteration
        {"cg_iters": 1, "max_backtracks": 1, "fvp_subsample": 1},  # the minimum counts
        {"backtrack_coeff": 1e-10, "max_backtracks": 2},  # small α, no underflow
        {"backtrack_coeff": 1.0 - 2**-53},  # the largest float below 1
        {"entropy_coef": 0.0},
        {"normalize_advantages": True},
        *({"kl_direction": d} for d in KL_DIRECTIONS),
        *({"accept": a} for a in ACCEPTANCE_RULES),
        *({"xax": x} for x in XAX_SOURCES),
    ],
)
def test_values_at_the_edges_of_their_ranges_are_accepted(options):
    """Each option accepts the edge values of its documented range, stored unchanged."""
    cfg = TRPOConfig(**options)
    for name, value in options.items():
        assert getattr(cfg, name) == value


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("delta", 0.0, "delta must be > 0.0, got 0.0"),
        ("damping", -1e-300, "damping must be >= 0.0, got -1e-300"),
        ("cg_iters", 0, "cg_iters must be >= 1, got 0"),
        ("cg_tol", -1e-300, "cg_tol must be >= 0.0, got -1e-300"),
        ("backtrack_coeff", 0.0, "backtrack_coeff must be > 0.0, got 0.0"),
        ("backtrack_coeff", 1.0, "backtrack_coeff must be < 1.0, got 1.0"),
        ("max_backtracks", 0, "max_backtracks must be >= 1, got 0"),
        ("fvp_subsample", 0, "fvp_subsample must be >= 1, got 0"),
        ("entropy_coef", -1e-300, "entropy_coef must be >= 0.0, got -1e-300"),
        ("kl_direction", "new", f"kl_direction must be one of {KL_DIRECTIONS}, got 'new'"),
        ("accept", "KL_SLACK", f"accept must be one of {ACCEPTANCE_RULES}, got 'KL_SLACK'"),
        ("xax", "gx", f"xax must be one of {XAX_SOURCES}, got 'gx'"),
    ],
)
def test_values_just_outside_their_ranges_are_value_errors_naming_them(name, value, message):
    """The first value outside each range is a ValueError naming the option and the value."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TRPOConfig(**{name: value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("delta", "0.01", "delta must be a real number, got '0.01'"),
        ("damping", None, "damping must be a real number, got None"),
        ("cg_iters", 10.0, "cg_iters must be an int, got 10.0"),
        ("cg_tol", True, "cg_tol must be a real number, got True"),
        ("backtrack_coeff", "0.5", "backtrack_coeff must be a real number, got '0.5'"),
        ("max_backtracks", 2.0, "max_backtracks must be an int, got 2.0"),
        ("fvp_subsample", True, "fvp_subsample must be an int, got True"),
        ("normalize_advantages", 1, "normalize_advantages must be a bool, got 1"),
        ("entropy_coef", [0.0], "entropy_coef must be a real number, got [0.0]"),
        ("kl_direction", 0, f"kl_direction must be a str, one of {KL_DIRECTIONS}, got 0"),
        ("accept", None, f"accept must be a str, one of {ACCEPTANCE_RULES}, got None"),
        ("xax", 1, f"xax must be a str, one of {XAX_SOURCES}, got 1"),
    ],
)
def test_values_of_the_wrong_kind_are_type_errors_naming_them(name, value, message):
    """A value of the wrong kind is a TypeError naming the option and the value."""
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        TRPOConfig(**{name: value})


def test_numpy_scalars_are_stored_as_plain_python_values():
    """NumPy scalars are converted to float/int/bool (JSON, equality, hashing)."""
    cfg = TRPOConfig(
        delta=np.float32(0.25), damping=np.float64(0.5), cg_iters=np.int64(7),
        cg_tol=np.float64(0.0), backtrack_coeff=np.float64(0.25), max_backtracks=np.int32(4),
        fvp_subsample=np.int16(2), normalize_advantages=np.bool_(True),
        entropy_coef=np.float64(0.125),
    )  # fmt: skip
    types = {name: type(getattr(cfg, name)) for name in TRPOConfig.field_names()}
    assert types == {name: type(value) for name, value in DOCUMENTED_DEFAULTS.items()}
    assert (cfg.delta, cfg.cg_iters, cfg.max_backtracks, cfg.fvp_subsample) == (0.25, 7, 4, 2)
    assert cfg.normalize_advantages is True
    assert hash(cfg) == hash(dataclasses.replace(cfg))


def test_the_last_trial_fraction_must_not_underflow_to_zero():
    """backtrack_coeff**(max_backtracks − 1) is the last trial's fraction: it may be the
    smallest subnormal but not 0, a ValueError naming both options and their values."""
    smallest = 2.0**-1074  # 0.5**1074 is the smallest positive float; 0.5**1075 rounds to 0
    assert 0.5**1074 == smallest and 0.5**1075 == 0.0
    assert TRPOConfig(backtrack_coeff=0.5, max_backtracks=1075).max_backtracks == 1075
    message = (
        "backtrack_coeff**(max_backtracks - 1) underflows to 0, got "
        "backtrack_coeff=0.5, max_backtracks=1076"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TRPOConfig(backtrack_coeff=0.5, max_backtracks=1076)
    assert math.isclose(
        TRPOConfig(backtrack_coeff=1e-300, max_backtracks=1).backtrack_coeff, 1e-300
    )


def test_configs_are_frozen():
    """A TRPOConfig cannot be changed in place (dataclasses.replace derives a variant)."""
    cfg = TRPOConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.delta = 0.02  # type: ignore[misc]


def test_from_options_defaults_replaces_and_checks():
    """from_options: None means TRPOConfig(); no options returns the config itself; options
    replace fields (validated); an unknown option names the owner; a non-config is refused."""
    assert TRPOConfig.from_options() == TRPOConfig()
    cfg = TRPOConfig(delta=0.02)
    assert TRPOConfig.from_options(cfg) is cfg
    derived = TRPOConfig.from_options(cfg, damping=0.0, cg_iters=3)
    assert (derived.delta, derived.damping, derived.cg_iters) == (0.02, 0.0, 3)
    assert cfg.damping == 0.1  # the original is unchanged
    with pytest.raises(ValueError, match=r"^damping must be >= 0\.0, got -1\.0$"):
        TRPOConfig.from_options(cfg, damping=-1.0)
    with pytest.raises(TypeError, match=r"^trpo_step got an unexpected keyword argument 'dleta'$"):
        TRPOConfig.from_options(cfg, "trpo_step", dleta=0.1)
    with pytest.raises(TypeError, match=r"^TRPOConfig got an unexpected keyword argument 'x'$"):
        TRPOConfig.from_options(None, x=1)
    with pytest.raises(TypeError, match=r"^config must be a TRPOConfig, got dict$"):
        TRPOConfig.from_options({"delta": 0.02})


def test_from_dict_round_trips_asdict_and_checks_its_input():
    """from_dict(asdict(cfg)) == cfg; a non-mapping, an unknown key or a bad value is refused
    with the error naming it (the owner is "TRPOConfig")."""
    cfg = TRPOConfig(delta=0.03, accept="kl_slack", normalize_advantages=True, cg_iters=4)
    assert TRPOConfig.from_dict(dataclasses.asdict(cfg)) == cfg
    assert TRPOConfig.from_dict({}) == TRPOConfig()
    with pytest.raises(TypeError, match=r"^config must be a mapping, got list$"):
        TRPOConfig.from_dict([("delta", 0.03)])
    with pytest.raises(TypeError, match=r"^TRPOConfig got an unexpected keyword argument 'lr'$"):
        TRPOConfig.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match=r"^cg_iters must be >= 1, got 0$"):
        TRPOConfig.from_dict({"cg_iters": 0})
