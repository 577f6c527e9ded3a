"""The exercises of docs/theory.md: each check in docs/exercises/ passes its reference solution
and fails a plausible wrong answer (the mistake named next to it), in process; and the
command-line mechanism (``exNN_*.py ANSWER_FILE``) exits 0 / 1 / 2 as documented."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "docs" / "exercises"
THEORY = ROOT / "docs" / "theory.md"
sys.path.insert(0, str(EXERCISES))  # the checks import their helper module `checking`

import checking  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"exercise_{name}", EXERCISES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _solution(name: str):
    return checking.load_answer(EXERCISES / "solutions" / f"{name}.py")


# ------------------------------------------------------------------ the wrong answers
def _gauss_score_no_minus_one(mu, log_std, a):  # forgets the −1 of ∂/∂ℓ (the −Σℓ term)
    w = (a - mu) * np.exp(-log_std)
    return w * np.exp(-log_std), w * w


def _pg_without_mean(policy, theta, obs, actions, adv):  # sums instead of averaging (no 1/N)
    return _solution("ex02_policy_gradient")(policy, theta, obs, actions, adv) * obs.shape[0]


def _gauss_block_no_two(act_dim, kl_reduction):  # takes E[(w² − 1)²] to be 1
    return np.eye(act_dim)


def _gauss_block_ignores_reduction(act_dim, kl_reduction):
    return 2.0 * np.eye(act_dim)


def _rank_is_p(kind, obs_dim, hidden, out_dim, n):  # no null space, no batch limit
    sizes = [obs_dim, *hidden, out_dim]
    p = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return p + (out_dim if kind == "gaussian" else 0)


def _reparam_forward(F, g, B):  # transforms with B instead of Bᵀ
    return B @ F @ B.T, B @ g


def _acceptance_strict_everywhere(rule, fraction, kl, improvement, delta, expected):
    if not (math.isfinite(kl) and math.isfinite(improvement)):
        return False
    return kl < delta and improvement > 0.0  # every rule read as "strict"


def _gae_truncation_as_termination(rewards, values, next_values, terminated, truncated, g, lam):
    done = terminated | truncated
    return _solution("ex10_gae_loop")(rewards, values, next_values, done, truncated, g, lam)


WRONG = {
    "ex01_gaussian_score": _gauss_score_no_minus_one,
    "ex02_policy_gradient": _pg_without_mean,
    "ex03_categorical_metric": lambda p: np.diag(p),  # drops −ppᵀ
    "ex04_gaussian_logstd_block": _gauss_block_no_two,
    "ex05_fisher_rank": _rank_is_p,
    "ex06_reparameterization": _reparam_forward,
    "ex07_cg_expected_improvement": lambda g, x, delta: (
        np.sqrt(2.0 * delta / (g @ x)) * (g @ x) * (1 + 1e-6)
    ),  # right up to 1e-6: the tolerance must catch it
    "ex08_fisher_vector_product": lambda pi, th, obs, v: pi.fisher_matrix(th, obs) @ v * 2.0,
    "ex09_acceptance_rules": _acceptance_strict_everywhere,
    "ex10_gae_loop": _gae_truncation_as_termination,
    "ex11_entropy_gradient": lambda z: -np.exp(z) / np.exp(z).sum(1, keepdims=True) * z,
}
NAMES = sorted(p.stem for p in EXERCISES.glob("ex[0-9][0-9]_*.py"))


def test_every_exercise_has_a_solution_a_wrong_answer_and_a_place_in_the_text():
    """Each check has a reference solution, a wrong answer here, and is cited in theory.md."""
    assert len(NAMES) >= 10, NAMES
    assert sorted(WRONG) == NAMES
    text = THEORY.read_text(encoding="utf-8")
    for name in NAMES:
        assert (EXERCISES / "solutions" / f"{name}.py").is_file(), name
        assert f"exercises/{name}.py" in text, f"docs/theory.md does not cite {name}.py"


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes(name):
    """The reference solution satisfies its check."""
    _load(name).check(_solution(name))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_answer_fails(name):
    """A plausible wrong answer is rejected with an AssertionError that says what is off."""
    with pytest.raises(AssertionError, match=r"\S"):
        _load(name).check(WRONG[name])


def test_extra_wrong_answer_gaussian_block_reduction():
    """Ignoring kl_reduction="mean" is caught too (the block is 2I/act_dim there)."""
    with pytest.raises(AssertionError, match="mean"):
        _load("ex04_gaussian_logstd_block").check(_gauss_block_ignores_reduction)


def _run(args, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(EXERCISES / "ex03_categorical_metric.py"), *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip


def test_command_line_mechanism(tmp_path):
    """`exNN_*.py FILE` prints 'correct' and exits 0 for a right answer, 'not yet' and 1 for a
    wrong one, and usage with 2 when no file is given."""
    right = tmp_path / "right.py"
    right.write_text(
        "import numpy as np\n\ndef answer(p):\n    return np.diag(p) - np.outer(p, p)\n"
    )
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import numpy as np\n\ndef answer(p):\n    return np.diag(p)\n")
    ok = _run([str(right)], tmp_path)
    assert ok.returncode == 0 and "ex03_categorical_metric: correct" in ok.stdout, ok.stderr
    bad = _run([str(wrong)], tmp_path)
    assert bad.returncode == 1 and re.search(r"not yet: .*off by", bad.stdout), bad.stdout
    assert _run([], tmp_path).returncode == 2
