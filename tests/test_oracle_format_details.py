"""Details of the oracle's format (``npytrpo/oracle/format.py``) as its docstrings and
docs/oracle.md ("File format", "Digest") state them (issue 17, mutation testing of
``npytrpo/oracle``): every refusal of a spec or a case with its exact message (the key, the bound
and the value received), the bounds themselves (inclusive or not), what a spec is normalised to,
the format versions, gSDE's features, and the digest recomputed from its documented definition.
"""

import hashlib
import json
import math

import numpy as np
import pytest

from npytrpo import __version__
from npytrpo.oracle import OracleData, OracleError, case_digest, validate_case, validate_spec
from npytrpo.oracle.format import CASE_FORMAT, CASE_FORMAT_2, RESULT_FORMAT, _check_format

CONV = {"delta": 0.01, "damping": 0.1, "cg_iters": 10, "cg_tol": 1e-10, "backtrack_coeff": 0.5,
        "max_backtracks": 10, "kl_direction": "old_new", "accept": "kl_and_improve",
        "normalize_advantages": False, "gaussian_kl_reduction": "sum"}  # fmt: skip
CAT = {"format": CASE_FORMAT, "policy": "categorical", "obs_dim": 2, "hidden": [], "n_actions": 2,
       **CONV}  # fmt: skip
GAUSS = {"format": CASE_FORMAT, "policy": "gaussian", "obs_dim": 2, "hidden": [3], "act_dim": 2,
         **CONV}  # fmt: skip
GSDE = {**GAUSS, "format": CASE_FORMAT_2, "policy": "gsde", "full_std": True, "epsilon": 1e-6}


def refused(spec):
    with pytest.raises(OracleError) as e:
        validate_spec(spec)
    return str(e.value)


def test_the_convention_defaults_are_docs_defaults():
    """The conventions a spec must carry, with docs/design.md's defaults."""
    from npytrpo.oracle.format import CONVENTION_DEFAULTS

    assert CONVENTION_DEFAULTS == CONV and list(CONVENTION_DEFAULTS) == list(CONV)


# ============================================================== numbers and their bounds
@pytest.mark.parametrize("key, low", [("obs_dim", 1), ("cg_iters", 1), ("max_backtracks", 1)])
def test_integer_keys_have_an_inclusive_lower_bound(key, low):
    """An integer key is an int (not a bool, not a float) >= its bound; the bound is accepted."""
    assert validate_spec({**CAT, key: low})[key] == low
    for bad in (low - 1, float(low), True, "1"):
        want = f"spec[{key!r}] must be an integer >= {low}, got {bad!r}"
        assert refused({**CAT, key: bad}) == want


def test_the_head_size_is_at_least_two_actions_or_one_action_dim():
    assert validate_spec({**CAT, "n_actions": 2})["n_actions"] == 2
    assert refused({**CAT, "n_actions": 1}) == "spec['n_actions'] must be an integer >= 2, got 1"
    assert validate_spec({**GAUSS, "act_dim": 1})["act_dim"] == 1
    assert refused({**GAUSS, "act_dim": 0}) == "spec['act_dim'] must be an integer >= 1, got 0"


@pytest.mark.parametrize("key, ok, bad, bound", [
    ("delta", [1e-300, 5], [0.0, -1.0], "> 0.0"),
    ("damping", [0.0, 2], [-1e-300], ">= 0.0"),
    ("cg_tol", [0.0, 1], [-1.0], ">= 0.0"),
    ("backtrack_coeff", [1e-3, 0.999], [0.0, 1.0, 1.5, -0.5], "in (0.0, 1.0)"),
])  # fmt: skip
def test_real_keys_are_finite_numbers_within_their_documented_range(key, ok, bad, bound):
    """A real key is a finite int or float (not a bool) in its range, normalised to a float."""
    for v in ok:
        out = validate_spec({**CAT, key: v})[key]
        assert out == v and type(out) is float
    for v in [*bad, math.inf, math.nan, True, "0.5", None]:
        assert refused({**CAT, key: v}) == f"spec[{key!r}] must be a finite number {bound}, " \
            f"got {v!r}"  # fmt: skip


def test_a_backtrack_coefficient_whose_last_trial_underflows_is_refused():
    """α^(max_backtracks − 1) must not underflow to 0 (the last trial would be θ_old)."""
    assert validate_spec({**CAT, "backtrack_coeff": 1e-300, "max_backtracks": 2})
    assert refused({**CAT, "backtrack_coeff": 1e-300, "max_backtracks": 3}) == (
        "spec['backtrack_coeff'] ** (max_backtracks - 1) underflows to 0"
    )
    assert validate_spec({**CAT, "backtrack_coeff": 1e-300, "max_backtracks": 1})


