"""Exercise 6 (§ 5): the gradient and the Fisher in new coordinates θ = Bψ.

Write ``answer(F, g, B)`` returning ``(F_psi, g_psi)``: the Fisher and the gradient of the same
policy written in the coordinates ψ, θ = Bψ (B invertible, P×P), given F and g in θ.

Checked on a linear softmax policy against central differences in ψ of L(Bψ) (the gradient,
tolerance 1e-7) and of D̄(θ_old, Bψ) (the Hessian, 1e-6); then the natural steps are compared:
B·F_ψ⁺g_ψ and F⁺g must move the policy identically, ‖F(B x_ψ − x_θ)‖ ≤ 1e-8·‖F x_θ‖.

    python docs/exercises/ex06_reparameterization.py my_answer.py
"""

import sys

import numpy as np
from checking import close, fd_hessian, run

from npytrpo import CategoricalPolicy, dense_natural_step

H = 1e-4


def check(answer) -> None:
    rng = np.random.default_rng(6)
    pi = CategoricalPolicy(2, 3, hidden=())  # P = 9
    P = pi.num_params
    theta = 0.5 * rng.standard_normal(P)
    obs = rng.standard_normal((20, 2))
    actions = pi.sample(theta, obs, rng)
    adv = rng.standard_normal(20)
    logp_old = pi.logp(theta, obs, actions)
    F = pi.fisher_matrix(theta, obs)
    g = pi.surrogate_grad(theta, obs, actions, adv)
    B = np.eye(P) + 0.3 * rng.standard_normal((P, P))
    psi = np.linalg.solve(B, theta)
    F_psi, g_psi = (np.asarray(a) for a in answer(F.copy(), g.copy(), B.copy()))

    E = np.eye(P) * H
    fd_g = [
        (
            pi.surrogate(B @ (psi + e), obs, actions, adv, logp_old)
            - pi.surrogate(B @ (psi - e), obs, actions, adv, logp_old)
        )
        / (2 * H)
        for e in E
    ]
    close(g_psi, np.array(fd_g), 1e-7, "g_psi vs finite differences of L(Bψ)")

    fd_F = fd_hessian(lambda p: pi.kl(theta, B @ p, obs), psi, E, H)
    close(F_psi, fd_F, 1e-6, "F_psi vs the finite-difference Hessian of D̄(θ_old, Bψ)")

    x_theta = dense_natural_step(F, g, damping=0.0)[0]
    x_psi = dense_natural_step(F_psi, g_psi, damping=0.0)[0]
    gap = np.linalg.norm(F @ (B @ x_psi - x_theta))
    assert gap <= 1e-8 * np.linalg.norm(F @ x_theta), f"natural steps differ by {gap:.2e}"


if __name__ == "__main__":
    sys.exit(run(check, __file__))
