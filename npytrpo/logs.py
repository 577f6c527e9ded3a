"""The per-iteration training log: its columns, one row per TRPO iteration, and progress.csv.

Every iteration of ``TRPO.learn`` produces one row (a dict with the keys ``LOG_FIELDS``) that
goes to ``agent.history``, to ``<log_dir>/progress.csv`` when a ``log_dir`` is set, to the
progress bar and to the ``learn`` callback.
"""

from __future__ import annotations

import csv
import os

import numpy as np

__all__ = [
    "LOG_FIELDS",
    "iteration_row",
    "update_fields",
    "value_fields",
    "complete_row",
    "exploration_std",
    "check_returns",
    "append_csv_row",
]

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
    "clip_fraction",
    "grad_steps",
    "beta",
    "action_std",
    "obs_norm_count",
    "return_std",
    "explained_variance",
    "time_rollout",
    "time_policy",
    "time_value",
    "wall_time",
    "steps_per_sec",
)


def check_returns(targets: np.ndarray, start: int, n: int) -> None:
    """ValueError unless the batch's value targets (returns) can be learned from: their squared
    error must stay finite (|return| below ~1e154). Rewards of ~1e160 would otherwise overflow
    the value loss and the advantage standardisation and, silently, stop all learning."""
    with np.errstate(over="ignore"):
        ok = np.isfinite(np.dot(targets, targets))
    if not ok:
        big = float(np.max(np.abs(targets)))
        raise ValueError(
            f"rewards of env steps {start}..{start + n} give returns up to {big:.3g} in magnitude, "
            "too large for the value fit and the advantages (their squares overflow): scale the "
            "rewards, e.g. normalize_reward=True"
        )


def exploration_std(policy, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> float:
    """RMS of (a − mode(s)) over a batch of Box actions: the exploration noise of π_θ that
    collected them (≈ e^ℓ for the Gaussian, √v for gSDE); NaN for discrete actions."""
    if actions.ndim != 2:
        return float("nan")
    mode = policy.sampler(theta, deterministic=True)(obs)
    return float(np.sqrt(np.mean((actions - mode) ** 2)))


def update_fields(res) -> dict:
    """The log columns of a policy update: a ``StepResult`` (TRPO, NPG, VPG) or a ``PPOResult``.

    Columns an update rule does not have are NaN (or 0 for counts): PPO has no CG, step size
    or line search; TRPO no clipping, gradient steps or penalty β.
    """
    nan = float("nan")
    cg = getattr(res, "cg", None)
    return {
        "surrogate_gain": res.surrogate_after - res.surrogate_before,
        "expected_gain": getattr(res, "expected_improvement", nan),
        "kl": res.kl,
        "step_size": getattr(res, "step_size", nan),
        "backtracks": getattr(res, "n_backtracks", 0),
        "ls_success": bool(res.success),
        "status": res.status,
        "cg_iterations": cg.iterations if cg is not None else 0,
        "cg_residual": cg.residual_norm if cg is not None else nan,
        "entropy": res.entropy,
        "clip_fraction": getattr(res, "clip_fraction", nan),
        "grad_steps": getattr(res, "n_grad_steps", 0),
        "beta": nan if getattr(res, "beta", None) is None else res.beta,
    }


def iteration_row(state, ro, res, vinfo, *, action_std, t_rollout, t_policy, t_value) -> dict:
    """The log row of the iteration just finished.

    The ``AgentState``'s counters (already advanced) and normalisers, the ``Rollout`` ``ro``,
    the policy update's result ``res`` (``update_fields``), the value fit's ``ValueFitInfo``
    ``vinfo`` (None while the fit still runs: ``complete_row`` fills its fields in), the
    exploration noise ``action_std`` (RMS of a − mode(s) over the batch's Box actions, NaN for
    discrete ones) and the timings in seconds; ``wall_time`` and ``steps_per_sec`` are NaN
    until ``complete_row`` gives them, once the iteration's end is known. Episode statistics are NaN
    when no episode ended in this rollout; ``obs_norm_count`` and ``return_std`` (the running
    std of the discounted return that scales rewards) are NaN without those normalisers.
    """
    norm = state.obs_normalizer.rms if state.obs_normalizer is not None else None
    scaler = state.reward_scaler.rms if state.reward_scaler is not None else None
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
        **update_fields(res),
        **value_fields(vinfo, t_value),
        "action_std": action_std,
        "obs_norm_count": norm.count if norm is not None else nan,
        "return_std": float(np.sqrt(scaler.var)) if scaler is not None else nan,
        "time_rollout": t_rollout,
        "time_policy": t_policy,
        "wall_time": nan,
        "steps_per_sec": nan,
    }


def complete_row(row: dict, vinfo, t_value: float, *, n: int, t_start: float, t0: float,
                 t_end: float) -> None:  # fmt: skip
    """Fill in what ``iteration_row`` left NaN, in place: the value fit's fields
    (``value_fields``), ``wall_time`` (seconds since ``learn`` began at ``t_start``) and
    ``steps_per_sec`` (``n`` transitions over the iteration's time, ``t0`` to ``t_end``)."""
    row.update(value_fields(vinfo, t_value))
    row.update(wall_time=t_end - t_start, steps_per_sec=n / (t_end - t0))


def value_fields(vinfo, t_value: float) -> dict:
    """The value fit's fields of a log row: ``value_loss``, ``explained_variance`` and
    ``time_value`` (NaN while ``vinfo`` is None)."""
    nan = float("nan")
    return {
        "value_loss": nan if vinfo is None else vinfo.mse_after,
        "explained_variance": nan if vinfo is None else vinfo.explained_variance,
        "time_value": t_value,
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
