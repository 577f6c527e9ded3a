"""Reference solution of exercise 7: with xᵀF_ωx = gᵀx, β = √(2δ/gᵀx) and
gᵀ(βx) = β·gᵀx = √(2δ·gᵀx)."""

import numpy as np


def answer(g, x, delta):
    return np.sqrt(2.0 * delta * (g @ x))
