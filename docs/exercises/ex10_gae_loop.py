"""Exercise 10 (§ 9): GAE as a plain loop, with termination and truncation kept apart.

Write ``answer(rewards, values, next_values, terminated, truncated, gamma, lam)`` for one
environment (every array of shape (T,), the masks bool) returning the advantages Âₜ, shape (T,):
ξₜ = rₜ + γ(1 − termₜ)V(sₜ₊₁) − V(sₜ) and Âₜ = ξₜ + γλ(1 − doneₜ)Âₜ₊₁ with Â_T = 0, where
``next_values[t]`` is V of the real next observation (of the final one when step t ended an
episode).

Checked against ``npytrpo.gae`` (tolerance 1e-12) on 20 random sequences with terminations
and truncations, for (γ, λ) in {(0.99, 0.97), (0.9, 0), (1, 1)}; and at λ = 1, γ = 1 on one
episode without ends against the telescoped sum Σ r − V(s_t) + V(s_T) (1e-12).

    python docs/exercises/ex10_gae_loop.py my_answer.py
"""

import sys

import numpy as np
from checking import close, run

from npytrpo import gae


def check(answer) -> None:
    rng = np.random.default_rng(10)
    for _ in range(20):
        T = int(rng.integers(1, 30))
        r, v, nv = rng.standard_normal((3, T))
        term = rng.random(T) < 0.1
        trunc = ~term & (rng.random(T) < 0.1)
        for gamma, lam in ((0.99, 0.97), (0.9, 0.0), (1.0, 1.0)):
            got = answer(r.copy(), v.copy(), nv.copy(), term.copy(), trunc.copy(), gamma, lam)
            want, _ = gae(r, v, nv, term, trunc, gamma=gamma, lam=lam)
            close(
                got,
                want,
                1e-12,
                f"Â (T={T}, γ={gamma}, λ={lam}, {term.sum()} terminated, "
                f"{trunc.sum()} truncated) vs npytrpo.gae",
            )
    T = 12
    r, v = rng.standard_normal((2, T))
    nv = np.append(v[1:], rng.standard_normal())
    no = np.zeros(T, dtype=bool)
    got = answer(r, v, nv, no, no, 1.0, 1.0)
    telescoped = np.cumsum(r[::-1])[::-1] - v + nv[-1]
    close(got, telescoped, 1e-12, "Â at γ = λ = 1 vs Σ_{t'≥t} r_t' − V(s_t) + V(s_T)")


if __name__ == "__main__":
    sys.exit(run(check, __file__))
