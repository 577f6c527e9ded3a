"""The per-iteration training log: its columns, one row per TRPO iteration, and progress.csv.

Every iteration of ``TRPO.learn`` produces one row (a dict with the keys ``LOG_FIELDS``) that
goes to ``agent.history``, to ``<log_dir>/progress.csv`` when a ``log_dir`` is set, to the
progress bar and to the ``learn`` callback.
"""

from __future__ import annotations

import csv
import os

import numpy as np

__all__ = ["LOG_FIELDS", "iteration_row", "append_csv_row"]

#: Columns of the per-iteration log (history rows, progress.csv).
LOG_FIELDS = (
    "iteration",
    "timesteps",
    "episodes",
    "ep_return_mean",
    "ep_return_min",
    "ep_return_max",
    "ep_length_mean",
    "surrogate_gain",
    "expected_gain",
    "kl",
    "step_size",
    "backtracks",
    "ls_success",
    "status",
    "cg_iterations",
    "cg_residual",
    "entropy",
    "value_loss",
    "explained_variance",
    "time_rollout",
    "time_policy",
    "time_value",
    "wall_time",
    "steps_per_sec",
)


def iteration_row(state, ro, res, vinfo, *, t_rollout, t_policy, t_value, wall, t_iter) -> dict:
    """The log row of the iteration just finished.

    The ``AgentState``'s counters (already advanced), the ``Rollout`` ``ro``, the policy update's
    ``StepResult`` ``res``, the value fit's ``ValueFitInfo`` ``vinfo`` and the timings in
    seconds. Episode statistics are NaN when no episode ended in this rollout.
    """
    rets = np.asarray(ro.episode_returns)
    nan = float("nan")
    return {
        "iteration": state.iteration,
        "timesteps": state.num_timesteps,
        "episodes": state.num_episodes,
        "ep_return_mean": float(rets.mean()) if rets.size else nan,
        "ep_return_min": float(rets.min()) if rets.size else nan,
        "ep_return_max": float(rets.max()) if rets.size else nan,
        "ep_length_mean": float(np.mean(ro.episode_lengths)) if rets.size else nan,
        "surrogate_gain": res.improvement,
        "expected_gain": res.expected_improvement,
        "kl": res.kl,
        "step_size": res.step_size,
        "backtracks": res.n_backtracks,
        "ls_success": bool(res.success),
        "status": res.status,
        "cg_iterations": res.cg.iterations if res.cg is not None else 0,
        "cg_residual": res.cg.residual_norm if res.cg is not None else nan,
        "entropy": res.entropy,
        "value_loss": vinfo.mse_after,
        "explained_variance": vinfo.explained_variance,
        "time_rollout": t_rollout,
        "time_policy": t_policy,
        "time_value": t_value,
        "wall_time": wall,
        "steps_per_sec": ro.num_transitions / t_iter,
    }


def append_csv_row(log_dir: str, row: dict) -> None:
    """Append ``row`` to ``log_dir/progress.csv`` (created with a header on first use)."""
    os.makedirs(log_dir, exist_ok=True)
    path = os.path.join(log_dir, "progress.csv")
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)
