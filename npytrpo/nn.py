"""A tanh multilayer perceptron on a flat float64 parameter vector, with hand-written derivatives.

Layout of θ (docs/design.md, "Parameter layout"): for layer sizes ``[d_in, h_1, ..., h_k, d_out]``,
layer by layer, the weight ``W`` of shape ``(fan_in, fan_out)`` in row-major order (applied as
``x @ W``), then the bias ``b`` of shape ``(fan_out,)``. Hidden layers use tanh; the output layer
is affine. A linear model is the MLP with ``hidden=()``. This module is the only one that knows
how θ is laid out.

Derivatives, for a batch of N inputs with outputs ``o_n = f_θ(x_n)`` and ``J_n = ∂o_n/∂θ``:

=================  =============================  ===========================
function           computes                       shape
=================  =============================  ===========================
``forward``        ``o_n`` and a cache            ``(N, d_out)``
``jvp``            ``J_n v`` (forward mode)       ``(N, d_out)``
``vjp``            ``Σ_n J_nᵀ u_n`` (backprop)    ``(P,)``
``jacobian``       ``J_n`` for every n            ``(N, d_out, P)``
=================  =============================  ===========================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MLP", "MLPCache", "orthogonal", "repeat_for_small_batch", "SMALL_BATCH_ROWS"]

#: A batch of at most this many rows (a rollout step's n_envs observations) gets the vectors
#: combined with it repeated to its rows (``repeat_for_small_batch``); larger batches broadcast
#: them, where the call overhead no longer counts and a repeated copy would only add memory.
SMALL_BATCH_ROWS = 64


def repeat_for_small_batch(vectors, shape: tuple[int, ...]) -> list:
    """``vectors`` (each of shape (d,)) repeated to (N, d) for a 2-D batch of ``shape`` (N, d)
    with N ≤ ``SMALL_BATCH_ROWS``, else the vectors themselves.

    On a few rows NumPy's broadcasting of a (d,) vector costs more than the arithmetic (0.6–0.8
    µs a call on 2×64 arrays), and an operation on arrays of equal shapes skips it: the same
    numbers, element for element. Used where a rollout step adds biases or statistics.
    """
    if len(shape) == 2 and shape[0] <= SMALL_BATCH_ROWS:
        return [np.tile(v, (shape[0], 1)) for v in vectors]
    return list(vectors)


def orthogonal(shape: tuple[int, int], gain: float, rng: np.random.Generator) -> np.ndarray:
    """Orthogonal matrix initialisation (Saxe et al. 2014).

    Parameters
    ----------
    shape : tuple (fan_in, fan_out)
    gain : float
        Scale applied to the semi-orthogonal matrix.
    rng : numpy.random.Generator

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out)
        ``gain · Q`` where Q has orthonormal rows or columns (whichever are fewer), taken from the
        QR decomposition of a standard-normal matrix with the signs of R's diagonal folded in so
        that Q is Haar-distributed.

    Examples
    --------
    >>> W = orthogonal((4, 3), 1.0, np.random.default_rng(0))
    >>> bool(np.allclose(W.T @ W, np.eye(3)))
    True
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    if rows < cols:
        q = q.T
    return gain * q[:rows, :cols]


@dataclass
class MLPCache:
    """What ``forward`` keeps for ``jvp``, ``vjp`` and ``jacobian``.

    Attributes
    ----------
    inputs : list of ndarray
        ``inputs[i]`` is the input of layer i, shape (N, fan_in_i); ``inputs[0]`` is x and
        ``inputs[i + 1] = tanh(inputs[i] @ W_i + b_i)`` for hidden layers.
    weights : list of ndarray
        Views into θ of every layer's W (shape (fan_in, fan_out)).
    theta : ndarray of shape (P,) or None
        The θ of the pass (the array itself, not a copy).
    """

    inputs: list[np.ndarray]
    weights: list[np.ndarray]
    theta: np.ndarray | None = None
    _dtanh: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def dtanh(self) -> list[np.ndarray]:
        """``1 − h²`` for every hidden layer's output h (tanh' at the pre-activation)."""
        if self._dtanh is None:
            d = []
            for h in self.inputs[1:]:
                t = np.multiply(h, h)
                np.subtract(1.0, t, out=t)  # in place: one allocation per layer
                d.append(t)
            self._dtanh = d
        return self._dtanh

    @property
    def batch_size(self) -> int:
        return self.inputs[0].shape[0]