def test_fvp_subsample_is_optional_and_an_integer_at_least_one():
    assert validate_spec(CAT)["fvp_subsample"] == 1
    assert validate_spec({**CAT, "fvp_subsample": 4})["fvp_subsample"] == 4
    for bad in (0, True, 2.0):
        assert refused({**CAT, "fvp_subsample": bad}) == (
            f"spec['fvp_subsample'] must be an integer >= 1, got {bad!r}"
        )


def test_hidden_is_a_list_of_integers_at_least_one():
    assert validate_spec({**GAUSS, "hidden": [1, 5]})["hidden"] == [1, 5]
    for bad in ([0], [2, True], (3,), [2.0], "4"):
        assert refused({**GAUSS, "hidden": bad, "num_params": 0}) == (
            f"spec['hidden'] must be a list of integers >= 1, got {bad!r}"
        )


# ============================================================== choices
@pytest.mark.parametrize("key, choices", [
    ("kl_direction", ["old_new", "new_old"]),
    ("accept", ["kl_and_improve", "strict", "kl_slack", "expected_ratio"]),
    ("normalize_advantages", [False, True]),
])  # fmt: skip
def test_choices_are_exact_and_bools_are_not_numbers(key, choices):
    for v in choices:
        assert validate_spec({**CAT, key: v})[key] == v
    for bad in ("x", 0, 1, None):
        assert refused({**CAT, key: bad}) == f"spec[{key!r}] must be one of {choices}, got {bad!r}"


def test_the_gaussian_kl_reduction_is_sum_or_mean_and_only_sum_for_categorical():
    assert validate_spec({**GAUSS, "gaussian_kl_reduction": "mean"})["gaussian_kl_reduction"] == \
        "mean"  # fmt: skip
    assert refused({**GAUSS, "gaussian_kl_reduction": "avg"}) == (
        "spec['gaussian_kl_reduction'] must be one of ['sum', 'mean'], got 'avg'"
    )
    assert refused({**CAT, "gaussian_kl_reduction": "mean"}) == (
        "spec['gaussian_kl_reduction'] must be 'sum' for a categorical policy (it has no meaning "
        "there), got 'mean'"
    )


def test_informational_keys_are_checked_when_present():
    """cg_x0 "zero" only; name and description strings; generator an object."""
    spec = {**CAT, "cg_x0": "zero", "name": "n", "description": "d", "generator": {"seed": 1}}
    assert validate_spec(spec) == {**spec, "fvp_subsample": 1}
    assert refused({**CAT, "cg_x0": "random"}) == (
        "spec['cg_x0'] must be one of ['zero'] in format 1 (CG starts from x = 0), got 'random'"
    )
    for key in ("name", "description"):
        assert refused({**CAT, key: 3}) == f"spec[{key!r}] must be a string, got 3"
    assert refused({**CAT, "generator": [1]}) == "spec['generator'] must be an object, got [1]"


def test_gsde_options_are_required_and_checked():
    """A gSDE spec needs full_std (a bool) and epsilon (a finite number >= 0)."""
    out = validate_spec({**GSDE, "epsilon": 0})
    assert out["epsilon"] == 0.0 and type(out["epsilon"]) is float and out["full_std"] is True
    assert out == {**GSDE, "epsilon": 0.0, "fvp_subsample": 1, "delta": 0.01}  # no other key
    assert refused({**GSDE, "full_std": 1}) == "spec['full_std'] must be one of [True, False], " \
        "got 1"  # fmt: skip
    assert refused({**GSDE, "epsilon": -1e-9}) == "spec['epsilon'] must be a finite number >= " \
        "0.0, got -1e-09"  # fmt: skip
    spec = dict(GSDE)
    del spec["epsilon"]
    assert refused(spec) == "spec is missing required key(s) ['epsilon']"


# ============================================================== keys and formats
def test_keys_must_be_exactly_the_required_ones_plus_informational_ones():
    spec = dict(GAUSS)
    del spec["damping"], spec["accept"]
    assert refused(spec) == "spec is missing required key(s) ['damping', 'accept']"
    known = sorted({*GAUSS, "cg_x0", "num_params", "name", "description", "generator",
                    "fvp_subsample"})  # fmt: skip
    assert refused({**GAUSS, "zeta": 1, "alpha": 2}) == (
        f"spec has unknown key(s) ['alpha', 'zeta']; known: {known}"
    )
    assert refused({**GAUSS, "n_actions": 2}) == (
        "spec['n_actions'] does not apply to a gaussian policy (use 'act_dim')"
    )
    assert refused({**CAT, "act_dim": 2}) == (
        "spec['act_dim'] does not apply to a categorical policy (use 'n_actions')"
    )
    assert refused({**GAUSS, "full_std": True}) == (
        "spec key(s) ['full_std'] apply to a gsde policy only, not gaussian"
    )


