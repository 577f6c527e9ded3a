"""Configuration and result of the PPO updates (``ppo.py``): ``PPOConfig`` and ``PPOResult``.

One frozen config, defaults stated once (those of SB3's ``PPO``); ``dataclasses.replace(cfg,
clip_range=0.1)`` derives a variant and ``asdict(cfg)`` serialises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import boolean, integer, real_number
from .optim import AdamState
from .policies import KL_DIRECTIONS

__all__ = ["PPOConfig", "PPOResult", "PPO_STATUSES", "OPTIMIZERS"]

#: The optimisers a PPO update can use.
OPTIMIZERS = ("adam", "sgd")

#: Every status an update can end with; ``success`` is True only for the first.
PPO_STATUSES = (
    "completed",  # every epoch ran
    "nonfinite_gradient",  # a minibatch gradient had NaN/inf entries; θ kept
    "nonfinite_theta",  # a step produced NaN/inf parameters; θ kept
)


@dataclass(frozen=True)
class PPOConfig:
    """Options of the PPO updates, validated at construction (defaults: SB3's ``PPO``).

    Parameters
    ----------
    clip_range : float > 0, default 0.2
        ε of PPO-Clip. PPO-KL ignores it except for the ``clip_fraction`` diagnostic.
    n_epochs : int ≥ 1, default 10
        Passes over the batch.
    batch_size : int ≥ 1, default 64
        Minibatch size; must not exceed the batch's N. When it does not divide N the last
        minibatch of each epoch is smaller (as in SB3).
    learning_rate : float > 0, default 3e-4
        α of the optimiser (an agent applies schedules by overriding it per update).
    max_grad_norm : float > 0 or None, default 0.5
        Global norm clip of each minibatch gradient, before the optimiser (SB3's 0.5). SB3 clips
        the joint policy-and-value gradient; here the value fit is separate, so only the
        policy's gradient (objective, KL penalty and entropy terms) is clipped.
    normalize_advantages : bool, default True
        Standardise Â within each minibatch, as SB3 does (not over the whole batch). We use the
        population std and turn a minibatch with std 0 into zeros (SB3: unbiased std + 1e-8);
        a minibatch of one sample is left as is (as in SB3).
    entropy_coef : float ≥ 0, default 0.0
        c of the bonus c·H̄(θ) added to either objective.
    target_kl : float > 0, default 0.01
        d_targ of PPO-KL's adaptive β. PPO-Clip ignores it (no early stopping here).
    beta_init : float > 0, default 1.0
        β of PPO-KL when the caller passes none (Schulman et al. 2017 start from 1). PPO-Clip
        ignores it.
    kl_direction : {"old_new", "new_old"}, default "old_new"
        KL(π_old‖π_θ) or KL(π_θ‖π_old): PPO-KL's penalty and the reported ``kl``.
    optimizer : {"adam", "sgd"}, default "adam"
        Adam (Kingma & Ba 2015) or plain gradient ascent θ ← θ + α g.
    adam_beta1, adam_beta2 : float in [0, 1), defaults 0.9, 0.999
    adam_eps : float > 0, default 1e-5
        ε of Adam. We follow SB3's PPO (its ``ActorCriticPolicy`` sets 1e-5, as did OpenAI
        baselines' ppo2 and CleanRL), not Kingma & Ba's 1e-8, because the rl-zoo presets the
        targets are measured against were tuned with it. With ε = 1e-5 a coordinate whose
        gradients are of order 1e-5 or smaller moves at most ~α/2 instead of α.

    Examples
    --------
    >>> cfg = PPOConfig(n_epochs=4)
    >>> from dataclasses import replace
    >>> replace(cfg, clip_range=0.1).clip_range
    0.1
    >>> PPOConfig(clip_range=0)
    Traceback (most recent call last):
    ...
    ValueError: clip_range must be > 0.0, got 0
    """

    clip_range: float = 0.2
    n_epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 3e-4
    max_grad_norm: float | None = 0.5
    normalize_advantages: bool = True
    entropy_coef: float = 0.0
    target_kl: float = 0.01
    beta_init: float = 1.0
    kl_direction: str = "old_new"
    optimizer: str = "adam"
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-5

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        positive = dict(low=0.0, low_open=True)
        for name in ("clip_range", "learning_rate", "target_kl", "beta_init", "adam_eps"):
            put(name, real_number(getattr(self, name), name, **positive))
        for name in ("adam_beta1", "adam_beta2"):
            put(name, real_number(getattr(self, name), name, low=0.0, high=1.0, high_open=True))
        put("entropy_coef", real_number(self.entropy_coef, "entropy_coef", low=0.0))
        if self.max_grad_norm is not None:
            put("max_grad_norm", real_number(self.max_grad_norm, "max_grad_norm", **positive))
        put("n_epochs", integer(self.n_epochs, "n_epochs", low=1))
        put("batch_size", integer(self.batch_size, "batch_size", low=1))
        put("normalize_advantages", boolean(self.normalize_advantages, "normalize_advantages"))
        for name, allowed in (("kl_direction", KL_DIRECTIONS), ("optimizer", OPTIMIZERS)):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True, eq=False)
class PPOResult:
    """Everything one PPO update measured (the PPO counterpart of ``StepResult``).

    Attributes
    ----------
    theta_new : ndarray of shape (P,)
        The new parameters; a bit-identical copy of θ_old whenever ``success`` is False.
    kl : float
        Exact mean KL between π_old and π_new over the whole batch, in ``kl_direction``.
    clip_fraction : float
        Share of ratios with |r − 1| > ε, averaged over every minibatch gradient (SB3's
        ``clip_fraction``; a diagnostic only for PPO-KL).
    n_grad_steps : int
        Optimiser steps taken (n_epochs · ⌈N / batch_size⌉ when every epoch ran).
    n_epochs : int
        Epochs run (the last one counted even if it stopped early on a failure).
    n_grad_clipped : int
        Steps whose gradient the global norm clip shortened.
    grad_norm : float
        Mean ‖g‖ over the steps, before clipping.
    beta, beta_next : float or None
        PPO-KL: the β used in this update and the one for the next (``adaptive_beta`` applied to
        ``kl``). None for PPO-Clip.
    surrogate_before, surrogate_after : float
        L(θ) = (1/N) Σ r_n Â_n on the whole batch with the advantages as passed (no
        normalisation, no entropy) at θ_old (= mean Â) and θ_new; comparable across rules.
    objective_before, objective_after : float
        The rule's own objective on the whole batch with the advantages as passed:
        L_clip + c·H̄ (PPO-Clip) or L − β·D̄ + c·H̄ (PPO-KL, β = ``beta``). With minibatch
        normalisation each step optimised an affinely rescaled Â instead.
    entropy : float
        Mean entropy of π_old over the batch.
    adam_state : AdamState or None
        Adam's moments after the update, to pass to the next one (None for ``"sgd"``); the
        ``adam_state`` passed in when ``success`` is False.
    success : bool
    status : str
        One of ``PPO_STATUSES``.
    message : str
    """

    theta_new: np.ndarray
    kl: float
    clip_fraction: float
    n_grad_steps: int
    n_epochs: int
    n_grad_clipped: int
    grad_norm: float
    beta: float | None
    beta_next: float | None
    surrogate_before: float
    surrogate_after: float
    objective_before: float
    objective_after: float
    entropy: float
    adam_state: AdamState | None
    success: bool
    status: str
    message: str

    @property
    def improvement(self) -> float:
        """L(θ_new) − L(θ_old) of the plain surrogate."""
        return self.surrogate_after - self.surrogate_before
