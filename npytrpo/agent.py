"""The user-facing TRPO agent: ``learn``, ``predict``, ``evaluate``, ``save``, ``load``.

One iteration (Schulman et al. 2015, with GAE from Schulman et al. 2016):

1. collect ``n_steps`` per sub-env with π_θ (``rollout.collect``, or ``workers.collect_workers``);
2. update the observation normaliser with the new raw observations;
3. Â, V-targets by GAE(γ, λ) on (T, n_envs), truncation bootstrapping from V(s_final)
   (``advantages.gae``);
4. θ ← ``trust_region.trpo_step`` on the valid transitions (``updates.policy_update``);
5. fit the value function to the targets (``value.ValueFunction.fit``), by default in a helper
   process beside step 4 and the next iteration's step 1 (``fitproc``);
6. log one row (``logs.LOG_FIELDS``) to the history, the CSV file and the progress bar.

The hyperparameters are one ``AgentConfig`` (``agent.config``), everything that changes while
learning one ``AgentState`` (``agent.state``), which ``io/persist.py`` saves and restores
with every random state, so that a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

from ._validate import integer
from .acting import run_episodes
from .advantages import gae
from .agent_config import (
    AgentConfig,
    check_log_dir,
    check_seed,
    initial_state,
    make_env,
    make_policy,
    obs_dim_of,
)
from .fitproc import FitProcess
from .io.periodic import periodic_checkpoints
from .io.persist import read_agent, restore_state, save_agent
from .logs import append_csv_row, check_returns, complete_row, exploration_std, iteration_row
from .memory import keep_freed_memory
from .normalize import ObservationNormalizer, RewardScaler
from .rollout import collect, next_values
from .updates import policy_update
from .value import ValueFunction
from .value_adam import fit_value
from .workers import WorkerVectorEnv, collect_workers

__all__ = ["TRPO", "PPO"]


class TRPO:
    """Trust Region Policy Optimization on a gymnasium environment.

    Parameters
    ----------
    env : str, gymnasium.Env or gymnasium.vector.VectorEnv
        An environment id (``n_envs`` copies are made, SAME_STEP autoreset), one environment
        (wrapped in a one-env vector env), or a vector env (used as is).
    config : AgentConfig, optional
        All hyperparameters at once; the keyword options below override its fields.
    **options
        Any field of ``AgentConfig``, of its step's ``TRPOConfig`` or of its ``PPOConfig``, by
        name (an unknown name is a TypeError): ``n_steps``, ``gamma``, ``delta``, ``damping``,
        ``normalize_obs``, ``update``, ``use_sde``, … Each is documented, with its default, in
        ``AgentConfig`` (and ``TRPOConfig`` / ``PPOConfig``), the one place defaults are
        stated. Three options make the agent fast without changing a single bit of its
        results: ``blas_threads=1`` (NumPy's and SciPy's OpenBLAS pools spin against each
        other on these small matrices; an iteration can become 30× slower), ``tune_malloc``
        (``memory.keep_freed_memory``: large temporaries stop page-faulting afresh) and
        ``parallel_value_fit`` (the value fit runs in a helper process beside the policy step
        and the next rollout; ``fitproc``).
    seed : int or None
        Seeds everything; None draws one (recorded in ``self.seed``).
    log_dir : str or None
        Directory for ``progress.csv`` (one row per iteration).

    Examples
    --------
    >>> agent = TRPO("CartPole-v1", n_steps=64, seed=0)
    >>> _ = agent.learn(256, progress_bar=False)
    >>> agent.num_timesteps
    256
    >>> int(agent.predict(np.zeros(4)))  in (0, 1)
    True
    """

    def __init__(
        self,
        env: str | gym.Env | gym.vector.VectorEnv,
        *,
        config: AgentConfig | None = None,
        seed: int | None = None,
        log_dir: str | os.PathLike | None = None,
        **options: Any,
    ):
        cfg = AgentConfig.from_options(config, "TRPO", **options)
        self.seed = check_seed(seed)
        self.log_dir = check_log_dir(log_dir)
        if cfg.tune_malloc:
            keep_freed_memory()
        self.env, self.env_id = make_env(env, cfg.n_envs, cfg.vectorization)
        self.config = dataclasses.replace(cfg, n_envs=self.env.num_envs)
        obs_dim = obs_dim_of(self.env.single_observation_space)
        self.policy = make_policy(self.config, obs_dim, self.env.single_action_space)
        vf = {"l2": cfg.vf_l2, "max_iter": cfg.vf_iters, "ftol": cfg.vf_ftol}
        self.value = ValueFunction(obs_dim, cfg.value_hidden, **vf)
        self.state = initial_state(self.seed, self.config, self.policy, self.value, self.env)
        self.history: list[dict] = []
        self._fitter = FitProcess()

    # ------------------------------------------------------------------ views of the state
    @property
    def theta(self) -> np.ndarray:
        """The policy parameters θ (``state.theta``)."""
        return self.state.theta

    @theta.setter
    def theta(self, value: np.ndarray) -> None:
        self.state.theta = self.policy.check_theta(value)

    @property
    def value_theta(self) -> np.ndarray:
        """The value-function parameters (``state.value_theta``)."""
        return self.state.value_theta

    @property
    def rng(self) -> np.random.Generator:
        return self.state.rng

    @property
    def obs_normalizer(self) -> ObservationNormalizer | None:
        return self.state.obs_normalizer

    @property
    def reward_scaler(self) -> RewardScaler | None:
        return self.state.reward_scaler

    @property
    def num_timesteps(self) -> int:
        return self.state.num_timesteps

    @property
    def num_episodes(self) -> int:
        return self.state.num_episodes

    @property
    def iteration(self) -> int:
        return self.state.iteration

    @property
    def hyper(self) -> dict[str, Any]:
        """Every hyperparameter by name, flat (``config.as_options()``)."""
        return self.config.as_options()

    @property
    def batch_size(self) -> int:
        """Transitions per iteration, n_envs · n_steps."""
        return self.config.n_envs * self.config.n_steps

    # ------------------------------------------------------------------ training
    def learn(
        self,
        total_timesteps: int,
        callback: Callable[[TRPO, dict], bool | None] | None = None,
        progress_bar: bool = True,
        *,
        checkpoint_every: int | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        keep: int | None = None,
    ) -> TRPO:
        """Train for ``total_timesteps`` more environment steps (whole iterations, rounded up).

        ``callback(agent, row)`` runs after every iteration with its log row; returning
        ``False`` stops training. With ``checkpoint_every=STEPS`` the agent is saved every
        STEPS timesteps to ``checkpoint_dir/model_<timesteps>_steps.npz`` (default directory
        ``log_dir/checkpoints``), atomically, keeping the ``keep`` newest (None: all); see
        ``io.periodic``. ``TRPO.load`` of the newest + ``learn`` of the rest continues the run
        (bit-identically for classic-control and MuJoCo envs, sync or "workers"). Returns ``self``.

        With ``parallel_value_fit`` an iteration's value fit runs on beside the next rollout
        (``fitproc``) wherever nothing sees the agent in between: it is waited for before a
        callback, a periodic checkpoint, the end, an exception or a Ctrl-C. The results are
        those of fitting in turn, bit for bit.
        """
        total_timesteps = integer(total_timesteps, "total_timesteps", low=0)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {callback!r}")
        saver = periodic_checkpoints(
            checkpoint_every, checkpoint_dir, keep, log_dir=self.log_dir, start=self.num_timesteps
        )
        n_iter = math.ceil(total_timesteps / self.batch_size)
        bar = None
        if progress_bar and n_iter > 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_iter * self.batch_size, unit="step", dynamic_ncols=True)
        t_start = time.perf_counter()
        pending = None  # finishes the last iteration, whose value fit may still be running
        try:
            with self._blas():
                if self.config.parallel_value_fit and n_iter > 0:  # forked in the limit: fitproc
                    self._fitter.start(self.config.blas_threads)  # loads during the 1st rollout
                for i in range(n_iter):
                    row, pending = self._iterate(t_start, pending)
                    seen = callback is not None or i == n_iter - 1
                    if seen or (saver is not None and saver.due(self.num_timesteps)):
                        pending()  # the agent is seen: whole iterations only
                        pending = None
                    if bar is not None:
                        bar.update(self.batch_size)
                        bar.set_postfix(ret=f"{row['ep_return_mean']:.1f}", kl=f"{row['kl']:.4f}")
                    if pending is None and saver is not None:
                        saver(self)
                    if callback is not None and callback(self, row) is False:
                        break
        finally:
            if pending is not None:
                pending()  # an exception or Ctrl-C: still end on a whole iteration
            if bar is not None:
                bar.close()
        return self

    def _blas(self):
        """Context limiting BLAS threads (see ``blas_threads``)."""
        if self.config.blas_threads is None:
            return contextlib.nullcontext()
        return threadpool_limits(limits=self.config.blas_threads, user_api="blas")

    def _iterate(self, t_start: float, previous: Callable | None) -> tuple[dict, Callable]:
        """One iteration up to its policy step: (its log row, ``finish``). The value fit may
        still run; ``finish()`` waits for it, sets θ_v, completes the row and logs it, and
        returns None. ``previous`` (the last iteration's ``finish``, or None) is called once
        this rollout is collected: the rollout acts with π alone (``fitproc``)."""
        st, cfg = self.state, self.config
        t0 = time.perf_counter()
        run = collect_workers if isinstance(self.env, WorkerVectorEnv) else collect
        ro, st.last_obs, st.autoreset_pending = run(
            self.env,
            self.policy,
            st.theta,
            st.last_obs,
            cfg.n_steps,
            st.rng,
            tracker=st.tracker,
            obs_normalizer=st.obs_normalizer,
            reward_scaler=st.reward_scaler,
            autoreset_pending=st.autoreset_pending,
            noise_every=cfg.sde_sample_freq,
        )
        if st.obs_normalizer is not None:
            st.obs_normalizer.rms.update(ro.raw_obs[ro.valid])
        t1 = time.perf_counter()
        if previous is not None:
            previous(t0)  # the last iteration ended when this rollout began

        T, E = ro.n_steps, ro.n_envs
        V0, v_pass = self.value.forward(st.value_theta, ro.obs.reshape(-1, self.policy.obs_dim))
        V = V0.reshape(T, E)
        adv, targets = gae(
            ro.rewards,
            V,
            next_values(ro, V, lambda x: self.value.predict(st.value_theta, x)),
            ro.terminated,
            ro.truncated,
            gamma=cfg.gamma,
            lam=cfg.gae_lambda,
        )
        m = ro.valid
        check_returns(targets[m], st.num_timesteps, ro.num_transitions)
        obs, actions = ro.obs[m], ro.actions[m]
        # The policy step and the value fit both start from this batch's GAE (V before the fit)
        # and share nothing, so they may run at once (``_start_value_fit``).
        action_std = exploration_std(self.policy, st.theta, obs, actions)  # π_old's
        start = (V0, v_pass) if m.all() else None  # the fit's first evaluation reuses V's pass
        fit = self._start_value_fit(obs, targets[m], start)
        try:
            res, t_policy = _timed(policy_update, cfg, st, self.policy, obs, actions, adv[m])
        except BaseException:
            with contextlib.suppress(Exception):
                fit()  # wait for the fit, and leave the state as it was
            raise
        st.theta = res.theta_new
        st.num_timesteps += ro.num_transitions
        st.num_episodes += len(ro.episode_returns)
        st.iteration += 1
        row = iteration_row(
            st, ro, res, None, action_std=action_std, t_rollout=t1 - t0, t_policy=t_policy,
            t_value=float("nan"),
        )  # fmt: skip
        return row, self._finisher(row, fit, t0, t_start, ro.num_transitions)

    def _finisher(self, row: dict, fit: Callable, t0: float, t_start: float, n: int) -> Callable:
        """``finish(t_end=None)`` of ``_iterate``: idempotent, so that ``learn`` may call it
        again after an interruption. The iteration's time runs from ``t0`` to ``t_end`` (the
        next rollout's start) or, by default, to the end of the fit."""
        st, done = self.state, []

        def finish(t_end: float | None = None) -> None:
            if done:
                return None
            (st.value_theta, vinfo), t_value, st.value_adam = fit()
            done.append(True)
            t3 = time.perf_counter() if t_end is None else t_end
            complete_row(row, vinfo, t_value, n=n, t_start=t_start, t0=t0, t_end=t3)
            self.history.append(row)
            if self.log_dir is not None:
                append_csv_row(self.log_dir, row)
            return None

        return finish

    def _start_value_fit(self, obs, targets, start) -> Callable:
        """``fit_value`` in the agent's ``FitProcess`` (``parallel_value_fit``) or right away;
        a callable giving ((θ_v, info), seconds, the Adam fit's state). Deterministic, and the
        same bits either way."""
        cfg, st = self.config, self.state
        if cfg.parallel_value_fit:
            return self._fitter.submit(cfg, self.value, st, obs, targets)
        out, seconds = _timed(fit_value, cfg, self.value, st, obs, targets, start)
        return lambda: (out, seconds, st.value_adam)

    def close(self) -> None:
        """End the helper processes: the value fit's and, with ``vectorization`` "async" or
        "workers", the env's. The agent can still ``save``, ``predict`` and ``evaluate``."""
        self._fitter.close()
        self.env.close()

    # ------------------------------------------------------------------ acting
    def predict(
        self, obs: np.ndarray, deterministic: bool = True, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Action(s) for raw observation(s) of shape (obs_dim,) or (N, obs_dim).

        Deterministic: the mode (argmax / mean); otherwise a sample from π (with ``rng``, or
        the agent's own generator). The result is the env's action: Box samples clipped to the
        action bounds (log-probs in learning use the unclipped sample), and for
        ``Discrete(n, start=k)`` the policy's index a ∈ {0, …, n−1} mapped to a + k.
        """
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        x = self.policy.check_obs(obs[None] if single else obs)
        if self.state.obs_normalizer is not None:
            x = self.state.obs_normalizer.normalize(x, update=False)
        act = self.policy.sampler(self.state.theta, deterministic=deterministic)
        a = act(x, self.state.rng if rng is None else rng)
        space = self.env.single_action_space
        if isinstance(space, gym.spaces.Box):
            a = np.clip(a, space.low, space.high)
        elif isinstance(space, gym.spaces.Discrete):
            a = a + int(space.start)
        return a[0] if single else a

    def evaluate(
        self,
        n_episodes: int = 10,
        *,
        deterministic: bool = True,
        seed: int | None = None,
        env: gym.Env | None = None,
    ) -> dict:
        """Run ``n_episodes`` full episodes on a fresh env (normaliser frozen, raw rewards).

        Returns a dict with ``mean_return``, ``std_return``, ``mean_length``, ``returns`` and
        ``lengths``. The env is seeded with ``seed`` (default: derived from the agent's seed)
        on its first reset, so evaluation is reproducible.
        """
        n_episodes = integer(n_episodes, "n_episodes", low=1)
        own = env is None
        if own:
            if self.env_id is None:
                raise ValueError("evaluate needs env= when the agent was built without an id")
            env = gym.make(self.env_id)
        seed = self.seed + 1_000_003 if seed is None else check_seed(seed)
        rng = np.random.default_rng(seed)
        try:
            with self._blas():
                act = functools.partial(self.predict, deterministic=deterministic, rng=rng)
                return run_episodes(act, env, n_episodes, seed)
        finally:
            if own:
                env.close()

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the configuration and ``AgentState`` to one pickle-free ``.npz``, atomically
        (``io.persist.save_agent``); ``load`` + ``learn`` then continues bit-identically."""
        save_agent(
            path, env_id=self.env_id, seed=self.seed, options=self.config.as_options(),
            policy_spec=self.policy.spec(), value_spec=self.value.spec(), state=self.state,
            env=self.env,
        )  # fmt: skip

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        env: str | gym.Env | gym.vector.VectorEnv | None = None,
        *,
        log_dir: str | os.PathLike | None = None,
    ) -> TRPO:
        """Rebuild an agent from ``save``'s checkpoint (never unpickles anything); ``env``
        defaults to the saved id."""
        header, arrays = read_agent(path)
        env = header["env_id"] if env is None else env
        if env is None:
            raise ValueError("the checkpoint has no env id: pass env= to load")
        agent = cls(env, seed=header["seed"], log_dir=log_dir, **header["hyper"])
        if agent.policy.spec() != header["policy_spec"]:
            raise ValueError(
                f"{path}: the policy in the file ({header['policy_spec']}) does not match the "
                f"environment's ({agent.policy.spec()})"
            )
        restore_state(agent.state, header, arrays, agent.env, path=str(path))
        return agent


# ---------------------------------------------------------------------- construction helpers
def _timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


class PPO(TRPO):
    """The same agent with PPO-Clip as its update rule (``update="ppo"``; ``"ppo_kl"`` for the
    adaptive-KL penalty). Every ``TRPO`` argument applies; PPO's own options are the fields of
    ``PPOConfig`` (``clip_range``, ``n_epochs``, ``batch_size``, ``learning_rate``, …).

    Examples
    --------
    >>> agent = PPO("CartPole-v1", n_steps=64, batch_size=32, n_epochs=2, seed=0)
    >>> agent.config.update, agent.learn(128, progress_bar=False).num_timesteps
    ('ppo', 128)
    """

    def __init__(self, env, *, config: AgentConfig | None = None, **options: Any):
        if config is None and "update" not in options:
            options["update"] = "ppo"
        super().__init__(env, config=config, **options)
