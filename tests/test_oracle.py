"""Tests for npytrpo.oracle: golden vectors reproduce, npz ↔ JSON round trips, ``check`` passes an
independent implementation and fails perturbed numbers, and every bad input is a clear exit 2."""

import glob
import json
import math
import os
import pickle

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npytrpo import oracle
from npytrpo.oracle import (
    CASE_FORMAT,
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    RESULT_FORMAT,
    OracleData,
    OracleError,
    case_digest,
    check_result,
    from_json,
    load,
    main,
    make_case,
    run_case,
    save,
    to_json,
)
from npytrpo.policies import CategoricalPolicy
from npytrpo.trust_region import trpo_step

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "oracle")
NAMES = sorted(
    os.path.basename(p)[: -len(".case.npz")] for p in glob.glob(os.path.join(GOLDEN, "*.case.npz"))
)

# Recomputing a golden case on the machine that wrote it is bit-exact. On another BLAS build the
# dot products and matrix products sum in another order: ~1e-16 relative per operation, which
# the well-posed golden cases amplify at most 1e4 times (x, x*: their measured amplification,
# MAX_AMPLIFICATION), i.e. ≤ 1e-12; 1e-10 (norm-wise, as ``check``) leaves a hundredfold margin.
# GOLDEN_ATOL covers quantities that are rounding noise around 0 (cg_residual after CG converged
# to ~1e-17, the mean of normalised advantages).
GOLDEN_RTOL = 1e-10
GOLDEN_ATOL = 1e-13
# An independent float32 implementation (below) against the oracle on the golden cases, worst
# norm-wise error seen: 1e-3 (full_step, ls_improvement); docs/oracle.md lists every key.
# cg_residual (rounding noise once CG converges), cg_iterations (the float32 residual floor
# changes when CG stops) and, with damping 0, the pseudo-inverse family (pinvh's cut-off at
# P·eps_float32 drops other eigenvalues) are not comparable in float32 and are left out.
# The margins (spec["margins"]) are recomputed too. The decision margins ("cg", "line_search")
# are |v − t|/t of quantities reproduced within GOLDEN_RTOL, v/t ≤ 3e4 on these cases: ≤ 3e-6
# relative, so DECISION_RTOL = 1e-5 (seen: ≤ 3e-11 after the redesign reordered the categorical
# arithmetic), and it still sees a wrong threshold (kl_slack's 1.5δ read as δ moves the
# categorical_baselines margin from 0.410 to 0.116). The amplifications are the response to a
# fixed draw of 1e-12 noise: that reordering moved them by ≤ 3e-3, and by 3x where the pinvh
# cut-off decides (categorical_mlp_undamped's x*), so they are held to an order of magnitude,
# which is what well_posed's 1e4 threshold reads. None and "Infinity" must match exactly.
DECISION_RTOL = 1e-5
AMPLIFICATION_FACTOR = 10.0
F32_RTOL = 5e-3
F32_ATOL = 1e-5
F32_SKIP = {"cg_residual", "cg_iterations"}
F32_SKIP_UNDAMPED = {"x_exact", "step_size_exact", "full_step_exact"}


def golden(name, kind="case", ext="npz"):
    return os.path.join(GOLDEN, f"{name}.{kind}.{ext}")


def small_case(**kw):
    args = dict(policy="categorical", obs_dim=3, n_actions=3, hidden=[4], batch=12, probes=2)
    args.update(kw)
    return make_case(**args)


def write_npz(path, members):
    """An .npz written the plain way (np.savez), as another language's tool would."""
    with open(path, "wb") as f:
        np.savez(f, **members)


def case_members(case):
    return {"spec": np.array(json.dumps(case.spec)), **case.arrays}


