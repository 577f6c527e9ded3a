"""Collect fixed-length rollouts from a gymnasium vector environment.

``collect(...)`` steps ``n_envs`` sub-environments for ``n_steps`` steps each, batching the
policy's forward pass over sub-environments, and returns a ``Rollout`` of arrays shaped
``(T, n_envs, ...)`` (time-major, T = ``n_steps``) with the observation to continue from. The
pieces of a hand-written loop (``demos/classic_control.py``):

==========================  ==============================================================
``make_vector_env``         ``n_envs`` copies of an env id in SAME_STEP autoreset mode
``EpisodeTracker``          returns/lengths of episodes still running between rollouts
``collect``                 one rollout: ``(Rollout, last_obs, autoreset_pending)``
``Rollout``                 the arrays; ``reshape(T * n_envs, ...)`` flattens a batch
==========================  ==============================================================

Autoreset. The vector env's autoreset mode is read from ``env.metadata["autoreset_mode"]`` and
handled explicitly:

- ``SAME_STEP`` (what ``make_vector_env`` builds): the step that ends an episode returns the
  first observation of the next one, and the real final observation is in
  ``info["final_obs"]``; it is stored in ``next_obs`` so that a truncated episode bootstraps
  from V(s_final). Every step is a real transition.
- ``NEXT_STEP`` (gymnasium's default): the step after an episode ended is a reset step whose
  action is ignored; it is stored with ``valid = False`` and never learned from.

Box actions: the Gaussian sample is stored unclipped (its log-prob is what π_old assigned) and
clipped to the action bounds only when passed to the environment (the usual convention: the
policy-gradient estimator stays that of the unclipped Gaussian; the env sees a valid action).

Discrete actions: the policy samples an index a ∈ {0, …, n−1}; the env receives
``a + space.start`` (``Discrete(n, start=k)``), and the rollout stores the index a.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from .acting import env_action, frozen_normalizer, learning_rewards, track_episodes
from .normalize import ObservationNormalizer, RewardScaler
from .policies import Policy
from .vecenv import SameStepSyncVectorEnv

__all__ = [
    "Rollout",
    "make_rollout",
    "EpisodeTracker",
    "collect",
    "next_values",
    "make_vector_env",
    "autoreset_mode",
]


@dataclass
class Rollout:
    """One batch of experience.

    Attributes
    ----------
    obs : ndarray of shape (T, n_envs, obs_dim)
        Observations as the policy saw them (normalised when a normaliser is used).
    actions : ndarray of shape (T, n_envs) int or (T, n_envs, act_dim) float (unclipped)
    rewards : ndarray of shape (T, n_envs)
        Rewards used for learning (scaled when a reward scaler is used).
    terminated, truncated : bool ndarray of shape (T, n_envs)
    next_obs : ndarray of shape (T, n_envs, obs_dim)
        The real next observation of every step (the final observation for a step that ended
        an episode), normalised like ``obs``.
    valid : bool ndarray of shape (T, n_envs)
        False for NEXT_STEP reset steps, which are not transitions.
    raw_obs : ndarray of shape (T, n_envs, obs_dim)
        Unnormalised observations (what the normaliser's statistics are updated with).
    episode_returns, episode_lengths : list
        Undiscounted raw returns and lengths of the episodes that finished in this rollout.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    valid: np.ndarray
    raw_obs: np.ndarray
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)

    @property
    def n_steps(self) -> int:
        return self.obs.shape[0]

    @property
    def n_envs(self) -> int:
        return self.obs.shape[1]

    @property
    def num_transitions(self) -> int:
        return int(self.valid.sum())


class EpisodeTracker:
    """Running undiscounted return and length of each sub-environment's current episode.

    ``collect`` adds each step's raw reward to ``returns`` and closes an episode (into
    ``Rollout.episode_returns``/``episode_lengths``) when it ends; an episode still running at
    the end of a rollout carries over to the next call with the same tracker. Make one per
    vector env, right after its first ``reset``.

    Parameters
    ----------
    n_envs : int
        Number of sub-environments.

    Attributes
    ----------
    returns : ndarray of shape (n_envs,)
        Undiscounted raw return so far of each sub-env's current episode.
    lengths : int ndarray of shape (n_envs,)
        Its number of steps so far.
    """

    def __init__(self, n_envs: int):
        self.returns = np.zeros(n_envs)
        self.lengths = np.zeros(n_envs, dtype=np.int64)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of ``returns`` and ``lengths`` (what a checkpoint stores)."""
        return {"returns": self.returns.copy(), "lengths": self.lengths.copy()}

    def load_state_dict(self, d: dict) -> None:
        """Restore ``returns`` and ``lengths`` from ``state_dict`` output."""
        self.returns = np.array(d["returns"], dtype=np.float64)
        self.lengths = np.array(d["lengths"], dtype=np.int64)


def autoreset_mode(env: gym.vector.VectorEnv) -> AutoresetMode:
    """The vector env's autoreset mode (gymnasium ≥ 1.0 records it in ``metadata``)."""
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if isinstance(mode, str):
        mode = AutoresetMode(mode)
    if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
        raise ValueError(
            f"env autoreset_mode must be SAME_STEP or NEXT_STEP, got {mode}; "
            "DISABLED needs manual resets, which the rollout does not do"
        )
    return mode


