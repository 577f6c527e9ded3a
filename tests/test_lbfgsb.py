"""``npytrpo.lbfgsb``: SciPy's ``setulb`` driven without importing ``scipy.optimize``, against
``scipy.optimize.minimize`` itself — the same x bit for bit, the same counts and message — on
value fits, quadratics, Rosenbrock and a wrong gradient; the fallback to ``minimize``; and a
fresh process that fits V without loading ``scipy.optimize``."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from npytrpo import lbfgsb
from npytrpo.lbfgsb import SCIPY_DEFAULT_FTOL, minimize_lbfgsb
from npytrpo.value import ValueFunction

FAST = lbfgsb.load_setulb() is not None


def scipy_run(fun, x0, args=(), maxiter=15000, ftol=SCIPY_DEFAULT_FTOL, **more):
    """The reference: SciPy's minimize with the options minimize_lbfgsb documents."""
    options = {"maxiter": maxiter, "ftol": ftol, **more}
    return optimize.minimize(fun, x0, args=args, jac=True, method="L-BFGS-B", options=options)


def assert_same_run(got, want):
    """x bit for bit, f, nit, nfev, success and message: everything the value fit reads."""
    assert got.x.dtype == np.float64 and got.x.tobytes() == np.asarray(want.x).tobytes()
    assert got.fun == float(want.fun)
    assert (got.nit, got.nfev) == (int(want.nit), int(want.nfev))
    assert got.success is bool(want.success)
    assert got.message == str(want.message)


def test_the_installed_scipy_is_driven_directly_where_its_version_is_supported():
    """On a SciPy in SUPPORTED_SCIPY the compiled setulb is found (else the tests below compare
    the fallback, which is minimize itself)."""
    assert FAST == (lbfgsb._scipy_version(lbfgsb._scipy_folder()) in lbfgsb.SUPPORTED_SCIPY)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    obs_dim=st.integers(1, 5),
    hidden=st.lists(st.integers(2, 12), min_size=1, max_size=2),
    n=st.integers(3, 200),
    maxiter=st.integers(1, 40),
    ftol=st.sampled_from([SCIPY_DEFAULT_FTOL, 1e-6, 1e-3, 1e-1]),
    l2=st.sampled_from([0.0, 1e-3]),
)
def test_value_fits_equal_scipys_minimize(seed, obs_dim, hidden, n, maxiter, ftol, l2):
    rng = np.random.default_rng(seed)
    vf = ValueFunction(obs_dim, tuple(hidden), l2=l2)
    theta = vf.init(rng)
    obs, y = rng.normal(size=(n, obs_dim)), 3.0 * rng.normal(size=n)
    args = (obs, y)
    got = minimize_lbfgsb(vf.loss_and_grad, theta, args, maxiter=maxiter, ftol=ftol)
    assert_same_run(got, scipy_run(vf.loss_and_grad, theta, args, maxiter, ftol))


def quadratic(x, A, b):
    """½ xᵀAx − bᵀx and Ax − b."""
    Ax = A @ x
    return 0.5 * float(x @ Ax) - float(b @ x), Ax - b


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), cond=st.floats(1.0, 1e4))
def test_quadratics_converge_as_scipys_and_to_the_solution(seed, n, cond):
    """Runs that end by convergence (not the budget): the same run as SciPy's, and x solves
    Ax = b to the accuracy gtol allows (|Ax − b|∞ ≤ 1e-5 ⇒ |x − x*| ≤ 1e-5 ‖A⁻¹‖)."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    eig = np.geomspace(1.0, cond, n)
    A, b = (Q * eig) @ Q.T, rng.normal(size=n)
    got = minimize_lbfgsb(quadratic, np.zeros(n), (A, b), maxiter=15000)
    assert_same_run(got, scipy_run(quadratic, np.zeros(n), (A, b)))
    assert got.message.startswith("CONVERGENCE")
    if "PROJECTED GRADIENT" in got.message:
        np.testing.assert_allclose(got.x, np.linalg.solve(A, b), rtol=0, atol=2e-5)


def rosenbrock(x):
    """Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)² and its gradient."""
    a, b = x[:-1], x[1:]
    f = float(np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2))
    g = np.zeros_like(x)
    g[:-1] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    g[1:] += 200.0 * (b - a * a)
    return f, g


@pytest.mark.parametrize("n", [2, 5, 12])
@pytest.mark.parametrize("maxiter", [3, 30, 15000])
def test_rosenbrock_runs_equal_scipys(n, maxiter):
    x0 = np.linspace(-1.2, 1.0, n)
    got = minimize_lbfgsb(rosenbrock, x0, maxiter=maxiter)
    assert_same_run(got, scipy_run(rosenbrock, x0, maxiter=maxiter))
    if maxiter == 15000:
        np.testing.assert_allclose(got.x, np.ones(n), atol=1e-3)


def test_a_wrong_gradient_fails_the_line_search_as_scipys_does():
    """A gradient of the wrong sign: no step decreases f, the run ends abnormally with
    success False and SciPy's message."""

    def wrong(x):
        return float(x @ x), -2.0 * x

    x0 = np.array([1.0, -2.0, 0.5])
    got = minimize_lbfgsb(wrong, x0, maxiter=50)
    assert_same_run(got, scipy_run(wrong, x0, maxiter=50))
    assert got.success is False and got.message.startswith("ABNORMAL")


