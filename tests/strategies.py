"""Hypothesis strategies shared by the test modules.

``policy_cases`` draws a random policy (either head, linear or 1–2 tanh layers), θ and a batch:
the common input of the policy, trust-region and PPO tests.

Generic value strategies for argument checks: each ``bad_kinds_for_*`` strategy draws values of
the wrong *kind* for an argument (which must raise TypeError under the validation rule of
``npytrpo._validate``), and ``non_finite_floats`` draws real numbers of the wrong *value*.
"""

import numpy as np
from hypothesis import strategies as st

from npytrpo.policies import CategoricalPolicy, GaussianPolicy

#: Any finite float64, subnormals and ±0 included.
finite_floats = st.floats(allow_nan=False, allow_infinity=False)

#: Finite floats < 0 (-0.0 excluded: it equals 0).
negative_floats = st.floats(max_value=-5e-324, allow_nan=False, allow_infinity=False)

#: NaN, +inf and -inf, as Python floats and as NumPy scalars.
non_finite_floats = st.sampled_from([np.nan, np.inf, -np.inf]).flatmap(
    lambda v: st.sampled_from([v, np.float64(v), np.float32(v)])
)

#: Values that are not numbers at all: wrong kind for an int, a real number or a bool.
_not_numbers = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
)

#: Bools, Python and NumPy: numbers to Python, but never a count or a coefficient here.
bools = st.sampled_from([True, False, np.bool_(True), np.bool_(False)])


def bad_kinds_for_int():
    """Wrong kind where an int goes: floats (even integral ones such as 2.0), bools, non-numbers."""
    floats = st.one_of(finite_floats, st.integers(-5, 5).map(float), finite_floats.map(np.float64))
    return st.one_of(floats, bools, _not_numbers)


def bad_kinds_for_real():
    """Wrong kind where a real number goes: bools, complex numbers, strings, None, containers."""
    return st.one_of(bools, _not_numbers)


def bad_kinds_for_bool():
    """Wrong kind where a bool goes: the ints 0 and 1, other numbers, non-numbers."""
    return st.one_of(st.integers(-2, 2), finite_floats, _not_numbers)


def bad_kinds_for_int_sequence():
    """Wrong kind where a sequence of ints goes: a bare number, a str, bytes, None, a mapping."""
    return st.one_of(
        st.integers(1, 64),
        finite_floats,
        st.none(),
        st.text(min_size=1, max_size=4),
        st.binary(max_size=4),
        st.dictionaries(st.integers(1, 8), st.integers(1, 8), max_size=2),
    )


def bad_dtypes_for_real_array():
    """NumPy dtypes that are not real numbers: complex, str, bytes, datetime."""
    return st.sampled_from(
        [np.dtype(np.complex128), np.dtype("U3"), np.dtype("S3"), np.dtype("datetime64[s]")]
    )


def non_bool_dtypes():
    """NumPy dtypes that are not bool, including the integer 0/1 stand-ins for masks."""
    return st.sampled_from(
        [np.dtype(np.int64), np.dtype(np.uint8), np.dtype(np.float64), np.dtype("U3")]
    )



@st.composite
def policy_cases(draw, kinds=("categorical", "gaussian"), min_n=1):
    """(π, θ, obs, actions, Â, rng): a random policy (linear or 1–2 tanh layers of 1–8 units,
    obs_dim 1–6; 2–5 actions or 1–3 action dims), θ = init + N(0, 0.5²) noise with log-stds
    in [−1, 1], N ∈ [min_n, 64] standard-normal observations, actions sampled from π_θ and
    standard-normal advantages; ``rng`` is the generator that drew them (for probes)."""
    kind = draw(st.sampled_from(kinds))
    obs_dim = draw(st.integers(1, 6))
    hidden = tuple(draw(st.lists(st.integers(1, 8), min_size=0, max_size=2)))
    N = draw(st.integers(min_n, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "categorical":
        pi = CategoricalPolicy(obs_dim, draw(st.integers(2, 5)), hidden)
    else:
        pi = GaussianPolicy(obs_dim, draw(st.integers(1, 3)), hidden)
    theta = pi.init(rng) + 0.5 * rng.standard_normal(pi.num_params)
    if kind == "gaussian":
        theta[-pi.head.act_dim :] = rng.uniform(-1.0, 1.0, pi.head.act_dim)  # log-std in [−1, 1]
    obs = rng.standard_normal((N, obs_dim))
    actions = pi.sample(theta, obs, rng)
    adv = rng.standard_normal(N)
    return pi, theta, obs, actions, adv, rng