# ====================================================================== independent implementation
def independent_step(spec, arrays, dtype=np.float64):
    """A TRPO step written again from DESIGN.md's formulas, in ``dtype``: dense Jacobians by
    explicit backprop, dense F, textbook CG, its own line search — the role of a user's
    PyTorch/JAX step. Shares no code with npytrpo."""
    f = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
    theta, obs, adv = f(arrays["theta"]), f(arrays["obs"]), f(arrays["advantages"])
    gaussian = spec["policy"] == "gaussian"
    actions = f(arrays["actions"]) if gaussian else arrays["actions"]
    K = spec["act_dim"] if gaussian else spec["n_actions"]
    sizes, N = [spec["obs_dim"], *spec["hidden"], K], obs.shape[0]
    offsets, P0 = [], 0
    for fi, fo in zip(sizes[:-1], sizes[1:], strict=True):
        offsets.append((P0, P0 + fi * fo))
        P0 += fi * fo + fo
    P = P0 + (K if gaussian else 0)
    scale = 1.0 / K if gaussian and spec["gaussian_kl_reduction"] == "mean" else 1.0

    def forward(th):
        layers = [
            (th[w:b].reshape(fi, fo), th[b : b + fo])
            for (w, b), fi, fo in zip(offsets, sizes[:-1], sizes[1:], strict=True)
        ]
        hs = [obs]
        for W, b in layers[:-1]:
            hs.append(np.tanh(hs[-1] @ W + b))
        return hs[-1] @ layers[-1][0] + layers[-1][1], hs, layers

    def jacobian(th):  # J[n, k, p] = ∂out_nk/∂θ_p, by backprop of every output unit
        _, hs, layers = forward(th)
        J = np.zeros((N, K, P0), dtype)
        delta = np.broadcast_to(np.eye(K, dtype=dtype), (N, K, K))
        for i in reversed(range(len(layers))):
            W = layers[i][0]
            w, b = offsets[i]
            J[:, :, w:b] = (hs[i][:, None, :, None] * delta[:, :, None, :]).reshape(N, K, -1)
            J[:, :, b : b + W.shape[1]] = delta
            if i > 0:
                delta = (delta @ W.T) * (1 - hs[i] ** 2)[:, None, :]
        return J

    def dist(th):
        out = forward(th)[0]
        if gaussian:
            return out, th[P0:]
        z = out - out.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), None

    def logp(d):
        if not gaussian:
            return d[0][np.arange(N), actions]
        z = (actions - d[0]) * np.exp(-d[1])
        return np.sum(-0.5 * z**2 - d[1] - 0.5 * math.log(2 * math.pi), axis=1)

    def kl(p, q):  # KL(p‖q) per state
        if not gaussian:
            return np.sum(np.exp(p[0]) * (p[0] - q[0]), axis=1)
        (mp, lp), (mq, lq) = p, q
        per = lq - lp + (np.exp(2 * lp) + (mp - mq) ** 2) / (2 * np.exp(2 * lq)) - 0.5
        return scale * per.sum(axis=1)

    if spec["normalize_advantages"]:
        c = adv - adv.mean()
        adv = c / c.std()
    J, d_old = jacobian(theta), dist(theta)
    logp_old = logp(d_old)
    g, F = np.zeros(P, dtype), np.zeros((P, P), dtype)
    if gaussian:
        mu, ls = d_old
        inv_var = np.exp(-2 * ls)
        g[:P0] = np.einsum("n,nk,nkp->p", adv, (actions - mu) * inv_var, J) / N
        g[P0:] = adv @ (((actions - mu) * np.exp(-ls)) ** 2 - 1) / N
        F[:P0, :P0] = scale * np.einsum("nkp,k,nkq->pq", J, inv_var, J) / N
        F[P0:, P0:] = scale * 2 * np.eye(K, dtype=dtype)
        entropy = np.sum(ls + 0.5 * math.log(2 * math.pi * math.e))
    else:
        p = np.exp(d_old[0])
        score = -p
        score[np.arange(N), actions] += 1
        g[:P0] = np.einsum("n,nk,nkp->p", adv, score, J) / N
        M = p[:, :, None] * np.eye(K, dtype=dtype) - p[:, :, None] * p[:, None, :]
        F[:P0, :P0] = np.einsum("nkp,nkl,nlq->pq", J, M, J) / N
        entropy = -np.sum(p * d_old[0], axis=1).mean()
    A = F + spec["damping"] * np.eye(P, dtype=dtype)
    x, r = np.zeros(P, dtype), g.copy()  # CG from 0: stop when r'r < tol
    q, rr, it = r.copy(), r @ r, 0
    while it < spec["cg_iters"] and not rr < spec["cg_tol"]:
        Aq = A @ q
        alpha = rr / (q @ Aq)
        x, r, it = x + alpha * q, r - alpha * Aq, it + 1
        rr, rr_old = r @ r, rr
        q = r + (rr / rr_old) * q
    xAx = x @ A @ x
    beta = np.sqrt(2 * spec["delta"] / xAx)
    full, delta = beta * x, spec["delta"]
    expected = g @ full
    fracs, kls, imps, accepted = [], [], [], -1
    for j in range(spec["max_backtracks"]):
        frac = spec["backtrack_coeff"] ** j
        d = dist(theta + frac * full)
        k = (kl(d_old, d) if spec["kl_direction"] == "old_new" else kl(d, d_old)).mean()
        imp = np.mean(np.exp(logp(d) - logp_old) * adv) - adv.mean()
        fracs.append(frac), kls.append(k), imps.append(imp)
        if {
            "kl_and_improve": k <= delta and imp > 0,
            "strict": k < delta and imp > 0,
            "kl_slack": k <= 1.5 * delta and imp >= 0,
            "expected_ratio": imp > 0.1 * frac * expected and imp > 0,
        }[spec["accept"]]:
            accepted = j
            break
    theta_new = theta + fracs[accepted] * full if accepted >= 0 else theta.copy()
    if spec["damping"] > 0:
        x_exact = np.linalg.solve(A, g)
    else:  # pseudo-inverse by eigh, SciPy's pinvh cut-off
        w, V = np.linalg.eigh(F)
        keep = w > P * np.finfo(dtype).eps * w.max()
        x_exact = V[:, keep] @ ((V[:, keep].T @ g) / w[keep])
    beta_exact = np.sqrt(2 * delta / (g @ x_exact))
    d_new = dist(theta_new)
    kl_new = kl(d_old, d_new) if spec["kl_direction"] == "old_new" else kl(d_new, d_old)
    res = {
        "logp": logp_old,
        "advantages_used": adv,
        "surrogate": adv.mean(),
        "entropy": entropy,
        "g": g,
        "fvp": f(arrays["probes"]) @ F,
        "fisher": F,
        "x": x,
        "cg_iterations": np.int64(it),
        "cg_residual": np.sqrt(rr),
        "xAx": xAx,
        "step_size": beta,
        "full_step": full,
        "expected_improvement": expected,
        "x_exact": x_exact,
        "step_size_exact": beta_exact,
        "full_step_exact": beta_exact * x_exact,
        "ls_fractions": np.array(fracs, dtype),
        "ls_kl": np.array(kls, dtype),
        "ls_improvement": np.array(imps, dtype),
        "ls_accepted": np.int64(accepted),
        "theta_new": theta_new,
        "kl_new": kl_new.mean(),
        "surrogate_new": np.mean(np.exp(logp(d_new) - logp_old) * adv),
    }
    return {k: np.asarray(v) for k, v in res.items()}


