"""The one mechanism every exercise check uses (docs/theory.md, "Exercises").

An answer is a Python file that defines a function ``answer``; its arguments and what it must
return are stated at the top of each ``exNN_*.py``. Check it with

    python docs/exercises/ex03_categorical_metric.py my_answer.py

which prints ``ex03_categorical_metric: correct`` and exits 0, or prints what is wrong and
exits 1. From Python, ``check(answer)`` of the exercise module raises ``AssertionError`` with the
same message. The reference solutions are ``docs/exercises/solutions/<same file name>``.
The checks compare the answer with the library *and*, where there is one, with an independent
oracle (finite differences, an exact sum over actions), at the tolerance stated in the check.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from collections.abc import Callable

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"


def load_answer(path: str | pathlib.Path) -> Callable:
    """The function ``answer`` defined in the Python file ``path``."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"answer file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"answer_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "answer", None)):
        raise AttributeError(f"{path} must define a function `answer`")
    return module.answer


def solution(exercise_file: str) -> Callable:
    """The reference solution of the exercise whose check is ``exercise_file``."""
    return load_answer(SOLUTIONS / pathlib.Path(exercise_file).name)


def close(got, want, tol: float, what: str) -> None:
    """Assert ``max |got − want| ≤ tol · max(1, max |want|)``, naming ``what`` on failure."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert err <= tol * scale, f"{what}: off by {err:.3e} (allowed {tol * scale:.1e})"


def fd_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, steps: np.ndarray, h: float):
    """Central second differences of ``f`` at ``x`` along the rows sᵢ = h·uᵢ of ``steps``:
    entry (i, j) ≈ uᵢᵀ∇²f(x)uⱼ, with error O(h²) + O(rounding/h²)."""
    h2 = h * h
    k = steps.shape[0]
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            a, b = steps[i], steps[j]
            out[i, j] = f(x + a + b) - f(x + a - b) - f(x - a + b) + f(x - a - b)
    return out / (4.0 * h2)


def run(check: Callable[[Callable], None], exercise_file: str, argv: list[str] | None = None):
    """Command-line entry: ``exNN_*.py ANSWER_FILE`` (``--solution`` checks the reference)."""
    argv = sys.argv[1:] if argv is None else argv
    name = pathlib.Path(exercise_file).stem
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(f"usage: python {pathlib.Path(exercise_file).name} ANSWER_FILE | --solution")
        print("ANSWER_FILE is a Python file that defines `answer` (see this file's docstring).")
        return 2
    fn = solution(exercise_file) if argv[0] == "--solution" else load_answer(argv[0])
    try:
        check(fn)
    except AssertionError as e:
        print(f"{name}: not yet: {e}")
        return 1
    print(f"{name}: correct")
    return 0
