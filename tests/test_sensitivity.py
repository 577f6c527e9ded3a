"""Tests for npytrpo.sensitivity: products through output sensitivities.

The sensitivities S_i = ∂o/∂z_i are checked against central differences of the network from
layer i up (an oracle that does not share their recursion); the products against
``MLP.jvp`` / ``MLP.vjp`` (the same sums in another order) and against the stored per-sample
Jacobians; and the Fisher product of a policy that takes this path against its dense Fisher.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

# Central differences along a unit direction: the step and bound of tests/test_nn.py (truncation
# ε²/6·|o‴|, rounding eps·|o|/ε, both ≲ 1e-8 relative for these tanh nets at ε = 1e-5); a wrong
# tanh' factor or a transposed W is an O(1) error. ``build``: network, θ, x, output, cache, rng.
from test_nn import FD_EPS, FD_RTOL, build

from npytrpo import sensitivity
from npytrpo.nn import MLP
from npytrpo.policies import CategoricalPolicy, GaussianPolicy

# ``MLP.jvp`` and ``Products.jvp`` sum the same products in another order: rounding only,
# O(depth · eps_machine) relative to ‖J‖‖v‖ (observed ≤ 1e-15 on 64×64 networks).
SUM_RTOL = 1e-12


@st.composite
def deep_cases(draw):
    """(sizes, N, seed, θ scale) as ``build`` takes them: 2–4 hidden layers of 1–9 units."""
    hidden = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4))
    sizes = [draw(st.integers(1, 6)), *hidden, draw(st.integers(1, 4))]
    return sizes, draw(st.integers(1, 40)), draw(st.integers(0, 2**32 - 1)), draw(st.floats(0.1, 2))


def output_from(net, theta, z, i):
    """The network's output with layer i's pre-activation set to z (tanh, then layers i+1 …)."""
    layers = net.unpack(theta)
    h = np.tanh(z)
    for W, b in layers[i + 1 : -1]:
        h = np.tanh(h @ W + b)
    W, b = layers[-1]
    return h @ W + b


@given(deep_cases())
def test_sensitivities_match_central_differences(case):
    """S_i[k, n] · e = the central difference of o_{n,k} along a unit direction e of z_{i,n}."""
    net, theta, x, _, cache, rng = build(case)
    sens = sensitivity.output_sensitivities(net, cache)
    assert len(sens) == net.n_layers - 2
    for i, S in enumerate(sens):
        N, fan = cache.batch_size, net.sizes[i + 1]
        assert S.shape == (net.d_out, N, fan)
        z = cache.inputs[i] @ net.unpack(theta)[i][0] + net.unpack(theta)[i][1]
        e = rng.standard_normal((N, fan))
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        up = output_from(net, theta, z + FD_EPS * e, i)
        down = output_from(net, theta, z - FD_EPS * e, i)
        fd = (up - down) / (2 * FD_EPS)  # (N, d_out)
        analytic = np.einsum("knj,nj->nk", S, e)
        scale = np.abs(analytic).max() + np.abs(up).max()
        np.testing.assert_allclose(analytic, fd, rtol=0, atol=FD_RTOL * scale)


@given(deep_cases())
def test_products_equal_the_propagated_ones_to_rounding(case):
    """jvp and vjp through sensitivities equal MLP.jvp and MLP.vjp, and the per-sample Jacobian
    products J_n v and Σ J_nᵀ u_n, to rounding."""
    net, theta, x, _, cache, rng = build(case)
    products = sensitivity.Products(net, cache)
    v = rng.standard_normal(net.num_params)
    u = rng.standard_normal((cache.batch_size, net.d_out))
    J = net.jacobian(cache)
    Jv = products.jvp(v)
    scale = np.linalg.norm(J) * np.linalg.norm(v)
    np.testing.assert_allclose(Jv, net.jvp(cache, v), rtol=0, atol=SUM_RTOL * scale)
    np.testing.assert_allclose(Jv, J @ v, rtol=0, atol=SUM_RTOL * scale)
    Ju = products.vjp(u)
    scale = np.linalg.norm(J) * np.linalg.norm(u)
    np.testing.assert_allclose(Ju, net.vjp(cache, u), rtol=0, atol=SUM_RTOL * scale)
    np.testing.assert_allclose(Ju, np.einsum("nkp,nk->p", J, u), rtol=0, atol=SUM_RTOL * scale)


def test_blocks_are_each_layers_weight_and_bias_stacked():
    """MLP.blocks: [W_i; b_i] views into θ, so h W_i + b_i = [h, 1] B_i and a write fills θ."""
    net = MLP([3, 5, 4, 2])
    theta = np.random.default_rng(1).standard_normal(net.num_params)
    h = np.random.default_rng(2).standard_normal((6, 3))
    for (W, b), B in zip(net.unpack(theta), net.blocks(theta), strict=True):
        assert np.array_equal(B[:-1], W) and np.array_equal(B[-1], b)
        assert np.shares_memory(B, theta)
        h1 = sensitivity.with_ones(h)
        assert h1.shape == (6, h.shape[1] + 1) and np.array_equal(h1[:, -1], np.ones(6))
        np.testing.assert_allclose(h1 @ B, h @ W + b, rtol=1e-14, atol=1e-14)
        h = np.tanh(h @ W + b)


def test_no_sensitivities_below_two_hidden_layers():
    """A linear model and a one-hidden-layer net have no layer below the last hidden one."""
    for sizes in ([3, 2], [3, 5, 2]):
        net = MLP(sizes)
        _, cache = net.forward(net.init(np.random.default_rng(0)), np.ones((4, 3)))
        assert sensitivity.output_sensitivities(net, cache) == []
        assert not sensitivity.worth_it(net)
        with pytest.raises(ValueError, match="net must have at least two hidden layers"):
            sensitivity.Products(net, cache)


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [([4, 64, 64, 2], True), ([3, 64, 64, 1], True), ([11, 64, 64, 3], True),
     ([8, 64, 64, 4], True), ([17, 64, 64, 6], False), ([4, 64, 2], False),
     ([4, 8, 8, 8, 2], False), ([5, 32, 16, 8, 3], False), ([4, 64, 64, 64, 2], True),
     ([200, 64, 64, 6], False), ([4, 64, 66, 5], False), ([3, 8, 50, 4], False),
     ([3, 16, 64, 2], True)],
)  # fmt: skip
def test_worth_it_counts_the_products_saved_against_the_passes_added(sizes, expected):
    """Saved 2·S with S = Σ_{i=1..m} fan_in_i·fan_out_i; added 2·d_out·Σ_{i<m} fan_out_i·10 +
    d_out·S/10, per sample and product. [4, 64, 64, 2]: 8192 against 2560 + 819.2.
    [17, 64, 64, 6]: 8192 against 7680 + 2457.6. [4, 8, 8, 8, 2]: 256 against 640 + 25.6. The
    input layer is not skipped ([200, 64, 64, 6]: 8192 against 10137.6, where counting W_0 would
    say yes), nor the output layer ([4, 64, 66, 5]: 8448 against 6400 + 2112 = 8512, short by
    64). [3, 8, 50, 4]: 800 against 640 + 160, a tie, which is no. The passes are over the lower
    layers' outputs ([3, 16, 64, 2]: 2048 against 640 + 204.8, where 64 units would be 2764.8)."""
    assert sensitivity.worth_it(MLP(sizes)) is expected


@pytest.mark.parametrize(
    "policy",
    [CategoricalPolicy(4, 2, (24, 24)), GaussianPolicy(3, 1, (16, 16)),
     GaussianPolicy(3, 2, (32, 32, 32))],
)  # fmt: skip
def test_fisher_product_on_this_path_equals_the_dense_fisher(policy):
    """Policies for which ``worth_it`` holds take this path in ``fisher_product``; their F v
    equals the exact dense Fisher times v to rounding."""
    assert sensitivity.worth_it(policy.net)
    rng = np.random.default_rng(7)
    theta = policy.init(rng) + 0.3 * rng.standard_normal(policy.num_params)
    obs = rng.standard_normal((25, policy.obs_dim))
    F = policy.fisher_matrix(theta, obs)
    v = rng.standard_normal(policy.num_params)
    Fv = policy.fisher_vector_product(theta, obs, v)
    scale = np.linalg.norm(F) * np.linalg.norm(v)
    np.testing.assert_allclose(Fv, F @ v, rtol=0, atol=SUM_RTOL * scale)