# ====================================================================== golden vectors
def test_golden_set_covers_the_issue():
    """12–20 golden cases: both heads, linear and MLP, damped and undamped, both KL directions,
    a first-trial step, a backtracked one and a failed search; all files under 1 MB."""
    assert 12 <= len(NAMES) <= 20
    specs = [load(golden(n)).spec for n in NAMES]
    outcomes = {int(load(golden(n, "result")).arrays["ls_accepted"]) for n in NAMES}
    assert {s["policy"] for s in specs} == {"categorical", "gaussian"}
    assert {bool(s["hidden"]) for s in specs} == {False, True}
    assert {s["damping"] == 0 for s in specs} == {False, True}
    assert {s["kl_direction"] for s in specs} == {"old_new", "new_old"}
    assert 0 in outcomes and -1 in outcomes and any(j > 0 for j in outcomes)
    index = json.load(open(os.path.join(GOLDEN, "index.json")))
    assert sorted(c["name"] for c in index["cases"]) == NAMES
    assert sum(os.path.getsize(p) for p in glob.glob(os.path.join(GOLDEN, "*"))) < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_golden_case_reproduces(name):
    """Recomputing a golden case gives its stored result: every key, the status, the digest."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    ours = run_case(case)
    assert stored.spec["case_sha256"] == case_digest(case) == ours.spec["case_sha256"]
    assert sorted(ours.arrays) == sorted(stored.arrays)
    rows = check_result(stored, ours, rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL)
    assert [r.key for r in rows if r.failed] == []
    for key in ("status", "success", "cg_status", "well_posed"):
        assert ours.spec[key] == stored.spec[key]
    assert stored.spec["well_posed"]
    mine, theirs = ours.spec["margins"], stored.spec["margins"]
    assert sorted(mine) == sorted(theirs)
    for key, value in theirs.items():
        if not isinstance(value, float):
            assert mine[key] == value, key
        elif key in ("cg", "line_search"):
            assert mine[key] == pytest.approx(value, rel=DECISION_RTOL), key
        else:
            ratio = mine[key] / value
            assert AMPLIFICATION_FACTOR**-1 < ratio < AMPLIFICATION_FACTOR, key


@pytest.mark.parametrize("name", NAMES)
def test_golden_json_twins_are_bit_identical(name):
    """The JSON twin of every golden case and result reads back to the npz's arrays, bit for bit
    and dtype for dtype, and to the same spec."""
    for kind in ("case", "result"):
        a, b = load(golden(name, kind)), load(golden(name, kind, "json"))
        assert a.spec == b.spec
        assert list(a.arrays) == list(b.arrays)
        for key in a.arrays:
            assert a.arrays[key].dtype == b.arrays[key].dtype, key
            assert a.arrays[key].shape == b.arrays[key].shape, key
            assert a.arrays[key].tobytes() == b.arrays[key].tobytes(), key


@pytest.mark.parametrize("name", NAMES)
def test_independent_float64_step_passes_check(name):
    """A second float64 implementation of the step, written from DESIGN.md alone, passes
    ``check`` at the default tolerances on every golden case (every key it computes)."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    theirs = OracleData({}, independent_step(case.spec, case.arrays))
    rows = check_result(stored, theirs, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL)
    assert len(rows) == len(oracle.RESULT_KEYS)
    assert [(r.key, r.max_rel) for r in rows if r.failed] == []


