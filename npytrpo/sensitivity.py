"""Fisher-vector products through output sensitivities: the same ``J_n v`` and ``Σ_n J_nᵀ u_n``
as ``MLP.jvp`` / ``MLP.vjp``, cheaper when the network has few outputs.

A tanh MLP with layers ``z_i = h_i W_i + b_i``, ``h_{i+1} = tanh(z_i)`` and output ``o = z_k``
(docs/theory.md § 7.3; this module is § 7.5). By the chain rule, a tangent ``v = (V_i, c_i)_i``
moves the output by the sum over layers of each layer's *direct* move ``ż_i = h_i V_i + c_i``
carried to the output by the sensitivity ``S_i = ∂o/∂z_i``:

.. math:: J_n v = \\sum_i S_{i,n}\\, \\dot z_{i,n},\\qquad
          \\sum_n J_nᵀ u_n = \\Big(\\sum_n h_{i,n}ᵀ δ_{i,n},\\ \\sum_n δ_{i,n}\\Big)_i
          \\ \\text{with}\\ δ_{i,n} = S_{i,n}ᵀ u_n,

    S_{k-1,n} = \\operatorname{diag}(1 - h_{k,n}^2)\\, W_kᵀ \\ \\text{(as columns)},\\qquad
    S_{i,n} = S_{i+1,n} W_{i+1}ᵀ \\operatorname{diag}(1 - h_{i+1,n}^2).

``MLP.jvp`` and ``MLP.vjp`` instead carry the tangent up (``ḣ_{i+1} W_{i+1}``) and the
cotangent down (``δ_{i+1} W_{i+1}ᵀ``) through every hidden-to-hidden weight matrix: two
``N × fan_in × fan_out`` matrix products per such layer and product. A conjugate-gradient solve
calls the Fisher product 8–11 times on one forward pass, so the sensitivities of the layers
below the last hidden one (shape ``(d_out, N, fan_out_i)``) are computed once
(``output_sensitivities``: ``d_out`` backprops) and each product then costs, per such layer,
``d_out`` element-wise products in each direction in place of those two matrix products. The
last hidden layer and the output layer go the usual way (their propagation is through the
``fan × d_out`` output matrix, already cheap). Worth it for few outputs and wide layers
(``worth_it``): a 64×64 policy with 1 or 2 outputs (Pendulum-v1, CartPole-v1) spends about a
third less time per product (``benchmarks/bench_step.py``; ``benchmarks/results/speed23``).
The numbers are the same sums in another order: they agree with ``MLP.jvp`` / ``MLP.vjp`` to
rounding (``tests/test_sensitivity.py``), not bit for bit.
"""

from __future__ import annotations

import numpy as np

from .nn import MLP, MLPCache

__all__ = ["ELEMENTWISE_COST", "Products", "output_sensitivities", "with_ones", "worth_it"]

#: What one element of an element-wise NumPy pass costs, in multiply-adds inside a large matrix
#: product (``N × 64 × 64`` at N = 1024 on one core: ~21 multiply-adds per ns against ~2–3
#: elements per ns for ``np.multiply`` or a row-wise ``einsum``; ``benchmarks/results/speed23``).
ELEMENTWISE_COST = 10.0


def worth_it(net: MLP) -> bool:
    """Whether products through sensitivities save time on ``net``, by counting per sample:

    - saved per product: the two hidden-to-hidden propagations ``ḣ_i W_i`` and ``δ_i W_iᵀ`` of
      every layer i = 1 … m (m the last hidden layer), ``2 Σ fan_in_i · fan_out_i``;
    - added per product: ``d_out`` element-wise passes per direction over every layer below m,
      ``2 · d_out · Σ fan_out_i · ELEMENTWISE_COST``, and a tenth of the sensitivities'
      ``d_out · Σ fan_in_i · fan_out_i`` (computed once for the ~10 products of a CG solve).

    A 64×64 network gains with up to 4 outputs and not with 6; a net of 8-unit layers never
    (its matrix products are already cheap); fewer than two hidden layers have nothing to skip.
    """
    m = net.n_layers - 2
    if m < 1:
        return False
    sizes = net.sizes
    skipped = sum(sizes[i] * sizes[i + 1] for i in range(1, m + 1))  # W_1 … W_m
    passes = sum(sizes[i + 1] for i in range(m))  # z_0 … z_{m-1}
    added = 2 * net.d_out * passes * ELEMENTWISE_COST + net.d_out * skipped / 10
    return 2 * skipped > added


