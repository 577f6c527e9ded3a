"""Exercise 4 (§ 4): the log-std block of a Gaussian policy's Fisher, and ``kl_reduction``.

Write ``answer(act_dim, kl_reduction)`` returning the (act_dim, act_dim) block of F on the
log-std ℓ (the last act_dim entries of θ) of a ``GaussianPolicy`` whose per-dimension KL is
reduced by ``kl_reduction`` ("sum" or "mean"). It does not depend on θ or on the states: say why.

Checked against central second differences of ``policy.kl`` in ℓ at θ_old (tolerance 1e-6)
and against the block of ``policy.fisher_matrix`` (1e-12), for act_dim 1, 2, 3 and both
reductions.

    python docs/exercises/ex04_gaussian_logstd_block.py my_answer.py
"""

import sys
from functools import partial

import numpy as np
from checking import close, fd_hessian, run

from npytrpo import GaussianPolicy

H = 1e-4


def check(answer) -> None:
    rng = np.random.default_rng(4)
    for d in (1, 2, 3):
        for reduction in ("sum", "mean"):
            pi = GaussianPolicy(2, d, hidden=(3,), log_std_init=-0.3, kl_reduction=reduction)
            theta = pi.init(rng) + 0.2 * rng.standard_normal(pi.num_params)
            obs = rng.standard_normal((6, 2))
            block = np.asarray(answer(d, reduction))
            assert block.shape == (d, d), f"block has shape {block.shape}, expected ({d}, {d})"
            P0 = pi.num_params - d
            E = np.zeros((d, pi.num_params))
            E[:, P0:] = np.eye(d) * H
            fd = fd_hessian(partial(pi.kl, theta, obs=obs), theta, E, H)
            what = f"the ℓ block (act_dim={d}, kl_reduction={reduction!r})"
            close(block, fd, 1e-6, what + " vs the finite-difference Hessian of the mean KL")
            close(block, pi.fisher_matrix(theta, obs)[P0:, P0:], 1e-12, what + " vs fisher_matrix")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