@pytest.mark.parametrize("name", NAMES)
def test_independent_float32_step_within_documented_tolerance(name):
    """The same implementation in float32 passes at the float32 tolerances docs/oracle.md gives,
    on the keys it says are comparable in float32."""
    case, stored = load(golden(name)), load(golden(name, "result"))
    skip = F32_SKIP | (F32_SKIP_UNDAMPED if case.spec["damping"] == 0 else set())
    arrays = independent_step(case.spec, case.arrays, np.float32)
    theirs = OracleData({}, {k: v for k, v in arrays.items() if k not in skip})
    assert all(v.dtype.kind != "f" or v.dtype == np.float32 for v in theirs.arrays.values())
    rows = check_result(stored, theirs, rtol=F32_RTOL, atol=F32_ATOL)
    assert [(r.key, r.max_rel) for r in rows if r.failed] == []


# ====================================================================== check
def test_check_cli_passes_on_own_results_npz_and_json(capsys):
    """``check`` on a golden case against its own stored result exits 0, from npz and JSON."""
    name = NAMES[0]
    assert main(["check", golden(name), golden(name, "result")]) == 0
    assert main(["check", golden(name, ext="json"), golden(name, "result", "json")]) == 0
    out = capsys.readouterr().out
    assert "PASS: 24 quantities agree" in out
    assert "quantity" in out and "max_abs_err" in out and "max_rel_err" in out


@pytest.mark.parametrize("key", ["step_size", "g", "fisher", "theta_new", "ls_kl"])
def test_check_fails_when_one_number_is_perturbed_1e6_relative(tmp_path, capsys, key):
    """Changing one number of a stored result by 1e-6 relative (its quantity's largest entry)
    makes ``check`` fail with exit 1, naming that key and only it."""
    name = "categorical_mlp"
    result = load(golden(name, "result"))
    a = result.arrays[key].copy()
    i = np.unravel_index(np.argmax(np.abs(a)), a.shape)
    a[i] *= 1 + 1e-6
    result.arrays[key] = a
    save(tmp_path / "theirs.npz", result)
    assert main(["check", golden(name), str(tmp_path / "theirs.npz")]) == 1
    out = capsys.readouterr().out
    failed = [line.split()[0] for line in out.splitlines() if " FAIL" in line]
    assert failed == [key]
    assert f"FAIL: 1 of 24 quantities failed ({key})" in out


def test_check_reports_shape_dtype_missing_and_unknown_keys_by_name(tmp_path, capsys):
    """Theirs with a wrong shape, a float where an integer belongs, a misspelt key and a
    required key left out: each is a row naming it, and the check exits 1."""
    name = "gaussian_linear"
    stored = load(golden(name, "result"))
    theirs = {
        "g": stored.arrays["g"][:-1],  # one entry short
        "ls_accepted": np.float64(stored.arrays["ls_accepted"]),
        "step_sizee": stored.arrays["step_size"],
        "x": stored.arrays["x"].astype(np.float32),  # a float32 x: read, but off by 1e-8
    }
    write_npz(tmp_path / "theirs.npz", theirs)
    code = main(["check", golden(name), str(tmp_path / "theirs.npz"), "--require", "x,theta_new"])
    out = capsys.readouterr().out
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert "SHAPE" in rows["g"] and f"expected ({len(stored.arrays['g'])},)" in rows["g"]
    assert "DTYPE" in rows["ls_accepted"] and "expected an integer" in rows["ls_accepted"]
    assert "UNKNOWN" in rows["step_sizee"]
    assert "MISSING" in rows["theta_new"]
    assert "FAIL" in rows["x"]  # float32 rounding is far above the float64 default rtol
    args = ["check", golden(name), str(tmp_path / "theirs.npz"), "--allow-unknown"]
    assert main([*args, "--rtol", "1e-6"]) == 1  # g and ls_accepted still fail