def make_vector_env(
    env_id: str, n_envs: int, *, vectorization: str = "sync", env_kwargs: dict | None = None
) -> gym.vector.VectorEnv:
    """A gymnasium vector env of ``n_envs`` copies of ``env_id`` in SAME_STEP autoreset mode.

    In SAME_STEP mode the step that ends an episode already returns the next episode's first
    observation and puts the real final one in ``info["final_obs"]``, so every step ``collect``
    stores is a real transition (``Rollout.valid`` is all True).

    Parameters
    ----------
    env_id : str
        A registered gymnasium id.
    n_envs : int
        Number of copies.
    vectorization : {"sync", "async"}, default "sync"
        Step the copies in this process (a ``vecenv.SameStepSyncVectorEnv``: gymnasium's
        ``SyncVectorEnv`` with a leaner ``step`` of the same numbers), or each in a worker
        process (gymnasium's ``AsyncVectorEnv``).
    env_kwargs : dict, optional
        Keyword arguments of ``gymnasium.make`` for each copy.

    Returns
    -------
    gymnasium.vector.VectorEnv
        Not yet reset: call ``env.reset(seed=...)`` for the first observations. Built with
        ``copy=False``: the observation array that ``reset``/``step`` return is overwritten by
        the next step, so copy it to keep it.
    """
    if vectorization not in ("sync", "async"):
        raise ValueError(f"vectorization must be 'sync' or 'async', got {vectorization!r}")
    env = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode=vectorization,
        # copy=False: ``step`` returns the env's own buffer (overwritten by the next step), not a
        # deep copy (Pendulum's step costs ~40 % less); ``collect`` copies each one at once.
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP, "copy": False},
        **(env_kwargs or {}),
    )
    return SameStepSyncVectorEnv.adopt(env) if vectorization == "sync" else env