def output_sensitivities(net: MLP, cache: MLPCache) -> list[np.ndarray]:
    """``S_i = ∂o/∂z_i`` at the forward pass ``cache`` for every layer i below the last hidden.

    Returns
    -------
    sens : list of ``net.n_layers − 2`` arrays, ``sens[i]`` of shape (d_out, N, fan_out_i)
        ``sens[i][k, n, j] = ∂o_{n,k}/∂z_{i,n,j}`` (the module docstring's recursion, from
        ``S_{k-1} = (1 − h_k²) ⊙ W_k[:, k]`` down). Empty for fewer than two hidden layers.
    """
    m = net.n_layers - 2  # the last hidden layer's index
    if m < 1:
        return []
    dtanh, W = cache.dtanh, cache.weights
    N = cache.batch_size
    T = np.empty((net.d_out, N, net.sizes[m + 1]))
    for k in range(net.d_out):
        np.multiply(dtanh[m], W[m + 1][:, k], out=T[k])  # ∂o_k/∂z_m = (1 − h²) ⊙ W[:, k]
    sens = []  # S_{m-1}, …, S_0, reversed at the end
    for i in range(m - 1, -1, -1):
        # S_i = (S_{i+1} W_{i+1}ᵀ) ⊙ (1 − h_{i+1}²), all outputs in one matrix product
        T = (T.reshape(-1, T.shape[2]) @ W[i + 1].T).reshape(net.d_out, N, -1)
        T *= dtanh[i]
        sens.append(T)
    return sens[::-1]


def with_ones(h: np.ndarray) -> np.ndarray:
    """``[h, 1]`` (N, fan + 1): a layer's input with a column of ones, so that ``[h, 1] B`` with
    ``B = [W; b]`` (``MLP.blocks``) is ``h W + b`` in one matrix product."""
    out = np.empty((h.shape[0], h.shape[1] + 1))
    out[:, :-1] = h
    out[:, -1] = 1.0
    return out


class Products:
    """``J_n v`` and ``Σ_n J_nᵀ u_n`` at one forward pass, through its output sensitivities.

    Built once per forward pass (the sensitivities and every layer's input with a column of
    ones); each product then takes one matrix product per layer and direction, the bias joined
    to it (``[h, 1] [V; c]`` and ``[h, 1]ᵀ δ``, so no separate broadcast or column sum).

    Parameters
    ----------
    net : MLP with at least two hidden layers
    cache : MLPCache from ``net.forward``
    """

    def __init__(self, net: MLP, cache: MLPCache):
        if net.n_layers < 3:
            raise ValueError(f"net must have at least two hidden layers, got sizes {net.sizes}")
        self.net, self.cache = net, cache
        self.sens = output_sensitivities(net, cache)
        self.inputs = [with_ones(h) for h in cache.inputs]  # [h_i, 1], (N, fan_in_i + 1)

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J_n v`` for every sample (N, d_out): ``Σ_i S_i ż_i`` over the layers below the last
        hidden one, then the last hidden and output layers forward as in ``MLP.jvp``."""
        blocks, h, cache = self.net.blocks(v), self.inputs, self.cache
        m = len(self.sens)
        dz = h[m] @ blocks[m]  # ż_m = [h_m, 1] [V_m; c_m] (its input moves through S only)
        dz *= cache.dtanh[m]  # ḣ_{m+1} = (1 − h_{m+1}²) ⊙ ż_m
        out = dz @ cache.weights[m + 1]
        out += h[m + 1] @ blocks[m + 1]  # ȯ from the last two layers
        for i, S in enumerate(self.sens):
            dz = h[i] @ blocks[i]  # ż_i = [h_i, 1] [V_i; c_i]
            out += np.einsum("nj,knj->nk", dz, S)  # + Σ_j S_{i,n}[k, j] ż_{i,n,j}
        return out

    def vjp(self, u: np.ndarray) -> np.ndarray:
        """``Σ_n J_nᵀ u_n`` (P,): the output and last hidden layers by backprop as in
        ``MLP.vjp``, the layers below with ``δ_{i,n} = S_{i,n}ᵀ u_n``."""
        grad = np.empty(self.net.num_params)
        g, h, cache = self.net.blocks(grad), self.inputs, self.cache  # g: views filling grad
        m = len(self.sens)
        np.dot(h[m + 1].T, u, out=g[m + 1])  # [∂W_k; ∂b_k] = [h_k, 1]ᵀ u
        W = cache.weights[m + 1]
        delta = u * W.T if self.net.d_out == 1 else u @ W.T  # an outer product for one output
        delta *= cache.dtanh[m]  # δ_m = (u W_kᵀ) ⊙ (1 − h_k²)
        np.dot(h[m].T, delta, out=g[m])
        for i, S in enumerate(self.sens):
            delta = np.einsum("nk,knj->nj", u, S)  # δ_i = Σ_k u_k S_{i,k}
            np.dot(h[i].T, delta, out=g[i])
        return grad