def test_check_compares_only_provided_keys_and_echoes_inputs(tmp_path, capsys):
    """A file with a few keys (no spec) is compared on those only; a case array such as theta
    is compared with the case, which catches a run on the wrong case."""
    name = "categorical_linear"
    stored, case = load(golden(name, "result")), load(golden(name))
    write_npz(tmp_path / "ok.npz", {"g": stored.arrays["g"], "theta": case.arrays["theta"]})
    assert main(["check", golden(name), str(tmp_path / "ok.npz")]) == 0
    assert "PASS: 2 quantities agree" in capsys.readouterr().out
    (tmp_path / "g.json").write_text(
        json.dumps({"arrays": {"g": {"dtype": "float64", "shape": [12],
                                     "data": stored.arrays["g"].tolist()}}})
    )  # fmt: skip
    assert main(["check", golden(name), str(tmp_path / "g.json")]) == 0
    write_npz(tmp_path / "none.npz", {"fisher": np.zeros((3, 3))[:0]})
    assert main(["check", golden(name), str(tmp_path / "none.npz")]) == 1  # SHAPE
    write_npz(tmp_path / "empty.npz", {})
    assert main(["check", golden(name), str(tmp_path / "empty.npz")]) == 1
    assert "holds no quantity" in capsys.readouterr().out
    other = small_case(hidden=[], seed=9)  # same architecture, another θ
    write_npz(tmp_path / "bad.npz", {"theta": other.arrays["theta"]})
    assert main(["check", golden(name), str(tmp_path / "bad.npz")]) == 1


def test_check_rejects_a_result_of_another_case(tmp_path, capsys):
    """A result whose case_sha256 names another case, given as theirs or as --reference, is an
    input error (exit 2), not a numerical failure."""
    a, b = "categorical_linear", "gaussian_linear"
    assert main(["check", golden(a), golden(b, "result")]) == 2
    assert "was computed from case" in capsys.readouterr().err
    assert main(["check", golden(a), golden(a, "result"), "--reference", golden(b, "result")]) == 2
    assert "was computed from another case" in capsys.readouterr().err
    assert main(["check", golden(a), golden(a, "result"), "--reference", golden(a, "result")]) == 0


def test_check_nan_and_inf_semantics():
    """NaN matches NaN and inf the same inf; anything else non-finite is an infinite error."""
    ref = OracleData({"format": RESULT_FORMAT}, {"ls_kl": np.array([np.nan, np.inf, 1.0])})
    same = OracleData({}, {"ls_kl": np.array([np.nan, np.inf, 1.0])})
    other = OracleData({}, {"ls_kl": np.array([1.0, np.inf, 1.0])})
    assert not check_result(ref, same)[0].failed
    row = check_result(ref, other)[0]
    assert row.failed and row.max_abs == np.inf


