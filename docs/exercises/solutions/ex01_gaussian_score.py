"""Reference solution of exercise 1: with w = (a − μ)/σ, log π = −½Σw² − Σℓ − (d/2)log 2π,
so ∂/∂μ = w/σ and ∂/∂ℓ = w² − 1 (∂w/∂ℓ = −w)."""

import numpy as np


def answer(mu, log_std, a):
    w = (a - mu) * np.exp(-log_std)
    return w * np.exp(-log_std), w * w - 1.0
