"""Reference solution of exercise 3: ∂KL/∂z'_j = q_j − p_j, ∂q_j/∂z'_i = q_j(δ_ij − q_i), so
at q = p the Hessian is diag(p) − ppᵀ."""

import numpy as np


def answer(p):
    return np.diag(p) - np.outer(p, p)
