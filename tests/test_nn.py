"""Tests for npytrpo.nn: forward, the three derivatives (jvp, vjp, jacobian), layout and init.

Derivatives are checked twice, as in autograd's ``check_grads``: against central differences of
``forward`` (an independent oracle) and against each other (the dot-product identity and the
per-sample Jacobians).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npytrpo.nn import MLP, orthogonal

# Central-difference step. The error of (f(θ+εv) − f(θ−εv)) / 2ε against J v is
#   truncation  ε²/6 · |f'''(θ)[v, v, v]|      (≈ 1e-10 · |f'''| for unit v)
#   rounding    eps_machine · |f| / ε          (≈ 2e-11 · |f|)
# so ε = 1e-5 balances the two for the O(1)–O(100) third derivatives of these small tanh nets.
FD_EPS = 1e-5
# Both error terms above stay below ~1e-8 relative to (|Jv| + |f|) for |f'''| ≲ 100; over 3000
# random networks the worst observed ratio was 1.5e-9. 1e-7 keeps a 60x margin and still fails on
# any wrong derivative (a wrong sign, index or missing tanh' term is an O(1) relative error).
FD_RTOL = 1e-7
# ⟨u, Jv⟩ and ⟨Jᵀu, v⟩ are two orderings of the same sum of products: they differ by rounding
# only, O(depth · eps_machine) relative to ‖u‖‖Jv‖ + ‖Jᵀu‖‖v‖ (observed ≤ 2e-16).
DOT_RTOL = 1e-10
# J_n v from the stored Jacobian and from forward mode are the same products summed in another
# order: rounding only, relative to ‖J_n‖_F ‖v‖ (observed ≤ 4e-16).
JAC_RTOL = 1e-12
# Orthogonality of init: QR in float64 gives Q with ‖QᵀQ − I‖ ~ 1e-15.
ORTHO_ATOL = 1e-12


# ------------------------------------------------------------------------------ strategies
@st.composite
def mlp_cases(draw):
    """(sizes, N, seed, θ scale): obs_dim 1–6, 0–2 hidden layers of 1–8 units, d_out 1–5."""
    obs_dim = draw(st.integers(1, 6))
    hidden = draw(st.lists(st.integers(1, 8), min_size=0, max_size=2))
    d_out = draw(st.integers(1, 5))
    n = draw(st.integers(1, 64))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(0.1, 2.0))
    return [obs_dim, *hidden, d_out], n, seed, scale


def build(case):
    """Network, random θ, inputs x, forward output and cache, and the generator for more."""
    sizes, n, seed, scale = case
    rng = np.random.default_rng(seed)
    net = MLP(sizes)
    theta = scale * rng.standard_normal(net.num_params)
    x = rng.standard_normal((n, net.d_in))
    out, cache = net.forward(theta, x)
    return net, theta, x, out, cache, rng


def unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


# ------------------------------------------------------------------------------ derivatives
@given(mlp_cases())
def test_jvp_matches_central_differences(case):
    """jvp(v) equals the central difference of forward along a random unit direction v."""
    net, theta, x, out, cache, rng = build(case)
    v = unit(rng, net.num_params)
    Jv = net.jvp(cache, v)
    fd = (net.forward(theta + FD_EPS * v, x)[0] - net.forward(theta - FD_EPS * v, x)[0]) / (
        2 * FD_EPS
    )
    scale = np.abs(Jv).max() + np.abs(out).max()
    np.testing.assert_allclose(Jv, fd, rtol=0, atol=FD_RTOL * scale)


@given(mlp_cases())
def test_vjp_matches_coordinatewise_gradient(case):
    """vjp(u) equals the coordinate-wise central-difference gradient of ⟨u, f_θ(x)⟩."""
    net, theta, x, out, cache, rng = build(case)
    u = rng.standard_normal(out.shape)
    g = net.vjp(cache, u)
    P = net.num_params
    fd = np.empty(P)
    for p in range(P):
        e = np.zeros(P)
        e[p] = FD_EPS
        fd[p] = np.sum(u * net.forward(theta + e, x)[0]) - np.sum(u * net.forward(theta - e, x)[0])
    fd /= 2 * FD_EPS
    scale = np.abs(g).max() + np.abs(u * out).sum()
    np.testing.assert_allclose(g, fd, rtol=0, atol=FD_RTOL * scale)


@given(mlp_cases())
def test_dot_product_identity(case):
    """⟨u, Jv⟩ = ⟨Jᵀu, v⟩ between jvp and vjp, to 1e-10 relative to ‖u‖‖Jv‖ + ‖Jᵀu‖‖v‖."""
    net, _, _, out, cache, rng = build(case)
    v = rng.standard_normal(net.num_params)
    u = rng.standard_normal(out.shape)
    Jv = net.jvp(cache, v)
    JTu = net.vjp(cache, u)
    lhs, rhs = np.sum(u * Jv), JTu @ v
    scale = np.linalg.norm(u) * np.linalg.norm(Jv) + np.linalg.norm(JTu) * np.linalg.norm(v)
    assert abs(lhs - rhs) <= DOT_RTOL * scale, (lhs, rhs, scale)


@given(mlp_cases())
def test_jacobian_agrees_with_jvp_and_vjp(case):
    """jacobian(cache) has shape (N, d_out, P); J_n v matches jvp and Σ_n J_nᵀ u_n matches vjp."""
    net, _, x, out, cache, rng = build(case)
    J = net.jacobian(cache)
    assert J.shape == (x.shape[0], net.d_out, net.num_params)
    v = rng.standard_normal(net.num_params)
    u = rng.standard_normal(out.shape)
    J_norm = np.linalg.norm(J, axis=(1, 2))  # (N,)
    Jv_err = np.abs(np.einsum("nkp,p->nk", J, v) - net.jvp(cache, v)).max(axis=1)
    assert np.all(Jv_err <= JAC_RTOL * J_norm * np.linalg.norm(v)), Jv_err
    JTu_err = np.abs(np.einsum("nkp,nk->p", J, u) - net.vjp(cache, u)).max()
    assert JTu_err <= JAC_RTOL * (J_norm @ np.linalg.norm(u, axis=1)), JTu_err


# ------------------------------------------------------------------------------ layout
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_linear_model_is_affine_in_documented_layout(d_in, d_out, n, seed):
    """With no hidden layers, forward is x @ W + b, θ = [W row-major (d_in, d_out), b]."""
    rng = np.random.default_rng(seed)
    net = MLP([d_in, d_out])
    assert net.num_params == d_in * d_out + d_out
    theta = rng.standard_normal(net.num_params)
    x = rng.standard_normal((n, d_in))
    W = theta[: d_in * d_out].reshape(d_in, d_out)
    b = theta[d_in * d_out :]
    out, cache = net.forward(theta, x)
    np.testing.assert_allclose(out, x @ W + b, rtol=1e-14, atol=1e-14)
    # The Jacobian of a linear model: ∂o_{n,k}/∂W_{i,j} = x_{n,i} δ_{jk}, ∂o_{n,k}/∂b_j = δ_{jk}.
    J_expected = np.zeros((n, d_out, net.num_params))
    for k in range(d_out):
        J_expected[:, k, k : d_in * d_out : d_out] = x
        J_expected[:, k, d_in * d_out + k] = 1.0
    np.testing.assert_array_equal(net.jacobian(cache), J_expected)


def test_layout_of_hand_built_2_3_2_network():
    """θ for [2, 3, 2] is W0 (2×3 row-major), b0, W1 (3×2), b1; PyTorch's weight is Wᵀ."""
    net = MLP([2, 3, 2])
    assert net.num_params == 2 * 3 + 3 + 3 * 2 + 2 == 17
    theta = np.arange(1, 18) / 10.0
    (W0, b0), (W1, b1) = net.unpack(theta)
    np.testing.assert_array_equal(W0, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    np.testing.assert_array_equal(b0, [0.7, 0.8, 0.9])
    np.testing.assert_array_equal(W1, [[1.0, 1.1], [1.2, 1.3], [1.4, 1.5]])
    np.testing.assert_array_equal(b1, [1.6, 1.7])
    # x = e_0 picks row 0 of W0: pre-activations 0.1+0.7, 0.2+0.8, 0.3+0.9.
    out, _ = net.forward(theta, np.array([[1.0, 0.0]]))
    t = np.tanh([0.8, 1.0, 1.2])
    expected = [
        t[0] * 1.0 + t[1] * 1.2 + t[2] * 1.4 + 1.6,
        t[0] * 1.1 + t[1] * 1.3 + t[2] * 1.5 + 1.7,
    ]
    np.testing.assert_allclose(out[0], expected, rtol=1e-15)
    # PyTorch: y = x @ weight.T + bias with weight of shape (out, in); our W is weight.T.
    torch_weight0, torch_weight1 = W0.T.copy(), W1.T.copy()
    x = np.random.default_rng(0).standard_normal((7, 2))
    torch_out = np.tanh(x @ torch_weight0.T + b0) @ torch_weight1.T + b1
    theta_from_torch = np.concatenate([torch_weight0.T.ravel(), b0, torch_weight1.T.ravel(), b1])
    np.testing.assert_array_equal(theta_from_torch, theta)
    np.testing.assert_allclose(net.forward(theta, x)[0], torch_out, rtol=1e-14, atol=1e-14)


# ------------------------------------------------------------------------------ init
def _is_scaled_orthogonal(W, gain):
    """Rows (fan_in < fan_out) or columns (otherwise) of W are orthogonal with norm `gain`."""
    G = W @ W.T if W.shape[0] < W.shape[1] else W.T @ W
    return np.allclose(G, gain**2 * np.eye(G.shape[0]), rtol=0, atol=ORTHO_ATOL * max(gain, 1) ** 2)


@given(mlp_cases(), st.sampled_from([0.01, 1.0, 0.5]))
def test_init_orthogonal_gains_zero_biases_deterministic(case, output_gain):
    """init: orthogonal W with gain √2 (hidden) / output_gain (last), zero b, same seed same θ."""
    sizes, _, seed, _ = case
    net = MLP(sizes)
    theta = net.init(np.random.default_rng(seed), output_gain=output_gain)
    assert theta.shape == (net.num_params,)
    assert theta.dtype == np.float64
    assert net.num_params == sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    layers = net.unpack(theta)
    for i, (W, b) in enumerate(layers):
        assert W.shape == (sizes[i], sizes[i + 1])
        gain = output_gain if i == len(layers) - 1 else np.sqrt(2.0)
        assert _is_scaled_orthogonal(W, gain), (i, W)
        np.testing.assert_array_equal(b, 0.0)
    again = net.init(np.random.default_rng(seed), output_gain=output_gain)
    np.testing.assert_array_equal(theta, again)


def test_init_default_output_gain_and_seed_dependence():
    """Default output gain is 0.01, and different seeds give different θ."""
    net = MLP([4, 8, 3])
    theta0 = net.init(np.random.default_rng(0))
    assert _is_scaled_orthogonal(net.unpack(theta0)[-1][0], 0.01)
    assert not np.array_equal(theta0, net.init(np.random.default_rng(1)))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (5, 5), (1, 6), (6, 1), (1, 1)])
def test_orthogonal_shapes_and_gain(shape):
    """orthogonal(shape, gain) has the requested shape and orthogonal rows/columns of norm gain."""
    W = orthogonal(shape, 1.7, np.random.default_rng(3))
    assert W.shape == shape
    assert _is_scaled_orthogonal(W, 1.7)


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "sizes",
    [[], [3], [3, 0], [3, -1, 2], [0, 2], [3, 2.0], [3, 2.5], [True, 2], [3, None], "ab"],
)
def test_bad_sizes_raise_value_error(sizes):
    """MLP rejects fewer than two sizes and any size that is not a positive integer."""
    with pytest.raises(ValueError, match="sizes"):
        MLP(sizes)


def test_numpy_integer_sizes_accepted():
    """Sizes given as numpy integers are accepted and stored as Python ints."""
    net = MLP(np.array([3, 4, 2]))
    assert net.sizes == (3, 4, 2)
    assert all(type(s) is int for s in net.sizes)
    assert net.num_params == 3 * 4 + 4 + 4 * 2 + 2