def test_the_policy_must_be_known_to_the_cases_format():
    """Format 1 knows categorical and Gaussian; gsde needs format 2 (and the message says so);
    format 2 reads every head; a spec of another kind, or none, is refused as the case's."""
    assert refused({**GSDE, "format": CASE_FORMAT}) == (
        "spec['policy'] must be one of ['categorical', 'gaussian'] in format 'npytrpo-oracle/1', "
        "got 'gsde' (gsde needs format 'npytrpo-oracle/2')"
    )
    assert refused({**CAT, "policy": "beta"}) == (
        "spec['policy'] must be one of ['categorical', 'gaussian'] in format 'npytrpo-oracle/1', "
        "got 'beta'"
    )
    assert validate_spec({**CAT, "format": CASE_FORMAT_2})["policy"] == "categorical"
    assert refused([CAT]) == "spec must be a JSON object, got list"
    assert refused({**CAT, "format": RESULT_FORMAT}) == (
        "case is a 'npytrpo-oracle-result/1' file, not a case one"
    )
    no_format = dict(CAT)
    del no_format["format"]
    assert refused(no_format) == "case: spec has no 'format' key; expected 'npytrpo-oracle/1'"


def test_format_checks_name_the_kind_of_file_and_the_versions_read():
    """A result where a case belongs (and the reverse), no format, an unknown version."""
    def msg(spec, expected, what="f"):
        with pytest.raises(OracleError) as e:
            _check_format(spec, expected, what)
        return str(e.value)

    _check_format({"format": CASE_FORMAT_2}, CASE_FORMAT, "f")  # any case format is a case
    _check_format({"format": RESULT_FORMAT}, RESULT_FORMAT, "f")
    assert msg({"format": RESULT_FORMAT}, CASE_FORMAT) == \
        "f is a 'npytrpo-oracle-result/1' file, not a case one"  # fmt: skip
    assert msg({"format": CASE_FORMAT_2}, RESULT_FORMAT) == \
        "f is a 'npytrpo-oracle/2' file, not a 'npytrpo-oracle-result/1' one"  # fmt: skip
    assert msg({}, CASE_FORMAT) == "f: spec has no 'format' key; expected 'npytrpo-oracle/1'"
    assert msg({"format": "npytrpo-oracle/9"}, CASE_FORMAT) == (
        f"f: unknown format version 'npytrpo-oracle/9'; this npytrpo ({__version__}) reads "
        "['npytrpo-oracle/1', 'npytrpo-oracle/2']"
    )
    assert msg({"format": "x"}, RESULT_FORMAT) == (
        f"f: unknown format version 'x'; this npytrpo ({__version__}) reads "
        "'npytrpo-oracle-result/1'"
    )


def test_num_params_must_match_the_architecture():
    P = 2 * 3 + 3 + 3 * 2 + 2 + 2
    assert validate_spec({**GAUSS, "num_params": P})["num_params"] == P
    assert refused({**GAUSS, "num_params": P + 1}) == (
        f"spec['num_params'] = {P + 1} but the architecture obs_dim=2, hidden=[3], act_dim=2 "
        f"has P = {P} parameters"
    )
    # gSDE's log-σ matrix is over the last hidden layer (3 features), or obs (2) when linear
    assert validate_spec({**GSDE, "num_params": P - 2 + 3 * 2})
    assert validate_spec({**GSDE, "full_std": False, "num_params": P - 2 + 3})
    linear = {**GSDE, "hidden": [], "num_params": 2 * 2 + 2 + 2 * 2}
    assert validate_spec(linear)


# ============================================================== the case's arrays
def case(spec=CAT, N=3, **arrays):
    out = validate_spec(spec)
    from npytrpo.oracle.format import _policy

    P = _policy(out).num_params
    rng = np.random.default_rng(0)
    act = np.array([0, 1, 1][:N]) if spec["policy"] == "categorical" else rng.standard_normal(
        (N, spec["act_dim"]))  # fmt: skip
    base = {"theta": rng.standard_normal(P), "obs": rng.standard_normal((N, spec["obs_dim"])),
            "actions": act, "advantages": rng.standard_normal(N)}  # fmt: skip
    return OracleData(dict(spec), {**base, **arrays})


def bad_case(data):
    with pytest.raises(OracleError) as e:
        validate_case(data)
    return str(e.value)


