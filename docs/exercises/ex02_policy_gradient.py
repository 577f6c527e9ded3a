"""Exercise 2 (§ 3): the policy gradient g with one backprop.

Write ``answer(policy, theta, obs, actions, adv)`` for a ``CategoricalPolicy``, returning
g = (1/N) Σₙ Âₙ Jₙᵀ ∂log π(aₙ|oₙ)/∂oₙ of shape (P,), using only ``policy.net.forward``,
``policy.net.vjp`` and ``npytrpo.distributions`` (no per-sample Jacobian, no
``surrogate_grad``): the output-space scores, weighted by Âₙ/N, are the cotangent of one VJP.

Checked against central differences of L(θ) = ``policy.surrogate`` along 5 random directions
(tolerance 1e-7, relative to ‖g‖) and against ``policy.surrogate_grad`` (1e-12).

    python docs/exercises/ex02_policy_gradient.py my_answer.py
"""

import sys

import numpy as np
from checking import close, run

from npytrpo import CategoricalPolicy

H = 1e-5


def check(answer) -> None:
    rng = np.random.default_rng(2)
    for hidden, k in (((), 2), ((5, 4), 3)):
        pi = CategoricalPolicy(3, k, hidden=hidden)
        theta = pi.init(rng) + 0.3 * rng.standard_normal(pi.num_params)
        obs = rng.standard_normal((11, 3))
        actions = pi.sample(theta, obs, rng)
        adv = rng.standard_normal(11)
        g = np.asarray(answer(pi, theta.copy(), obs.copy(), actions.copy(), adv.copy()))
        assert g.shape == (pi.num_params,), f"g has shape {g.shape}, expected ({pi.num_params},)"
        logp_old = pi.logp(theta, obs, actions)
        scale = np.linalg.norm(g) + 1e-300
        for _ in range(5):
            v = rng.standard_normal(pi.num_params)
            up = pi.surrogate(theta + H * v, obs, actions, adv, logp_old)
            down = pi.surrogate(theta - H * v, obs, actions, adv, logp_old)
            fd = (up - down) / (2 * H)
            assert abs(g @ v - fd) <= 1e-7 * scale * np.linalg.norm(v), (
                f"gᵀv = {g @ v:.8f} but the finite difference of L gives {fd:.8f} "
                f"(hidden={hidden}, K={k})"
            )
        close(g, pi.surrogate_grad(theta, obs, actions, adv), 1e-12, "g vs surrogate_grad")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
