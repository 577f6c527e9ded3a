"""Exercise 5 (§ 4): the rank of F for a given network and batch.

Write ``answer(kind, obs_dim, hidden, out_dim, n)`` returning the rank of F = (1/N) Σ JₙᵀMₙJₙ at
a generic θ and N = n generic states, for ``kind`` "categorical" (``out_dim`` = K actions) or
"gaussian" (``out_dim`` = d action dimensions, state-independent log-std), with a tanh MLP of
hidden sizes ``hidden`` (a tuple, possibly empty). Count the parameters P, the dimensions each
state can contribute (the rank of Mₙ), and the directions no state can see.

Checked against the numerical rank (eigenvalues above 1e-10 of the largest) of
``policy.fisher_matrix`` at a random θ and random states, on 8 configurations; the answer must
be exact.

    python docs/exercises/ex05_fisher_rank.py my_answer.py
"""

import sys

import numpy as np
from checking import run

from npytrpo import CategoricalPolicy, GaussianPolicy

CASES = [
    ("categorical", 3, (), 3, 2),
    ("categorical", 3, (), 3, 50),
    ("categorical", 2, (5,), 3, 4),
    ("categorical", 2, (5,), 3, 60),
    ("categorical", 3, (4, 3), 2, 40),
    ("gaussian", 3, (), 2, 1),
    ("gaussian", 2, (5,), 2, 4),
    ("gaussian", 2, (5,), 2, 40),
]


def check(answer) -> None:
    rng = np.random.default_rng(5)
    for kind, obs_dim, hidden, out_dim, n in CASES:
        cls = CategoricalPolicy if kind == "categorical" else GaussianPolicy
        pi = cls(obs_dim, out_dim, hidden)
        theta = pi.init(rng) + 0.5 * rng.standard_normal(pi.num_params)
        obs = rng.standard_normal((n, obs_dim))
        ev = np.linalg.eigvalsh(pi.fisher_matrix(theta, obs))
        rank = int(np.sum(ev > 1e-10 * ev[-1]))
        got = answer(kind, obs_dim, tuple(hidden), out_dim, n)
        assert got == rank, (
            f"{kind}, obs_dim={obs_dim}, hidden={hidden}, out_dim={out_dim}, N={n} "
            f"(P = {pi.num_params}): answered {got}, rank F = {rank}"
        )


if __name__ == "__main__":
    sys.exit(run(check, __file__))