def _final_obs(info: dict, done: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Stack ``info["final_obs"]`` of the done sub-envs (SAME_STEP mode) over ``fallback``."""
    out, finals = fallback.copy(), info["final_obs"]
    for i in np.flatnonzero(done):
        out[i] = np.asarray(finals[i], dtype=np.float64).reshape(out.shape[1:])
    return out


def _next_observations(raw: np.ndarray, finals: dict, done: np.ndarray | None) -> np.ndarray:
    """s_{t+1} of every step t: ``raw[t + 1]``, or ``finals[t]`` (real final rows) where an episode
    ended; with ``done`` (SAME_STEP), RuntimeError if one ended without ``info["final_obs"]``."""
    if done is not None:
        # A plain scan, not np.setdiff1d: its np.unique imports numpy.ma (~20 ms) on first use.
        lost = [t for t in np.flatnonzero(done.any(axis=1)).tolist() if t not in finals]
        if lost:
            raise RuntimeError(
                f"SAME_STEP env ended an episode without info['final_obs'] (step {lost[0]})"
            )
    next_raw = raw[1:].copy()
    for t, rows in finals.items():
        next_raw[t] = rows
    return next_raw


def _mask_reset_steps(t, pending, valid, raw_rewards, term, trunc) -> np.ndarray:
    """NEXT_STEP autoreset: the sub-envs in ``pending`` took a reset step at t, which is no
    transition (invalid, no reward, no episode end); returns the sub-envs done at t."""
    if pending.any():
        valid[t] = ~pending
        raw_rewards[t, pending] = 0.0
        term[t, pending] = trunc[t, pending] = False
    return term[t] | trunc[t]


def collect(
    env: gym.vector.VectorEnv,
    policy: Policy,
    theta: np.ndarray,
    last_obs: np.ndarray,
    n_steps: int,
    rng: np.random.Generator,
    *,
    tracker: EpisodeTracker,
    obs_normalizer: ObservationNormalizer | None = None,
    reward_scaler: RewardScaler | None = None,
    autoreset_pending: np.ndarray | None = None,
    noise_every: int = -1,
) -> tuple[Rollout, np.ndarray, np.ndarray]:
    """Step the vector env ``n_steps`` times with actions sampled from π_θ.

    Each step runs one batched forward pass over the ``n_envs`` current observations (through
    ``obs_normalizer`` when given, which stays frozen), samples actions with ``rng`` and steps
    every sub-env. Nothing is learned here; the caller computes advantages from the result.

    Parameters
    ----------
    env : gymnasium.vector.VectorEnv
        In SAME_STEP (``make_vector_env``) or NEXT_STEP autoreset mode, already reset.
    policy : Policy
    theta : ndarray of shape (P,)
        The parameters acting (π_old of the coming update); not modified.
    last_obs : ndarray of shape (n_envs, obs_dim)
        Raw observations to act on first: from ``env.reset`` for the first rollout, the
        ``last_obs`` returned by the previous call afterwards.
    n_steps : int
        T, steps per sub-env.
    rng : numpy.random.Generator
        Action sampling (the only randomness besides the env's own). The env gets Box samples
        clipped to its bounds and Discrete indices shifted by ``space.start``; ``actions``
        holds the samples.
    tracker : EpisodeTracker
        Required: the running returns/lengths of unfinished episodes, updated in place and
        carried across calls (pass the same tracker every time).
    obs_normalizer : ObservationNormalizer, optional
        Normalises what the policy sees; never updated here (update its statistics from
        ``Rollout.raw_obs`` after the call, as the agent does).
    reward_scaler : RewardScaler, optional
        Scales the learning rewards ``Rollout.rewards``; episode returns stay raw.
    autoreset_pending : bool ndarray of shape (n_envs,), optional
        NEXT_STEP mode only: sub-envs whose next step is a reset (from the previous call);
        None means none.
    noise_every : int, default -1
        gSDE heads only: steps between redraws of the exploration matrix (−1: once per
        rollout); see ``Policy.sampler``.

    Returns
    -------
    rollout : Rollout
        Arrays of shape (T, n_envs, ...) with T = ``n_steps``: ``obs``, ``actions`` ((T, n_envs)
        int for Discrete, (T, n_envs, act_dim) unclipped for Box), ``rewards``, ``terminated``,
        ``truncated``, ``next_obs`` (the real next observation, the final one where an episode
        ended), ``valid``, ``raw_obs``; and the returns/lengths of the episodes that ended.
    last_obs : ndarray of shape (n_envs, obs_dim)
        Raw observation after the last step: pass it to the next call.
    autoreset_pending : bool ndarray of shape (n_envs,)
        Pass it to the next call (all False in SAME_STEP mode).

    Examples
    --------
    >>> from npytrpo import CategoricalPolicy
    >>> env = make_vector_env("CartPole-v1", 2)
    >>> obs, _ = env.reset(seed=0)
    >>> pi = CategoricalPolicy(4, 2, hidden=(8,))
    >>> rng, tracker = np.random.default_rng(0), EpisodeTracker(2)
    >>> ro, obs, _ = collect(env, pi, pi.init(0), obs, 16, rng, tracker=tracker)
    >>> ro.obs.shape, ro.actions.shape, ro.rewards.shape, bool(ro.valid.all())
    ((16, 2, 4), (16, 2), (16, 2), True)
    >>> ro.obs.reshape(-1, 4).shape  # the flat batch of N = T·n_envs transitions
    (32, 4)
    """
    n_envs, obs_dim = env.num_envs, policy.obs_dim
    same_step = autoreset_mode(env) == AutoresetMode.SAME_STEP
    space = env.single_action_space
    box = isinstance(space, gym.spaces.Box)
    act_shape = (policy.head.act_dim,) if box else ()
    raw, raw_rewards, term, trunc, valid = _buffers(n_steps, n_envs, obs_dim)  # raw[t] = s_t
    norm_obs = raw if obs_normalizer is None else np.empty_like(raw[:-1])
    normalize = None if obs_normalizer is None else frozen_normalizer(obs_normalizer)
    actions = np.empty((n_steps, n_envs, *act_shape), dtype=np.float64 if box else np.int64)
    pending = np.zeros(n_envs, bool) if autoreset_pending is None else autoreset_pending.copy()
    to_env = env_action(space)
    act = policy.sampler(theta, noise_every=noise_every)
    finals: dict[int, np.ndarray] = {}  # SAME_STEP: step t -> s_{t+1} with real final rows
    raw[0] = np.reshape(last_obs, (n_envs, obs_dim))
    for t in range(n_steps):
        if normalize is not None:
            normalize(raw[t], norm_obs[t])  # what the policy sees
        a = act(norm_obs[t], rng)
        actions[t] = a
        nxt, r, te, tr, info = env.step(to_env(a))
        raw[t + 1] = np.reshape(nxt, (n_envs, obs_dim))  # a copy: the env reuses its buffer
        raw_rewards[t], term[t], trunc[t] = r, te, tr
        _check_finite_step(t, raw[t + 1], raw_rewards[t])
        if not same_step:
            pending = _mask_reset_steps(t, pending, valid, raw_rewards, term, trunc)
        elif "final_obs" in info:  # an episode ended at t (SAME_STEP sets the key only then)
            finals[t] = _final_obs(info, term[t] | trunc[t], raw[t + 1])
    next_raw = _next_observations(raw, finals, term | trunc if same_step else None)
    raw_obs = raw[:-1]  # s_0 … s_{T−1}, a view
    rollout = make_rollout(
        raw_obs, None if normalize is None else norm_obs, actions, raw_rewards, term, trunc,
        next_raw, valid, tracker=tracker, reward_scaler=reward_scaler, normalize=normalize,
    )  # fmt: skip
    return rollout, raw[-1].copy(), pending


def make_rollout(
    raw_obs, obs, actions, raw_rewards, term, trunc, next_raw, valid, *,
    tracker, reward_scaler, normalize,
) -> Rollout:  # fmt: skip
    """The ``Rollout`` of one batch of raw arrays (shared by ``collect`` and
    ``workers.collect_workers``): closes the episodes that ended (``tracker``), scales the
    learning rewards (``reward_scaler``), and normalises the next observations (and ``raw_obs``
    where ``obs``, the observations as the policy saw them, is None) with the frozen
    ``normalize`` (None: raw)."""
    ep_returns, ep_lengths = track_episodes(tracker, raw_rewards, term | trunc, valid)
    if obs is None:
        obs = raw_obs if normalize is None else normalize(raw_obs, np.empty_like(raw_obs))
    return Rollout(
        obs=obs,
        actions=actions,
        rewards=learning_rewards(reward_scaler, raw_rewards, term, trunc),
        terminated=term,
        truncated=trunc,
        next_obs=next_raw if normalize is None else normalize(next_raw, np.empty_like(next_raw)),
        valid=valid,
        raw_obs=raw_obs,
        episode_returns=ep_returns,
        episode_lengths=ep_lengths,
    )


def next_values(ro: Rollout, V: np.ndarray, predict) -> np.ndarray:
    """V(s_{t+1}) for every step of a rollout, shape (T, n_envs), from V(s_t) of shape (T, n_envs).

    Where the episode went on, s_{t+1} is the next row's observation, so its V is reused; a
    forward pass ``predict(obs (M, obs_dim)) -> (M,)`` runs only for the real final
    observations of ended episodes (a truncated episode bootstraps from them), NEXT_STEP reset
    rows and the observation the rollout stopped at.
    """
    V_next = np.empty_like(V)
    V_next[:-1] = V[1:]
    fresh = ro.terminated | ro.truncated | ~ro.valid
    fresh[-1] = True
    V_next[fresh] = predict(ro.next_obs[fresh])
    return V_next


def _check_finite_step(t: int, obs: np.ndarray, rewards: np.ndarray) -> None:
    """ValueError naming the step and sub-envs if the env returned NaN/inf observations or
    rewards (they would otherwise reach the policy, the normaliser or the value fit)."""
    # Fast path: Σo² + Σr² is finite iff every entry is (a finite sum that overflows to inf
    # falls through to the exact test below, which then finds nothing).
    if math.isfinite(np.vdot(obs, obs) + np.vdot(rewards, rewards)):
        return
    bad_obs = np.flatnonzero(~np.isfinite(obs).all(axis=1))
    bad_rew = np.flatnonzero(~np.isfinite(rewards))
    if not (bad_obs.size or bad_rew.size):
        return
    what = "observations" if bad_obs.size else "rewards"
    envs = (bad_obs if bad_obs.size else bad_rew).tolist()
    raise ValueError(
        f"{what} must be finite: the env returned NaN/inf at step {t} of this rollout "
        f"(sub-envs {envs})"
    )


def _buffers(n_steps: int, n_envs: int, obs_dim: int) -> tuple[np.ndarray, ...]:
    """Empty arrays: observations s_0 … s_T (T + 1, n_envs, obs_dim), then (T, n_envs) rewards,
    terminated, truncated, and the valid mask (True until a NEXT_STEP reset step says not)."""
    shape = (n_steps, n_envs)
    return (
        np.empty((n_steps + 1, n_envs, obs_dim)),
        np.empty(shape),
        np.empty(shape, dtype=bool),
        np.empty(shape, dtype=bool),
        np.ones(shape, dtype=bool),
    )