class MLP:
    """Tanh MLP ``f_θ : R^{d_in} → R^{d_out}`` on a flat parameter vector.

    Parameters
    ----------
    sizes : sequence of int
        ``[d_in, h_1, ..., h_k, d_out]``; at least two entries, all ≥ 1.

    Examples
    --------
    >>> net = MLP([3, 8, 2])
    >>> net.num_params  # 3*8 + 8 + 8*2 + 2
    50
    >>> theta = net.init(np.random.default_rng(0), output_gain=0.01)
    >>> out, cache = net.forward(theta, np.ones((5, 3)))
    >>> out.shape
    (5, 2)
    """

    def __init__(self, sizes: Sequence[int]):
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must have at least 2 entries (d_in, d_out), got {sizes}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
                raise ValueError(f"sizes must be positive integers, got {sizes}")
        self.sizes = tuple(int(s) for s in sizes)
        self.n_layers = len(self.sizes) - 1
        # (start, stop) slices of W and b for every layer, in the DESIGN layout.
        self._slices: list[tuple[slice, slice]] = []
        start = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w = slice(start, start + fan_in * fan_out)
            start = w.stop
            b = slice(start, start + fan_out)
            start = b.stop
            self._slices.append((w, b))
        self.num_params = start

    @property
    def d_in(self) -> int:
        return self.sizes[0]

    @property
    def d_out(self) -> int:
        return self.sizes[-1]

    def unpack(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Views ``[(W_0, b_0), ...]`` into θ (no copies); W_i has shape (fan_in, fan_out)."""
        layers = []
        for (w, b), fan_in, fan_out in zip(
            self._slices, self.sizes[:-1], self.sizes[1:], strict=True
        ):
            layers.append((theta[w].reshape(fan_in, fan_out), theta[b]))
        return layers

    def blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        """Views ``[B_0, ...]`` into θ with ``B_i = [W_i; b_i]`` of shape (fan_in + 1, fan_out).

        The layout stores b_i right after W_i, so each layer's parameters are one contiguous
        block, and ``h W_i + b_i = [h, 1] B_i`` is one matrix product (``sensitivity.py``).
        """
        return [
            theta[w.start : b.stop].reshape(fan_in + 1, fan_out)
            for (w, b), fan_in, fan_out in zip(
                self._slices, self.sizes[:-1], self.sizes[1:], strict=True
            )
        ]

    def init(self, rng: np.random.Generator, *, output_gain: float = 0.01) -> np.ndarray:
        """Orthogonal weights, zero biases.

        Gain √2 on hidden layers (tanh), ``output_gain`` on the output layer: 0.01 for a policy
        (near-uniform / near-zero-mean start), 1.0 for a value function.

        Returns
        -------
        theta : ndarray of shape (P,)
        """
        theta = np.zeros(self.num_params)
        for i, ((w, _), fan_in, fan_out) in enumerate(
            zip(self._slices, self.sizes[:-1], self.sizes[1:], strict=True)
        ):
            gain = output_gain if i == self.n_layers - 1 else np.sqrt(2.0)
            theta[w] = orthogonal((fan_in, fan_out), gain, rng).ravel()
        return theta

    # ------------------------------------------------------------------ forward
    def forward(self, theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, MLPCache]:
        """Network output and the cache the derivatives need.

        .. math:: h_0 = x,\\quad h_{i+1} = \\tanh(h_i W_i + b_i),\\quad o = h_k W_k + b_k

        Parameters
        ----------
        theta : ndarray of shape (P,)
        x : ndarray of shape (N, d_in)

        Returns
        -------
        out : ndarray of shape (N, d_out)
        cache : MLPCache
            ``cache.inputs[-1]`` is the last hidden layer's output (the features).
        """
        layers = self.unpack(theta)
        inputs = [x]
        h = x
        for W, b in layers[:-1]:
            h = h @ W
            h += b
            np.tanh(h, out=h)  # in place: one (N, fan_out) array per layer
            inputs.append(h)
        W, b = layers[-1]
        out = h @ W
        out += b
        return out, MLPCache(inputs=inputs, weights=[W for W, _ in layers], theta=theta)

    def predictor(self, theta: np.ndarray):
        """A cache-free ``x ↦ (out, features)`` for acting: θ unpacked once, no derivatives.

        ``features`` is the last hidden layer's output (x itself for a linear model). Computes
        the same numbers as ``forward``; θ must not be mutated while the predictor is in use
        (it holds views of the weights in θ and copies of the biases).

        Examples
        --------
        >>> net = MLP([3, 8, 2])
        >>> theta = net.init(np.random.default_rng(0))
        >>> x = np.ones((5, 3))
        >>> out, feats = net.predictor(theta)(x)
        >>> out.shape, feats.shape, bool(np.array_equal(out, net.forward(theta, x)[0]))
        ((5, 2), (5, 8), True)
        """
        layers = self.unpack(theta)
        weights, biases = [W for W, _ in layers], [b for _, b in layers]
        shaped: list = [None, []]  # the last batch's shape, and (W, b) for it

        # Per-call overhead is what costs on a rollout's few rows, so: ``x.dot(W)`` (the BLAS
        # call of ``x @ W``, less dispatch), and biases repeated to a small batch's rows when
        # its shape changes (``repeat_for_small_batch``; the same sums, so the same numbers as
        # ``forward``).
        def predict(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if shaped[0] != x.shape:
                repeated = repeat_for_small_batch(biases, x.shape)
                shaped[:] = x.shape, list(zip(weights, repeated, strict=True))
            *hidden, (W_out, b_out) = shaped[1]
            for W, b in hidden:
                x = x.dot(W)
                x += b  # z = x W + b
                np.tanh(x, out=x)
            out = x.dot(W_out)
            out += b_out
            return out, x

        return predict

    # ------------------------------------------------------------------ forward mode
    def jvp(self, cache: MLPCache, v: np.ndarray) -> np.ndarray:
        """Forward-mode Jacobian-vector product ``J_n v`` for every sample.

        Tangent propagation (ḣ_0 = 0 because x does not depend on θ):

        .. math:: \\dot z_i = \\dot h_i W_i + h_i \\dot W_i + \\dot b_i,\\quad
                  \\dot h_{i+1} = (1 - h_{i+1}^2) \\odot \\dot z_i,\\quad \\dot o = \\dot z_k

        Parameters
        ----------
        cache : MLPCache from ``forward`` at θ
        v : ndarray of shape (P,)
            Tangent in parameter space.

        Returns
        -------
        Jv : ndarray of shape (N, d_out)
        """
        dtanh = cache.dtanh
        dh = None
        for i, (dW, db) in enumerate(self.unpack(v)):
            dz = cache.inputs[i] @ dW  # ż_i = h_i Ẇ_i + ḃ_i (+ ḣ_i W_i)
            dz += db
            if dh is not None:
                dz += dh @ cache.weights[i]
            if i == self.n_layers - 1:
                return dz
            dz *= dtanh[i]  # ḣ_{i+1} = (1 − h_{i+1}²) ⊙ ż_i
            dh = dz
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ reverse mode
    def vjp(self, cache: MLPCache, u: np.ndarray) -> np.ndarray:
        """Batched vector-Jacobian product (backprop) ``Σ_n J_nᵀ u_n``.

        With δ_k = u at the output and δ_{i} = (δ_{i+1} W_{i+1}ᵀ) ⊙ (1 − h_{i+1}²) below:

        .. math:: \\partial W_i = h_iᵀ δ_i,\\quad \\partial b_i = \\textstyle\\sum_n δ_{i,n}

        Parameters
        ----------
        cache : MLPCache from ``forward`` at θ
        u : ndarray of shape (N, d_out)
            Cotangent for every sample's output.

        Returns
        -------
        grad : ndarray of shape (P,)
        """
        grad = np.empty(self.num_params)
        dtanh = cache.dtanh
        delta = u
        for i in range(self.n_layers - 1, -1, -1):
            w, b = self._slices[i]
            fan_in, fan_out = self.sizes[i], self.sizes[i + 1]
            np.dot(cache.inputs[i].T, delta, out=grad[w].reshape(fan_in, fan_out))  # h_iᵀ δ_i
            delta.sum(axis=0, out=grad[b])
            if i > 0:
                W = cache.weights[i]
                # One output unit (a value net, a 1-D action): δ_i W_iᵀ is an outer product,
                # one multiplication per entry, which an element-wise product computes in half
                # the time of a matrix product with inner dimension 1 (the same numbers).
                delta = delta * W.T if fan_out == 1 else delta @ W.T
                delta *= dtanh[i - 1]  # δ_{i-1} = (δ_i W_iᵀ) ⊙ (1 − h_i²)
        return grad

    def jacobian(self, cache: MLPCache) -> np.ndarray:
        """Per-sample Jacobians ``J_n = ∂o_n/∂θ``.

        Backprop of each output coordinate separately, keeping the sample axis: the weight
        block of J_n[k] is the outer product ``h_{i,n} ⊗ δ_{i,n}^{(k)}``. Costs O(N·d_out·P)
        memory; meant for exact dense Fisher matrices of small networks and for tests.

        Returns
        -------
        J : ndarray of shape (N, d_out, P)
        """
        N = cache.batch_size
        J = np.empty((N, self.d_out, self.num_params))
        dtanh = cache.dtanh
        # delta[n, k, :] : sensitivity of output k of sample n to layer i's pre-activation.
        delta = np.broadcast_to(np.eye(self.d_out), (N, self.d_out, self.d_out))
        for i in range(self.n_layers - 1, -1, -1):
            w, b = self._slices[i]
            h = cache.inputs[i]  # (N, fan_in)
            J[:, :, w] = (delta[:, :, None, :] * h[:, None, :, None]).reshape(N, self.d_out, -1)
            J[:, :, b] = delta
            if i > 0:
                delta = (delta @ cache.weights[i].T) * dtanh[i - 1][:, None, :]
        return J
