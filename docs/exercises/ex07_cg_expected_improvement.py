"""Exercise 7 (§ 6): the expected improvement of a CG step without one more product F_ω·x.

Every CG iterate xₖ started from x₀ = 0 satisfies xₖᵀF_ωxₖ = gᵀxₖ in exact arithmetic (prove
it: xₖ = Σ αᵢpᵢ with A-conjugate pᵢ, and pᵢᵀrₖ = 0 for i < k). Write ``answer(g, x, delta)``
returning the expected improvement gᵀ(βx) of the full step, β = √(2δ / xᵀF_ωx), using g, x
and δ only.

Checked against ``trpo_step(...).expected_improvement`` (which spends a product on xᵀF_ωx) on
a categorical and a Gaussian batch at the default damping ω = 0.1, where CG is well
conditioned: relative tolerance 1e-9 (docs/measure.py cg-identity measures the gap at
2.3e-16 there; it grows as ω shrinks).

    python docs/exercises/ex07_cg_expected_improvement.py my_answer.py
"""

import sys

import numpy as np
from checking import run

from npytrpo import CategoricalPolicy, GaussianPolicy, trpo_step


def check(answer) -> None:
    rng = np.random.default_rng(7)
    for pi in (CategoricalPolicy(4, 2, hidden=(16, 16)), GaussianPolicy(3, 2, hidden=(8,))):
        for delta in (0.01, 0.05):
            theta = pi.init(rng)
            obs = rng.standard_normal((128, pi.obs_dim))
            actions = pi.sample(theta, obs, rng)
            res = trpo_step(pi, theta, obs, actions, rng.standard_normal(128), delta=delta)
            got = float(answer(res.g.copy(), res.x.copy(), delta))
            want = res.expected_improvement
            assert abs(got - want) <= 1e-9 * abs(want), (
                f"{pi.kind}, δ = {delta}: answered {got:.12g}, trpo_step's gᵀ(βx) = {want:.12g}"
            )


if __name__ == "__main__":
    sys.exit(run(check, __file__))
