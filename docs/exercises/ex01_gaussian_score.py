"""Exercise 1 (§ 1): the score of the diagonal Gaussian head.

Write ``answer(mu, log_std, a)`` with mu, a of shape (N, d) and log_std of shape (d,), returning
the per-sample score ``(s_mu, s_ell)``, both (N, d): s_mu = ∂log π(a|μ, ℓ)/∂μ and
s_ell = ∂log π(a|μ, ℓ)/∂ℓ for each sample (before any sum over samples).

Checked against central differences of ``GaussianHead.logp`` (tolerance 1e-7: the
O(h²) error at h = 1e-5 plus rounding/h) and ``GaussianHead.score`` (1e-12).

    python docs/exercises/ex01_gaussian_score.py my_answer.py
"""

import sys

import numpy as np
from checking import close, run

from npytrpo.distributions import GaussianHead


def logp(mu, log_std, a):
    return GaussianHead(log_std.shape[0]).logp((mu, log_std), a)

H = 1e-5


def check(answer) -> None:
    rng = np.random.default_rng(1)
    for n, d in ((5, 1), (7, 3)):
        mu = rng.standard_normal((n, d))
        log_std = 0.5 * rng.standard_normal(d)
        a = mu + np.exp(log_std) * rng.standard_normal((n, d))
        s_mu, s_ell = answer(mu.copy(), log_std.copy(), a.copy())
        fd_mu = np.empty((n, d))
        fd_ell = np.empty((n, d))
        for i in range(d):
            e = np.zeros(d)
            e[i] = H
            E = np.zeros((n, d))
            E[:, i] = H
            fd_mu[:, i] = logp(mu + E, log_std, a) - logp(mu - E, log_std, a)
            fd_ell[:, i] = logp(mu, log_std + e, a) - logp(mu, log_std - e, a)
        close(s_mu, fd_mu / (2 * H), 1e-7, f"s_mu (N={n}, d={d}) vs finite differences")
        close(s_ell, fd_ell / (2 * H), 1e-7, f"s_ell (N={n}, d={d}) vs finite differences")
        lib_mu, lib_ell = GaussianHead(log_std.shape[0]).score((mu, log_std), a)
        close(s_mu, lib_mu, 1e-12, "s_mu vs the library")
        close(s_ell, lib_ell, 1e-12, "s_ell vs the library")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
