"""Exercise 9 (§ 8): the four acceptance rules of the line search.

Write ``answer(rule, fraction, kl, improvement, delta, expected)`` returning True when the
trial at ``fraction`` of the full step (measured mean KL ``kl``, surrogate gain
``improvement``) is accepted under ``rule``, one of "kl_and_improve" (the default of
Schulman et al. 2015), "strict" (sb3-contrib, Tianshou), "kl_slack" (OpenAI baselines) and
"expected_ratio" (modular_rl); ``expected`` is the expected improvement gᵀ(βx) of the full
step. Mind the boundaries (KL exactly δ, a gain exactly 0) and non-finite measurements.

Checked against ``linesearch.make_acceptance_rule`` on a grid of 4 rules × 6 fractions ×
11 KLs × 8 gains × 3 expected improvements, boundaries and NaN/inf included; must agree
everywhere.

    python docs/exercises/ex09_acceptance_rules.py my_answer.py
"""

import itertools
import sys

from checking import run

from npytrpo.linesearch import ACCEPTANCE_RULES, make_acceptance_rule

DELTA = 0.01


def check(answer) -> None:
    kls = [0.0, 0.5 * DELTA, DELTA * (1 - 1e-12), DELTA, DELTA * (1 + 1e-12), 1.2 * DELTA,
           1.5 * DELTA, 1.6 * DELTA, 10.0, float("nan"), float("inf")]  # fmt: skip
    gains = [-1.0, -1e-12, 0.0, 1e-12, 0.003, 0.2, float("nan"), float("inf")]
    fractions = [1.0, 0.5, 0.25, 0.125, 2.0**-5, 2.0**-9]
    for rule, expected in itertools.product(ACCEPTANCE_RULES, (0.05, 0.0, -0.1)):
        accept = make_acceptance_rule(rule, delta=DELTA, expected_improvement=expected)
        for f, kl, gain in itertools.product(fractions, kls, gains):
            want = accept(f, kl, gain)
            got = answer(rule, f, kl, gain, DELTA, expected)
            assert bool(got) == want, (
                f"rule {rule!r}, fraction {f:g}, kl {kl!r}, improvement {gain!r}, δ {DELTA}, "
                f"expected {expected}: answered {got}, the library says {want}"
            )


if __name__ == "__main__":
    sys.exit(run(check, __file__))
