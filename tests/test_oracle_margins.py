"""The oracle's ``x_amplification`` when rounding changes how many iterations CG runs.

``run_case`` reruns CG with every product A·v and g perturbed by 1 + ε·N(0, 1) (ε = 1e-12, as
another implementation's rounding would be) and reports ‖Δx‖/‖x‖/ε. When a perturbed run stops
after another number of iterations, x is not a perturbation of the same iterate: its docstring
says the amplification is then infinite (JSON "Infinity") and the case is not well-posed.
(Kept out of ``test_oracle.py``, which is over the size limit.)
"""

import math

import numpy as np

from npytrpo.oracle import make_case, run_case
from npytrpo.oracle import run as oracle_run


def case_with_tol(cg_tol):
    return make_case(
        policy="categorical",
        obs_dim=3,
        n_actions=3,
        hidden=[4],
        batch=12,
        probes=0,
        seed=1,
        cg_tol=cg_tol,
        cg_iters=30,
    )


def noisy_iterations(monkeypatch, case):
    """Run ``case``; return (result, iteration counts of the oracle's perturbed CG reruns).

    The reruns are the oracle's calls to CG without a callback (the margin of CG's stopping
    test is measured with one); the spy only records, it changes no result.
    """
    counts, real = [], oracle_run.conjugate_gradient

    def spy(*args, **kw):
        res = real(*args, **kw)
        if kw.get("callback") is None:
            counts.append(res.iterations)
        return res

    monkeypatch.setattr(oracle_run, "conjugate_gradient", spy)
    return run_case(case), counts


def test_x_amplification_is_infinite_when_cg_stops_at_another_iteration(monkeypatch):
    """A stopping test on a knife edge: a perturbed CG run that stops elsewhere gives inf."""
    base = run_case(case_with_tol(1e-10))
    k, residual = int(base.arrays["cg_iterations"]), float(base.arrays["cg_residual"])
    assert base.spec["cg_status"] == "converged" and k >= 2
    # tol just above CG's last rᵀr: the clean run still stops at k, but the 1e-12 noise moves
    # that rᵀr (a small difference of large terms) by far more than the 1e-13 gap.
    result, counts = noisy_iterations(monkeypatch, case_with_tol(residual**2 * (1 + 1e-13)))
    assert int(result.arrays["cg_iterations"]) == k
    assert counts and any(n != k for n in counts), counts
    assert result.spec["margins"]["x_amplification"] == "Infinity"
    assert not result.spec["well_posed"]


def test_x_amplification_is_finite_when_every_rerun_stops_with_cg(monkeypatch):
    """Reruns that stop at CG's own iteration give a finite amplification, as in the goldens."""
    result, counts = noisy_iterations(monkeypatch, case_with_tol(1e-10))
    k = int(result.arrays["cg_iterations"])
    assert counts and all(n == k for n in counts), counts
    amp = result.spec["margins"]["x_amplification"]
    assert isinstance(amp, float) and math.isfinite(amp) and 0 < amp < oracle_run.MAX_AMPLIFICATION
    assert np.isfinite(result.arrays["x"]).all()
