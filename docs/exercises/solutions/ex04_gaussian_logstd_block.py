"""Reference solution of exercise 4: per dimension the score in ℓ is w² − 1 with w ~ N(0, 1),
so the metric is E[(w² − 1)²] = E[w⁴] − 2E[w²] + 1 = 3 − 2 + 1 = 2, the same in every state;
"mean" divides the KL, and so every block of F, by act_dim."""

import numpy as np


def answer(act_dim, kl_reduction):
    scale = 1.0 if kl_reduction == "sum" else 1.0 / act_dim
    return 2.0 * scale * np.eye(act_dim)
