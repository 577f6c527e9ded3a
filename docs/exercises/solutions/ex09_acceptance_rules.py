"""Reference solution of exercise 9 (the table of § 8)."""

import math


def answer(rule, fraction, kl, improvement, delta, expected):
    if not (math.isfinite(kl) and math.isfinite(improvement)):
        return False
    if rule == "kl_and_improve":
        return kl <= delta and improvement > 0.0
    if rule == "strict":
        return kl < delta and improvement > 0.0
    if rule == "kl_slack":
        return kl <= 1.5 * delta and improvement >= 0.0
    if rule == "expected_ratio":
        return expected > 0.0 and improvement > 0.1 * fraction * expected and improvement > 0.0
    raise ValueError(f"unknown rule {rule!r}")