# ====================================================================== run
def test_result_is_self_consistent_and_matches_the_library():
    """fvp = fisher·probes, full_step = β·x, θ_new = θ + α^j·full_step, kl_new = ls_kl[j];
    with normalize_advantages the step equals trpo_step(normalize_advantages=True)."""
    case = small_case(normalize_advantages=True, seed=4)
    r = run_case(case).arrays
    np.testing.assert_allclose(
        r["fvp"], case.arrays["probes"] @ r["fisher"], rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(r["full_step"], r["step_size"] * r["x"])
    j = int(r["ls_accepted"])
    np.testing.assert_array_equal(
        r["theta_new"], case.arrays["theta"] + r["ls_fractions"][j] * r["full_step"]
    )
    assert r["kl_new"] == r["ls_kl"][j]
    adv = r["advantages_used"]
    assert abs(adv.mean()) < 1e-15 and abs(adv.std() - 1) < 1e-14
    pi = CategoricalPolicy(3, 3, hidden=(4,))
    res = trpo_step(
        pi,
        case.arrays["theta"],
        case.arrays["obs"],
        case.arrays["actions"],
        case.arrays["advantages"],
        normalize_advantages=True,
    )
    np.testing.assert_array_equal(res.theta_new, r["theta_new"])


def test_run_on_a_large_case_skips_the_dense_fisher_and_says_so(tmp_path, capsys):
    """P > 2000: ``run`` writes no fisher/x_exact, records why in the spec and prints a note;
    ``check`` reports a user's fisher for such a case as skipped, not failed."""
    case = make_case(
        policy="categorical", obs_dim=10, hidden=[40, 40], n_actions=2, batch=8, probes=1, seed=0
    )
    assert case.spec["num_params"] > 2000
    save(tmp_path / "big.npz", case)
    assert main(["run", str(tmp_path / "big.npz"), "-o", str(tmp_path / "res.npz")]) == 0
    err = capsys.readouterr().err
    assert "> 2000: the dense Fisher" in err
    res = load(tmp_path / "res.npz")
    assert not {"fisher", "x_exact", "step_size_exact", "full_step_exact"} & set(res.arrays)
    assert res.spec["dense"]["computed"] is False
    assert {"g", "fvp", "x", "theta_new"} <= set(res.arrays)
    P = case.spec["num_params"]
    write_npz(tmp_path / "theirs.npz", {"fisher": np.zeros((P, P)), "g": res.arrays["g"]})
    paths = [str(tmp_path / n) for n in ("big.npz", "theirs.npz", "res.npz")]
    assert main(["check", paths[0], paths[1], "--reference", paths[2]]) == 0
    assert "skip" in capsys.readouterr().out


def test_ill_posed_case_is_flagged():
    """Undamped CG run past its useful iterations on a tanh net amplifies rounding enormously:
    the result says the case is not well-posed for exact comparison."""
    res = run_case(small_case(hidden=[8, 8], damping=0.0, cg_iters=30, seed=3))
    assert not res.spec["well_posed"]
    assert res.spec["margins"]["x_amplification"] > oracle.MAX_AMPLIFICATION


def test_make_cli_writes_case_and_json_twin(tmp_path, capsys):
    """``make`` writes a valid case with the conventions in its spec, and a JSON twin."""
    args = (
        "make --policy gaussian --obs-dim 3 --hidden 4,4 --act-dim 2 --batch 8 --probes 3 "
        "--seed 7 --gaussian-kl-reduction mean --kl-direction new_old --accept strict "
        "--normalize-advantages true --damping 0.05"
    ).split()
    code = main([*args, "-o", str(tmp_path / "c.npz"), "--json", str(tmp_path / "c.json")])
    assert code == 0, capsys.readouterr().err
    case = load(tmp_path / "c.npz")
    assert case.spec["format"] == CASE_FORMAT
    assert (
        case.spec["gaussian_kl_reduction"],
        case.spec["kl_direction"],
        case.spec["accept"],
        case.spec["normalize_advantages"],
        case.spec["damping"],
    ) == ("mean", "new_old", "strict", True, 0.05)
    assert case.arrays["probes"].shape == (3, case.spec["num_params"])
    assert case.arrays["actions"].shape == (8, 2)
    assert case_digest(case) == case_digest(load(tmp_path / "c.json"))
    assert main(["run", str(tmp_path / "c.json"), "-o", str(tmp_path / "r.json")]) == 0
    assert load(tmp_path / "r.json").format == RESULT_FORMAT


def test_convert_round_trips_files(tmp_path):
    """``convert`` npz → JSON → npz keeps every array bit-identical (and the digest)."""
    name = NAMES[-1]
    assert main(["convert", golden(name), str(tmp_path / "a.json")]) == 0
    assert main(["convert", str(tmp_path / "a.json"), str(tmp_path / "b.npz")]) == 0
    a, b = load(golden(name)), load(tmp_path / "b.npz")
    assert case_digest(a) == case_digest(b)


# ====================================================================== JSON round trip
FLOATS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8]),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
        elements=None,
    )
)
@example(np.array(-np.nan))  # the sign bit of a NaN (once lost: found by hypothesis)
@example(  # NaN payloads, quiet and signalling
    (np.array([np.nan, np.inf]).view(np.uint64) + np.array([1, 1], dtype=np.uint64)).view(
        np.float64
    )
)
def test_json_round_trip_is_bit_identical(a):
    """Any array (NaN, ±inf, −0.0, subnormals, 0-d, empty; floats and ints) read back from the
    JSON twin has the same dtype, shape and bytes; integers stay integers."""
    data = OracleData({"format": RESULT_FORMAT}, {"a": a})
    back = from_json(to_json(data)).arrays["a"]
    assert back.dtype == a.dtype and back.shape == a.shape
    assert back.tobytes() == a.tobytes()
    if a.dtype.kind in "iu":
        text = to_json(data).split('"data":')[1]
        assert "." not in text and "e" not in text.lower()  # written as integers


def test_json_rejects_a_nan_token_that_is_not_a_nan():
    """A "NaN:0x…" token whose bits are not a NaN of the dtype is an error naming the array."""
    text = to_json(OracleData({"format": RESULT_FORMAT}, {"a": np.array([-np.nan])}))
    assert "NaN:0x" in text
    bad = text.replace(
        text[text.index("NaN:0x") : text.index('"', text.index("NaN:0x"))], "NaN:0x1"
    )
    with pytest.raises(OracleError, match="'a'"):
        from_json(bad)


