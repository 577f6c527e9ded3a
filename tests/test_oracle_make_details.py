"""Details of ``make_case`` (``npytrpo/oracle/make.py``) as its docstring and docs/oracle.md
state them (issue 17, mutation testing of ``npytrpo/oracle``): each draw from its own child of
``SeedSequence(seed)``, θ as the init with the head's part at ``log_std_init`` plus noise, the
spec's fields (defaults, conventions, the optional ones written only when not the default, the
gSDE options, the generator), and the argument checks with their messages.
"""

import math

import numpy as np
import pytest

from npytrpo import __version__
from npytrpo.oracle import make_case, validate_case
from npytrpo.oracle.format import CONVENTION_DEFAULTS, OPTIONAL_CONVENTIONS

TOOL = f"npytrpo {__version__} oracle make"
HEADS = [
    dict(policy="categorical", obs_dim=3, n_actions=3, hidden=[4]),
    dict(policy="gaussian", obs_dim=2, act_dim=2, hidden=[]),
    dict(policy="gsde", obs_dim=3, act_dim=2, hidden=[4], full_std=False),
]


@pytest.mark.parametrize("head", HEADS, ids=lambda h: h["policy"])
def test_each_array_is_drawn_from_its_own_child_stream(head):
    """θ = init (child 0) with the head's part set to log_std_init, + noise·N(0, I) (child 1);
    obs N(0, I) (2); actions sampled from π_θ (3); advantages N(0, 1) (4); probes N(0, I) (5)."""
    case = make_case(**head, batch=5, probes=2, seed=11, theta_noise=0.7, log_std_init=-0.5)
    pi = validate_case(case).policy
    P, H = pi.num_params, pi.head.num_params
    r = [np.random.default_rng(s) for s in np.random.SeedSequence(11).spawn(6)]
    theta = pi.init(r[0])
    theta[P - H :] = -0.5
    theta = theta + 0.7 * r[1].standard_normal(P)
    obs = r[2].standard_normal((5, head["obs_dim"]))
    actions = pi.sample(theta, obs, r[3])
    adv, probes = r[4].standard_normal(5), r[5].standard_normal((2, P))
    want = dict(theta=theta, obs=obs, actions=actions, advantages=adv, probes=probes)
    assert set(case.arrays) == set(want)
    for key, value in want.items():
        np.testing.assert_array_equal(case.arrays[key], value, err_msg=key)
        assert case.arrays[key].dtype == value.dtype, key


def test_the_streams_do_not_depend_on_each_other():
    """No probes stores no probes array and leaves the other draws unchanged; another batch
    size leaves θ and the probes unchanged; another seed changes every draw."""
    head = HEADS[1]
    a = make_case(**head, batch=6, probes=2, seed=3)
    b = make_case(**head, batch=6, probes=0, seed=3)
    c = make_case(**head, batch=9, probes=2, seed=3)
    assert "probes" not in b.arrays and set(b.arrays) == {"theta", "obs", "actions", "advantages"}
    for key in b.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    np.testing.assert_array_equal(a.arrays["theta"], c.arrays["theta"])
    np.testing.assert_array_equal(a.arrays["probes"], c.arrays["probes"])
    d = make_case(**head, batch=6, probes=2, seed=4)
    assert all(not np.array_equal(a.arrays[k], d.arrays[k]) for k in a.arrays)


def test_without_noise_theta_is_the_init_with_the_head_at_log_std_init():
    """theta_noise 0: θ's head part (log-std, or gSDE's log-σ) is log_std_init exactly."""
    for head in HEADS[1:]:
        case = make_case(**head, batch=2, probes=0, theta_noise=0.0, log_std_init=0.25)
        pi = validate_case(case).policy
        tail = case.arrays["theta"][pi.num_params - pi.head.num_params :]
        assert tail.size == pi.head.num_params > 0 and np.all(tail == 0.25)
        assert case.spec["generator"] == {"seed": 0, "theta_noise": 0.0, "tool": TOOL,
                                          "log_std_init": 0.25}  # fmt: skip


def test_the_spec_holds_the_head_the_conventions_and_the_generator():
    """The spec: format, policy, sizes, the defaults overridden by the conventions given,
    cg_x0 "zero", the generator (seed, θ noise as a float, the tool), the name, num_params."""
    case = make_case(policy="categorical", obs_dim=3, n_actions=2, hidden=(4,), batch=3,
                     probes=1, seed=2, theta_noise=1, name="mine", delta=0.05,
                     accept="strict")  # fmt: skip
    assert case.spec == {
        "format": "npytrpo-oracle/1", "policy": "categorical", "obs_dim": 3, "hidden": [4],
        "n_actions": 2, **CONVENTION_DEFAULTS, "delta": 0.05, "accept": "strict",
        "cg_x0": "zero", "generator": {"seed": 2, "theta_noise": 1.0, "tool": TOOL},
        "name": "mine", "num_params": 3 * 4 + 4 + 4 * 2 + 2,
    }  # fmt: skip
    assert isinstance(case.spec["generator"]["theta_noise"], float)
    assert list(case.spec)[:5] == ["format", "policy", "obs_dim", "hidden", "n_actions"]


