"""Exercise 8 (§ 7): F·v without F, from one JVP and one VJP.

Write ``answer(policy, theta, obs, v)`` for a ``CategoricalPolicy`` returning F·v of shape (P,),
with F = (1/N) Σₙ JₙᵀMₙJₙ, using only ``policy.net.forward``, ``policy.net.jvp``,
``policy.net.vjp`` and ``npytrpo.distributions`` (no ``fisher_*`` method, no Jacobian).

Checked against ``policy.fisher_matrix(theta, obs) @ v`` (tolerance 1e-12) and against the
central difference of the KL's gradient along v, computed from ``policy.kl`` by second
differences vᵀ∇²D̄ u for random u (tolerance 1e-6).

    python docs/exercises/ex08_fisher_vector_product.py my_answer.py
"""

import sys
from functools import partial

import numpy as np
from checking import close, fd_hessian, run

from npytrpo import CategoricalPolicy

H = 1e-4


def check(answer) -> None:
    rng = np.random.default_rng(8)
    for hidden, k in (((), 3), ((6, 5), 2), ((7,), 4)):
        pi = CategoricalPolicy(3, k, hidden=hidden)
        theta = pi.init(rng) + 0.3 * rng.standard_normal(pi.num_params)
        obs = rng.standard_normal((9, 3))
        v = rng.standard_normal(pi.num_params)
        Fv = np.asarray(answer(pi, theta.copy(), obs.copy(), v.copy()))
        close(Fv, pi.fisher_matrix(theta, obs) @ v, 1e-12, f"F·v (hidden={hidden}, K={k})")

        for _ in range(3):
            u = rng.standard_normal(pi.num_params)
            steps = np.stack([H * v, H * u])
            fd = fd_hessian(partial(pi.kl, theta, obs=obs), theta, steps, H)[0, 1]  # vᵀ∇²D̄ u
            assert abs(u @ Fv - fd) <= 1e-6 * max(1.0, abs(fd)), (
                f"uᵀ(F·v) = {u @ Fv:.8f}, second difference of D̄ = {fd:.8f} (hidden={hidden})"
            )


if __name__ == "__main__":
    sys.exit(run(check, __file__))
