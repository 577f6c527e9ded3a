"""The closed-form trust-region step by dense SciPy solves: the ground truth for CG.

Schulman et al. 2015, appendix C: maximising the linear model gᵀΔ subject to the quadratic
model ½ΔᵀAΔ ≤ δ gives Δ* = √(2δ / gᵀA⁻¹g) · A⁻¹g. ``trust_region.trpo_step`` approximates A⁻¹g
by conjugate gradient with only products A·v; this module solves with the dense matrix, for
tests, the oracle's ``x_exact`` and the study demos. It knows nothing of policies.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import real_number

__all__ = ["dense_natural_step"]


def dense_natural_step(
    F: np.ndarray, g: np.ndarray, *, delta: float = 0.01, damping: float = 0.1
) -> tuple[np.ndarray, float, np.ndarray]:
    """The closed-form trust-region step with dense SciPy solves (the ground truth for CG).

    .. math:: x^* = A^{-1} g,\\quad β^* = \\sqrt{2δ / gᵀA^{-1}g},\\quad \\text{step} = β^* x^*

    with A = F + λI solved by Cholesky (``scipy.linalg.solve(assume_a="pos")``) when λ > 0, and
    the pseudo-inverse ``scipy.linalg.pinvh(F)`` when λ = 0 (F may be singular; g lies in its
    range, so x* = F⁺g is the minimum-norm solution).

    Parameters
    ----------
    F : ndarray of shape (P, P), symmetric PSD
    g : ndarray of shape (P,)

    Returns
    -------
    x : ndarray of shape (P,)
    beta : float (0.0 when gᵀA⁻¹g = 0, or when it overflows to inf: the limit of √(2δ/gᵀA⁻¹g))
    step : ndarray of shape (P,) (zeros wherever β is 0.0)
    """
    delta = real_number(delta, "delta", low=0.0, low_open=True)
    damping = real_number(damping, "damping", low=0.0, low_open=False)
    F = np.asarray(F, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if F.ndim != 2 or F.shape[0] != F.shape[1] or g.shape != (F.shape[0],):
        raise ValueError(f"F must be (P, P) and g (P,), got {F.shape} and {g.shape}")
    import scipy.linalg  # here, not at the top: ``import npytrpo`` stays ~0.2 s shorter

    if damping > 0.0:
        x = scipy.linalg.solve(F + damping * np.eye(F.shape[0]), g, assume_a="pos")
    else:
        x = scipy.linalg.pinvh(F) @ g
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is a result, not a warning
        gx = float(g @ x)
    if not 0.0 < gx < math.inf:  # 0, negative, NaN or overflowed: β = 0
        return x, 0.0, np.zeros_like(x)
    beta = float(np.sqrt(2.0 * delta / gx))
    return x, beta, beta * x
