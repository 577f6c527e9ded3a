"""Exercise 11 (§ 11, the entropy bonus): the gradient of the categorical entropy.

Write ``answer(z)`` with logits z of shape (N, K) returning ∂H/∂z, shape (N, K), where
H(z) = −Σₖ pₖ log pₖ and p = softmax(z), per row.

Checked against central differences of ``CategoricalHead.entropy`` (tolerance 1e-8)
and against ``CategoricalHead.entropy_grad`` (1e-12); then the sum of each row must be
0 (shifting all logits leaves H unchanged).

    python docs/exercises/ex11_entropy_gradient.py my_answer.py
"""

import sys

import numpy as np
from checking import close, run

from npytrpo.distributions import CategoricalHead

H = 1e-5


def check(answer) -> None:
    rng = np.random.default_rng(11)
    for n, k in ((4, 2), (6, 5)):
        z = 1.5 * rng.standard_normal((n, k))
        dH = np.asarray(answer(z.copy()))
        assert dH.shape == (n, k), f"∂H/∂z has shape {dH.shape}, expected ({n}, {k})"
        fd = np.empty((n, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = H
            head = CategoricalHead(z.shape[1])
            fd[:, j] = (head.entropy(z + e) - head.entropy(z - e)) / (2 * H)
        close(dH, fd, 1e-8, f"∂H/∂z (K={k}) vs finite differences")
        lib = CategoricalHead(z.shape[1]).entropy_grad(z)[0]
        close(dH, lib, 1e-12, f"∂H/∂z (K={k}) vs the library")
        close(dH.sum(axis=1), np.zeros(n), 1e-12, "row sums of ∂H/∂z")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