def test_case_arrays_are_refused_by_name_with_what_was_expected():
    P = 6
    assert bad_case(case(probes=np.zeros(P))) == (
        f"case array 'probes' has shape ({P},), expected (K, {P}), K >= 1"
    )
    assert bad_case(case(probes=np.zeros((0, P)))) == (
        f"case array 'probes' has shape (0, {P}), expected (K, {P}), K >= 1"
    )
    assert bad_case(case(probes=np.zeros((2, P + 1)))) == (
        f"case array 'probes' has shape (2, {P + 1}), expected (2, {P}) (P = {P})"
    )
    assert validate_case(case(probes=np.zeros((1, P)))).probes.shape == (1, P)
    assert validate_case(case(N=1)).obs.shape == (1, 2)  # N = 1 is a batch
    assert validate_case(case()).probes is None
    assert bad_case(case(obs=np.zeros(3))) == "case array 'obs' has shape (3,), expected (N, 2)"
    assert bad_case(case(obs=np.zeros((0, 2)), advantages=np.zeros(0), actions=np.zeros(0, int))) \
        == "case array 'obs' has no rows; a batch needs N >= 1"  # fmt: skip
    assert bad_case(case(theta=np.zeros(P, np.float32))) == (
        "case array 'theta' has dtype float32, expected float64 (cases are the float64 "
        "reference; convert before writing)"
    )
    assert bad_case(case(advantages=np.zeros(4))) == (
        "case array 'advantages' has shape (4,), expected (3,) (one per observation, N = 3)"
    )
    data = case()
    del data.arrays["theta"], data.arrays["advantages"]
    assert bad_case(data) == "case is missing required array(s) ['theta', 'advantages']"
    assert bad_case(case(zz=np.zeros(1), aa=np.zeros(1))) == (
        "case has unknown array(s) ['aa', 'zz']; known: ['theta', 'obs', 'actions', "
        "'advantages', 'probes']"
    )


def test_non_finite_entries_are_counted_and_the_first_is_located():
    obs = np.zeros((3, 2))
    obs[2, 1], obs[1, 0] = np.inf, np.nan
    assert bad_case(case(obs=obs)) == (
        "case array 'obs' has 2 NaN/inf entries (first at index (1, 0)); a case must be finite"
    )


def test_actions_must_fit_the_head():
    """Categorical: integers (any width, returned as int64) in [0, K) of shape (N,); Gaussian:
    float64 of shape (N, A)."""
    out = validate_case(case(actions=np.array([0, 1, 1], dtype=np.uint8))).actions
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 1]
    assert bad_case(case(actions=np.array([0.0, 1.0, 1.0]))) == (
        "case array 'actions' has dtype float64; a categorical case needs integer actions (int64)"
    )
    assert bad_case(case(actions=np.array([[0], [1], [1]]))) == (
        "case array 'actions' has shape (3, 1), expected (3,)"
    )
    assert bad_case(case(actions=np.array([0, 2, 1]))) == (
        "case array 'actions' has values in [0, 2] but spec['n_actions'] = 2 allows [0, 1]"
    )
    assert bad_case(case(actions=np.array([-1, 1, 1]))) == (
        "case array 'actions' has values in [-1, 1] but spec['n_actions'] = 2 allows [0, 1]"
    )
    assert bad_case(case(GAUSS, actions=np.zeros((3, 2), np.float32))) == (
        "case array 'actions' has dtype float32; a gaussian case needs float64 actions"
    )
    assert bad_case(case(GAUSS, actions=np.zeros((3, 3)))) == (
        "case array 'actions' has shape (3, 3), expected (3, 2) (spec['act_dim'] = 2)"
    )
    got = validate_case(case(GAUSS))
    assert got.actions.shape == (3, 2) and got.spec["act_dim"] == 2


def test_the_digest_is_the_documented_sha256():
    """SHA-256 of the canonical spec JSON (sorted keys, no spaces), then per array in sorted
    name order "\\n{name}:{dtype}:{shape}\\n" and its little-endian C-order bytes."""
    data = case(GAUSS)
    data.arrays["obs"] = np.asfortranarray(data.arrays["obs"]).astype(">f8")
    h = hashlib.sha256(json.dumps(data.spec, sort_keys=True, separators=(",", ":")).encode())
    for key in sorted(data.arrays):
        a = np.ascontiguousarray(data.arrays[key]).astype(
            np.dtype(data.arrays[key].dtype.str.replace(">", "<")))  # fmt: skip
        h.update(f"\n{key}:{a.dtype.name}:{list(a.shape)}\n".encode())
        h.update(a.tobytes())
    assert case_digest(data) == h.hexdigest()
    with pytest.raises(OracleError, match="^spec is not JSON-serialisable: "):
        case_digest(OracleData({"x": math.nan}, {}))