def test_json_file_round_trip_npz(tmp_path):
    """save/load through .npz and .json give the same spec and bit-identical arrays."""
    case = small_case(seed=1)
    save(tmp_path / "c.npz", case)
    save(tmp_path / "c.json", case)
    a, b = load(tmp_path / "c.npz"), load(tmp_path / "c.json")
    assert a.spec == b.spec == case.spec
    for key, v in case.arrays.items():
        assert a.arrays[key].tobytes() == b.arrays[key].tobytes() == v.tobytes()
        assert a.arrays[key].dtype == b.arrays[key].dtype == v.dtype


# ====================================================================== bad input
def _run_error(capsys, args):
    """Run the CLI, expect exit 2 and one error line; return that line."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"npytrpo oracle {args[0]}: error:") and "\n" not in err
    return err


def _bad_case(tmp_path, mutate, ext="npz"):
    case = small_case(seed=2)
    members = case_members(case)
    mutate(members)
    path = tmp_path / f"bad.{ext}"
    write_npz(path, members)
    return str(path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: m.pop("obs"), "missing required array(s) ['obs']"),
        (lambda m: m.pop("spec"), "no 'spec' member"),
        (lambda m: m.update(obs=m["obs"][:, :2]), "'obs' has shape (12, 2), expected (12, 3)"),
        (lambda m: m.update(advantages=m["advantages"][:5]), "'advantages' has shape (5,)"),
        (lambda m: m.update(theta=m["theta"][:-1]), "'theta' has shape (30,), expected (31,)"),
        (
            lambda m: m.update(obs=m["obs"].astype(np.float32)),
            "'obs' has dtype float32, expected float64",
        ),
        (lambda m: m.update(actions=m["actions"].astype(np.float64)), "needs integer actions"),
        (lambda m: m["obs"].__setitem__((3, 1), np.nan), "'obs' has 1 NaN/inf entries"),
        (lambda m: m["theta"].__setitem__(0, np.inf), "'theta' has 1 NaN/inf entries"),
        (lambda m: m.update(probe=np.zeros(3)), "unknown array(s) ['probe']"),
        (lambda m: m.update(actions=np.full(12, 3)), "spec['n_actions'] = 3 allows [0, 2]"),
    ],
)
def test_bad_case_arrays_exit_2_with_a_clear_message(tmp_path, capsys, mutate, message):
    """A missing key, a wrong shape or dtype, NaN/inf, an unknown key, actions outside the
    spec's range: exit 2 with one line naming the key."""
    path = _bad_case(tmp_path, mutate)
    assert message in _run_error(capsys, ["run", path, "-o", str(tmp_path / "r.npz")])
    assert not os.path.exists(tmp_path / "r.npz")


def _with_spec(**changes):
    def mutate(m):
        spec = json.loads(str(m["spec"][()]))
        for k, v in changes.items():
            if v is None:
                spec.pop(k)
            else:
                spec[k] = v
        m["spec"] = np.array(json.dumps(spec))

    return mutate


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format": "npytrpo-oracle/3"}, "unknown format version 'npytrpo-oracle/3'"),
        ({"format": None}, "spec has no 'format' key"),
        ({"format": RESULT_FORMAT}, "is a 'npytrpo-oracle-result/1' file"),
        (
            {"obs_dim": 4, "num_params": None},
            "'obs' has shape (12, 3), expected (12, 4) (spec['obs_dim'] = 4)",
        ),
        ({"hidden": [5]}, "spec['num_params'] = 31 but the architecture"),
        (
            {"n_actions": 4, "num_params": None},
            "'theta' has shape (31,), expected (36,) (P = 36 for this architecture)",
        ),
        ({"damping": None}, "missing required key(s) ['damping']"),
        ({"dampnig": 0.1}, "unknown key(s) ['dampnig']"),
        ({"damping": -0.1}, "spec['damping'] must be a finite number >= 0.0, got -0.1"),
        ({"cg_iters": 10.0}, "spec['cg_iters'] must be an integer >= 1, got 10.0"),
        ({"kl_direction": "new||old"}, "spec['kl_direction'] must be one of"),
        ({"normalize_advantages": 1}, "spec['normalize_advantages'] must be one of"),
        ({"gaussian_kl_reduction": "mean"}, "must be 'sum' for a categorical policy"),
        ({"act_dim": 2}, "spec['act_dim'] does not apply to a categorical policy"),
        ({"cg_x0": "random"}, "spec['cg_x0'] must be one of ['zero']"),
        ({"policy": "beta"}, "spec['policy'] must be one of ['categorical', 'gaussian'] in"),
    ],
)
def test_bad_spec_exits_2_with_a_clear_message(tmp_path, capsys, changes, message):
    """Unknown format versions, missing/unknown/mistyped spec keys and spec/array mismatches:
    exit 2 with a message naming the key."""
    path = _bad_case(tmp_path, _with_spec(**changes))
    assert message in _run_error(capsys, ["run", path, "-o", str(tmp_path / "r.npz")])