def test_gsde_options_have_sb3_contribs_defaults_and_only_gsde_takes_them():
    """gSDE writes format 2 with full_std True and epsilon 1e-6 unless given; another policy
    given either option is refused, naming them."""
    spec = make_case(policy="gsde", obs_dim=3, act_dim=2, batch=2, probes=0).spec
    assert spec["format"] == "npytrpo-oracle/2"
    assert (spec["full_std"], spec["epsilon"], spec["act_dim"]) == (True, 1e-6, 2)
    assert "n_actions" not in spec
    spec = make_case(policy="gsde", obs_dim=3, act_dim=2, batch=2, probes=0, epsilon=0.0).spec
    assert (spec["full_std"], spec["epsilon"]) == (True, 0.0)
    spec = make_case(policy="gsde", obs_dim=3, act_dim=2, batch=2, probes=0, full_std=False).spec
    assert (spec["full_std"], spec["epsilon"]) == (False, 1e-6)
    assert "full_std" not in make_case(policy="gaussian", obs_dim=1, act_dim=1).spec
    with pytest.raises(ValueError) as e:
        make_case(policy="gaussian", obs_dim=3, act_dim=2, full_std=True, epsilon=0.1)
    assert str(e.value) == "['epsilon', 'full_std'] apply to policy 'gsde' only, got policy " \
        "'gaussian'"  # fmt: skip
    with pytest.raises(ValueError, match=r"^\['epsilon'\] apply to policy 'gsde' only"):
        make_case(policy="categorical", obs_dim=3, n_actions=2, epsilon=0.1)


def test_fvp_subsample_is_written_only_when_it_is_not_one():
    """An optional convention at its default (fvp_subsample 1) is not written, so that old
    readers still read the case; any other value is written (and a bool is not 1: refused)."""
    assert OPTIONAL_CONVENTIONS == {"fvp_subsample": 1}
    base = dict(policy="gaussian", obs_dim=2, act_dim=1, batch=4, probes=0)
    assert "fvp_subsample" not in make_case(**base, fvp_subsample=1).spec
    assert make_case(**base, fvp_subsample=2).spec["fvp_subsample"] == 2
    with pytest.raises(ValueError) as e:
        make_case(**base, fvp_subsample=True)
    assert str(e.value) == "spec['fvp_subsample'] must be an integer >= 1, got True"


def test_unknown_conventions_are_a_type_error_naming_them_and_the_known_ones():
    with pytest.raises(TypeError) as e:
        make_case(policy="gaussian", obs_dim=2, act_dim=1, detla=0.1, cg_iter=3)
    known = [*CONVENTION_DEFAULTS, "fvp_subsample"]
    assert str(e.value) == f"unknown convention(s) ['cg_iter', 'detla']; known: {known}"


@pytest.mark.parametrize("key, low", [("batch", 1), ("probes", 0), ("seed", 0)])
def test_counts_and_seed_are_integers_with_a_lower_bound(key, low):
    """batch >= 1, probes >= 0, seed >= 0, integers (not bools, not floats); the bound itself
    is accepted."""
    base = dict(policy="gaussian", obs_dim=2, act_dim=1, batch=3, probes=1, seed=0)
    assert make_case(**{**base, key: low}).spec["policy"] == "gaussian"
    for bad in (low - 1, float(low + 1), True, None):
        with pytest.raises(ValueError) as e:
            make_case(**{**base, key: bad})
        assert str(e.value) == f"{key} must be an integer >= {low}, got {bad!r}"


def test_theta_noise_and_log_std_init_must_be_finite():
    base = dict(policy="gaussian", obs_dim=2, act_dim=1, batch=3, probes=0)
    for bad in (-0.1, math.nan, math.inf, "0.3", True):
        with pytest.raises(ValueError) as e:
            make_case(**base, theta_noise=bad)
        assert str(e.value) == f"theta_noise must be a finite number >= 0, got {bad!r}"
    for bad in (math.nan, -math.inf, "0"):
        with pytest.raises(ValueError) as e:
            make_case(**base, log_std_init=bad)
        assert str(e.value) == f"log_std_init must be a finite number, got {bad!r}"
    assert "log_std_init" not in make_case(**base, log_std_init=0.0).spec["generator"]


def test_a_spec_the_format_refuses_is_a_value_error_with_its_message():
    """The spec's own checks (validate_spec) are reported as a ValueError with their message."""
    with pytest.raises(ValueError) as e:
        make_case(policy="gaussian", obs_dim=0, act_dim=1)
    assert type(e.value) is ValueError
    assert str(e.value) == "spec['obs_dim'] must be an integer >= 1, got 0"


def test_defaults_are_the_documented_ones():
    """Without them: N = 32, two probes, seed 0, θ noise 0.3, linear, log_std_init 0 (as
    docs/oracle.md's ``make`` line gives them)."""
    case = make_case(policy="gaussian", obs_dim=2, act_dim=1)
    assert case.arrays["obs"].shape == (32, 2) and case.arrays["probes"].shape[0] == 2
    assert case.spec["generator"] == {"seed": 0, "theta_noise": 0.3, "tool": TOOL}
    assert case.spec["hidden"] == [] and "name" not in case.spec
