"""Exercise 3 (§ 4): the output-space metric of the categorical head.

Write ``answer(p)`` with p of shape (K,) (probabilities, positive, summing to 1), returning the
K×K matrix M = ∇²_z' KL(p ‖ softmax(z')) at softmax(z') = p.

Checked against (i) central second differences of ``CategoricalHead.kl`` in z'
(tolerance 1e-6: O(h²) at h = 1e-4 plus rounding/h²), (ii) the exact score covariance
Σₐ pₐ (onehot(a) − p)(onehot(a) − p)ᵀ, summed over all K actions (1e-12), and (iii) the
library's ``CategoricalHead.metric`` applied to the unit vectors (1e-12).

    python docs/exercises/ex03_categorical_metric.py my_answer.py
"""

import sys
from functools import partial

import numpy as np
from checking import close, fd_hessian, run

from npytrpo.distributions import CategoricalHead

H = 1e-4


def kl_row(z, zq):
    """KL(softmax(z) ‖ softmax(zq)) for one pair of logit vectors (K,)."""
    return CategoricalHead(z.shape[0]).kl(z[None, :], zq[None, :])[0]


def check(answer) -> None:
    rng = np.random.default_rng(3)
    for k in (2, 3, 5):
        z = rng.standard_normal(k)
        p = np.exp(z - z.max())
        p /= p.sum()
        M = np.asarray(answer(p.copy()))
        assert M.shape == (k, k), f"M has shape {M.shape}, expected ({k}, {k})"

        fd = fd_hessian(partial(kl_row, z), z, np.eye(k) * H, H)
        close(M, fd, 1e-6, f"M (K={k}) vs the finite-difference Hessian of the KL")
        S = CategoricalHead(k).score(np.tile(z, (k, 1)), np.arange(k))[0]  # row a: onehot(a) − p
        close(M, (S * p[:, None]).T @ S, 1e-12, f"M (K={k}) vs E[score scoreᵀ]")
        lib = CategoricalHead(k).metric(np.tile(z, (k, 1)), 1)(np.eye(k), None)[0]
        close(M, lib, 1e-12, f"M (K={k}) vs CategoricalHead.metric")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
