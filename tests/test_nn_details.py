"""Details of npytrpo.nn found by mutation testing (benchmarks/mutation.py)."""

import numpy as np
import pytest

from npytrpo.nn import orthogonal

# Qᵀa for a Gaussian (n, m) matrix a, n, m ≤ 7: the rounding of one QR and one product,
# a few eps relative to ‖a‖ ≈ 7.
TRIANGULAR_ATOL = 1e-13


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (1, 6), (6, 1), (1, 1), (7, 7)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_orthogonal_is_the_qr_factor_whose_r_has_a_positive_diagonal(shape, seed):
    """W = gain·Q (or gain·Qᵀ when rows < cols) where a = Q R is the QR decomposition of the
    (max, min) standard-normal draw with diag(R) > 0: the unique such factor, which makes Q
    Haar-distributed (Mezzadri 2007). So Qᵀa is upper triangular with a positive diagonal,
    for wide, tall and square shapes alike (a square W is Q itself, not Qᵀ)."""
    rows, cols = shape
    gain = 1.5
    W = orthogonal(shape, gain, np.random.default_rng(seed))
    assert W.shape == shape
    a = np.random.default_rng(seed).standard_normal((max(rows, cols), min(rows, cols)))
    Q = W / gain if rows >= cols else W.T / gain
    R = Q.T @ a
    np.testing.assert_allclose(np.tril(R, -1), 0.0, rtol=0, atol=TRIANGULAR_ATOL)
    assert np.all(np.diag(R) > 0.0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(min(rows, cols)), rtol=0, atol=1e-14)