def test_x0_is_untouched_and_fun_gets_a_copy_it_may_change():
    calls = []

    def scribbler(x):
        calls.append(x)
        f, g = quadratic(x, np.eye(3), np.ones(3))
        x[:] = 1e9  # the driver's iterate must not see this
        return f, g

    x0 = np.zeros(3)
    got = minimize_lbfgsb(scribbler, x0, maxiter=10)
    assert np.array_equal(x0, np.zeros(3))
    assert all(c is not got.x for c in calls)
    np.testing.assert_allclose(got.x, np.ones(3), atol=1e-8)


OTHER_OPTIONS = [
    {"gtol": 1e-2},
    {"maxcor": 3},
    {"maxls": 2},
    {"maxfun": 7},
    {"maxfun": 7, "maxcor": 3, "maxls": 2, "gtol": 1e-2},
]


@pytest.mark.parametrize("fallback", [False, True], ids=["setulb", "minimize"])
@pytest.mark.parametrize("options", OTHER_OPTIONS, ids=str)
def test_every_option_reaches_the_run_as_in_scipy(options, fallback, monkeypatch):
    """Non-default gtol, maxcor, maxls and maxfun: the same run as minimize's with them, on
    either path (SciPy would warn of an option it does not know: an error here)."""
    if fallback:
        monkeypatch.setattr(lbfgsb, "_setulb_cache", None)
    x0 = np.linspace(-1.2, 1.0, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = minimize_lbfgsb(rosenbrock, x0, maxiter=200, **options)
        want = scipy_run(rosenbrock, x0, maxiter=200, **options)
    assert_same_run(got, want)
    if options == {"maxfun": 7}:
        assert got.message.endswith("F,G EVALUATIONS EXCEEDS LIMIT") and got.nfev > 7


def test_integer_start_and_float32_gradients_are_taken_as_float64():
    """x0 of ints and a fun whose gradient is float32: cast to float64 as SciPy does."""

    def f32(x):
        f, g = quadratic(x, np.diag([1.0, 4.0, 9.0]), np.ones(3))
        return f, g.astype(np.float32)

    x0 = np.array([3, -2, 1])
    got = minimize_lbfgsb(f32, x0, maxiter=50)
    assert_same_run(got, scipy_run(f32, x0, maxiter=50))
    np.testing.assert_allclose(got.x, [1.0, 0.25, 1 / 9], atol=1e-5)


def test_a_supported_scipy_runs_without_minimize(monkeypatch):
    """Where setulb is found, minimize is never called (else the module saves nothing)."""

    def refuse(*args, **kwargs):
        raise AssertionError("scipy.optimize.minimize was called")

    monkeypatch.setattr(optimize, "minimize", refuse)
    monkeypatch.setattr(lbfgsb, "_setulb_cache", lbfgsb._UNSET)  # found afresh
    x0 = np.linspace(-1.2, 1.0, 3)
    if FAST:
        assert minimize_lbfgsb(rosenbrock, x0, maxiter=5).nit == 5
    else:
        with pytest.raises(AssertionError, match="minimize was called"):
            minimize_lbfgsb(rosenbrock, x0, maxiter=5)


def test_setulb_loads_from_its_file_and_leaves_sys_modules_alone(monkeypatch):
    """The uncached search, with scipy.optimize's compiled module out of sys.modules as in a
    process that never imported it: a working setulb (on a supported SciPy), and sys.modules
    as before. Its runs equal minimize's."""
    name = "scipy.optimize._lbfgsb"
    monkeypatch.delitem(sys.modules, name, raising=False)
    found = lbfgsb._find_setulb()
    assert name not in sys.modules
    supported = lbfgsb._scipy_version(lbfgsb._scipy_folder()) in lbfgsb.SUPPORTED_SCIPY
    assert (found is not None) == supported
    if found is not None:
        assert found.__name__ == "setulb"
        monkeypatch.setattr(lbfgsb, "_setulb_cache", found)
        x0 = np.linspace(-1.2, 1.0, 5)
        assert_same_run(
            minimize_lbfgsb(rosenbrock, x0, maxiter=40), scipy_run(rosenbrock, x0, maxiter=40)
        )


def test_where_scipy_optimize_is_loaded_its_setulb_is_the_one():
    """In this process the test module imported scipy.optimize: its very routine is used."""
    from scipy.optimize import _lbfgsb

    found = lbfgsb._find_setulb()
    assert found is (_lbfgsb.setulb if FAST else None)


def test_defaults_are_scipys():
    """ftol, gtol, maxcor, maxls and maxfun default to the values of SciPy's own L-BFGS-B."""
    import inspect

    from scipy.optimize._lbfgsb_py import _minimize_lbfgsb

    ours = inspect.signature(minimize_lbfgsb).parameters
    theirs = inspect.signature(_minimize_lbfgsb).parameters
    for name in ("ftol", "gtol", "maxcor", "maxls", "maxfun"):
        assert ours[name].default == theirs[name].default, name


def test_scipy_version_is_the_imported_scipys_major_minor(tmp_path):
    """Read from the files that load, the version of the imported scipy; None for a folder
    without a readable version.py."""
    folder = lbfgsb._scipy_folder()
    assert folder == os.path.dirname(scipy.__file__)
    assert lbfgsb._scipy_version(folder) == tuple(int(p) for p in scipy.__version__.split(".")[:2])
    assert lbfgsb._scipy_version(str(tmp_path)) is None
    (tmp_path / "version.py").write_text('version = "2.0rc1"\n')
    assert lbfgsb._scipy_version(str(tmp_path)) is None
    (tmp_path / "version.py").write_text('version = "1.15.0"\n')
    assert lbfgsb._scipy_version(str(tmp_path)) == (1, 15)


def test_a_compiled_module_that_does_not_load_means_minimize(tmp_path, monkeypatch):
    """A file where the compiled module should be that is not one: None (minimize runs), and
    sys.modules as before; a version.py that does not run: no version."""
    bad = tmp_path / "_lbfgsb.so"
    bad.write_bytes(b"not a shared object")
    assert lbfgsb._load_extension("scipy.optimize._lbfgsb_test", str(bad)) is None
    assert "scipy.optimize._lbfgsb_test" not in sys.modules
    (tmp_path / "version.py").write_text("raise RuntimeError('broken')\n")
    assert lbfgsb._scipy_version(str(tmp_path)) is None


def test_unsupported_scipy_falls_back_to_minimize(monkeypatch):
    """Another SciPy version: load_setulb finds nothing and minimize runs, with the same result."""
    monkeypatch.setattr(lbfgsb, "_setulb_cache", lbfgsb._UNSET)
    monkeypatch.setattr(lbfgsb, "_scipy_version", lambda folder: (1, 9))
    assert lbfgsb.load_setulb() is None
    calls = []
    real = optimize.minimize
    monkeypatch.setattr(optimize, "minimize", lambda *a, **k: calls.append(k) or real(*a, **k))
    x0 = np.linspace(-1.2, 1.0, 4)
    got = minimize_lbfgsb(rosenbrock, x0, maxiter=20, ftol=1e-7)
    assert len(calls) == 1 and calls[0]["options"]["ftol"] == 1e-7
    assert calls[0]["options"]["maxiter"] == 20 and calls[0]["method"] == "L-BFGS-B"
    monkeypatch.setattr(optimize, "minimize", real)
    assert_same_run(got, scipy_run(rosenbrock, x0, maxiter=20, ftol=1e-7))
    A, b = np.diag([1.0, 3.0]), np.array([1.0, -1.0])  # fun's extra arguments reach it
    got = minimize_lbfgsb(quadratic, np.zeros(2), (A, b), maxiter=20)
    assert_same_run(got, scipy_run(quadratic, np.zeros(2), (A, b), maxiter=20))


FRESH = """
import sys, numpy as np
from npytrpo.value import ValueFunction
rng = np.random.default_rng(3)
vf = ValueFunction(3, (8,))
theta, obs, y = vf.init(rng), rng.normal(size=(50, 3)), rng.normal(size=50)
ours, info = vf.fit(theta, obs, y, max_iter=12)
print(int("scipy.optimize" in sys.modules), int("scipy.optimize._lbfgsb" in sys.modules))
from scipy import optimize
res = optimize.minimize(vf.loss_and_grad, theta, args=(obs, y), jac=True, method="L-BFGS-B",
                        options={"maxiter": 12})
print(int(res.x.tobytes() == ours.tobytes() and res.nit == info.iterations))
"""


def test_a_fit_in_a_fresh_process_does_not_import_scipy_optimize():
    """The point of the module: a value fit loads no scipy.optimize (on a supported SciPy), and
    importing it afterwards still works and agrees (both load the same compiled routine)."""
    out = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(int(not FAST)), str(int(not FAST)), "1"]


IMPORTED_FIRST = """
import scipy.optimize
from scipy.optimize import _lbfgsb
from npytrpo.lbfgsb import load_setulb
print(int(load_setulb() is _lbfgsb.setulb))
"""


def test_where_scipy_optimize_is_imported_its_own_routine_is_used():
    out = subprocess.run(
        [sys.executable, "-c", IMPORTED_FIRST], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(int(FAST))]