TRIPPED = []


def _tripwire():
    TRIPPED.append(True)
    return "executed"


class _Payload:
    def __reduce__(self):
        return (_tripwire, ())


def test_object_array_is_rejected_and_never_unpickled(tmp_path, capsys):
    """An object (pickled) array in a case, or in theirs, is refused by name; its pickle is never
    executed (a payload that would record its execution stays silent)."""
    assert pickle.loads(pickle.dumps(_Payload())) == "executed" and TRIPPED == [True]
    TRIPPED.clear()
    payload = np.array([_Payload(), 1], dtype=object)
    path = _bad_case(tmp_path, lambda m: m.update(advantages=payload))
    msg = _run_error(capsys, ["run", path, "-o", str(tmp_path / "r.npz")])
    assert "array 'advantages' is an object (pickled) array" in msg and "not loaded" in msg
    write_npz(tmp_path / "theirs.npz", {"g": payload})
    msg = _run_error(capsys, ["check", golden(NAMES[0]), str(tmp_path / "theirs.npz")])
    assert "array 'g' is an object (pickled) array" in msg
    with pytest.raises(OracleError):
        save(tmp_path / "x.npz", OracleData({}, {"g": payload}))
    assert TRIPPED == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ('{"arrays": {}}', "exactly the keys 'spec' and 'arrays'"),
        ('{"spec": {}, "arrays": {"theta": [1, 2]}}', "must be an object with exactly the keys"),
        (
            '{"spec": {}, "arrays": {"t": {"dtype": "object", "shape": [1], "data": [1]}}}',
            "has dtype 'object'",
        ),
        (
            '{"spec": {}, "arrays": {"t": {"dtype": "float64", "shape": [3], "data": [1, 2]}}}',
            "data does not match its shape [3]",
        ),
        (
            '{"spec": {}, "arrays": {"t": {"dtype": "int64", "shape": [2], "data": [1, 2.0]}}}',
            "holds 2.0; expected integers",
        ),
        (
            '{"spec": {}, "arrays": {"t": {"dtype": "float64", "shape": [1], "data": ["x"]}}}',
            "holds 'x'; expected numbers",
        ),
    ],
)
def test_bad_json_exits_2_with_a_clear_message(tmp_path, capsys, text, message):
    """Malformed JSON twins: invalid JSON, missing sections, unknown dtypes, data that does not
    match its shape, a float in an integer array: exit 2 naming the array."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert message in _run_error(capsys, ["run", str(path), "-o", str(tmp_path / "r.npz")])


def test_unreadable_files_exit_2(tmp_path, capsys):
    """A missing file, a truncated archive, a bare .npy and garbage bytes: exit 2, no traceback."""
    assert "no such file" in _run_error(capsys, ["run", str(tmp_path / "nope.npz"), "-o", "x"])
    data = open(golden(NAMES[0]), "rb").read()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert "not a readable .npz" in _run_error(
        capsys, ["run", str(tmp_path / "cut.npz"), "-o", "x"]
    )
    np.save(tmp_path / "one.npy", np.zeros(3))
    assert "single .npy array" in _run_error(capsys, ["run", str(tmp_path / "one.npy"), "-o", "x"])
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01garbage")
    assert "neither an .npz" in _run_error(capsys, ["run", str(tmp_path / "junk.bin"), "-o", "x"])


def test_usage_errors_return_2_without_raising(capsys):
    """argparse errors (unknown subcommand, missing -o) come back as exit 2, --help as 0."""
    assert main(["frobnicate"]) == 2
    assert main(["run", "case.npz"]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_make_rejects_bad_arguments(capsys, tmp_path):
    """``make`` with a head size for the wrong policy or a negative delta exits 2, naming it."""
    out = str(tmp_path / "c.npz")
    msg = _run_error(capsys, "make --policy categorical --obs-dim 3 --act-dim 2 -o".split() + [out])
    assert "spec['act_dim'] does not apply to a categorical policy" in msg
    args = "make --policy gaussian --obs-dim 3 --act-dim 2 --delta -1 -o".split()
    msg = _run_error(capsys, [*args, out])
    assert "spec['delta'] must be a finite number > 0.0, got -1.0" in msg
    assert not os.path.exists(out)
