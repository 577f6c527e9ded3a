"""The user-facing TRPO agent: ``learn``, ``predict``, ``evaluate``, ``save``, ``load``.

One iteration (Schulman et al. 2015, with GAE from Schulman et al. 2016):

1. collect ``n_steps`` per sub-env with π_θ (``rollout.collect``);
2. update the observation normaliser with the new raw observations;
3. Â, V-targets by GAE(γ, λ) on (T, n_envs), truncation bootstrapping from V(s_final)
   (``advantages.gae``);
4. θ ← ``trust_region.trpo_step`` on the valid transitions;
5. fit the value function to the targets (``value.ValueFunction.fit``);
6. log one row (``LOG_FIELDS``) to the history, the CSV file and the progress bar.

Reproducibility: ``seed`` fixes everything (θ inits, action sampling, environment resets); a
checkpoint stores every random state, including the classic-control environments' own state,
so that training resumed from it is bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

from ._validate import integer, real_number
from .advantages import gae
from .logs import append_csv_row, iteration_row
from .memory import keep_freed_memory
from .normalize import ObservationNormalizer, RewardScaler
from .persist import load_agent, save_agent
from .policies import CategoricalPolicy, GaussianPolicy, Policy
from .rollout import EpisodeTracker, collect, make_vector_env
from .trust_region import _check_options, npg_step, trpo_step, vpg_step
from .value import ValueFunction

__all__ = ["TRPO"]


# Hyperparameters saved with a model and accepted by the constructor (besides env/seed).
_HYPER = (
    "policy",
    "hidden",
    "value_hidden",
    "n_envs",
    "n_steps",
    "gamma",
    "gae_lambda",
    "delta",
    "damping",
    "cg_iters",
    "cg_tol",
    "backtrack_coeff",
    "max_backtracks",
    "kl_direction",
    "accept",
    "fvp_subsample",
    "normalize_obs",
    "normalize_reward",
    "normalize_advantages",
    "entropy_coef",
    "vf_iters",
    "vf_l2",
    "log_std_init",
    "obs_clip",
    "vectorization",
    "update",
    "pg_lr",
    "blas_threads",
    "tune_malloc",
    "parallel_value_fit",
)

#: Policy-update rules: TRPO, natural gradient without line search, vanilla gradient ascent.
UPDATES = ("trpo", "npg", "vpg")


class TRPO:
    """Trust Region Policy Optimization on a gymnasium environment.

    Parameters
    ----------
    env : str, gymnasium.Env or gymnasium.vector.VectorEnv
        An environment id (``n_envs`` copies are made, SAME_STEP autoreset), one environment
        (wrapped in a one-env vector env), or a vector env (used as is).
    policy : {"auto", "categorical", "gaussian"}
        ``"auto"``: Discrete actions → categorical, Box → diagonal Gaussian.
    hidden, value_hidden : sequence of int, default (64, 64)
        Tanh MLP layers of the policy and of the value function; ``()`` is linear.
    n_envs : int, default 2
        Sub-environments (ignored for a vector env, which brings its own).
    n_steps : int, default 1024
        Steps per sub-env per iteration; a batch has N = n_envs·n_steps transitions.
    gamma : float in [0, 1], default 0.99
        Discount.
    gae_lambda : float in [0, 1], default 0.97
        GAE λ.
    delta, damping, cg_iters, cg_tol, backtrack_coeff, max_backtracks, kl_direction, accept,
    fvp_subsample, normalize_advantages, entropy_coef :
        Passed to ``trust_region.trpo_step`` (see there); defaults δ = 0.01, λ = 0.1, 10 CG
        iterations, α = 0.5, 10 backtracks, advantage normalisation on.
    normalize_obs : bool, default False
        Running mean/std observation normalisation (frozen during each rollout and evaluation).
    normalize_reward : bool, default False
        Scale rewards by the std of the running discounted return.
    vf_iters : int, default 25
        L-BFGS-B iterations of the value fit per TRPO iteration.
    vf_l2 : float, default 1e-3
        L2 penalty of the value fit.
    log_std_init : float, default 0.0
        Initial log-std of a Gaussian policy.
    obs_clip : float, default 10.0
        Clip of normalised observations.
    vectorization : {"sync", "async"}, default "sync"
        How an env id is vectorised (async for slow environments).
    update : {"trpo", "npg", "vpg"}, default "trpo"
        The policy update: the TRPO step; the natural gradient step βx with no line search
        (``npg_step``); or vanilla gradient ascent θ ← θ + pg_lr·g (for the step-size study).
    pg_lr : float > 0, default 0.01
        Step size of ``update="vpg"``.
    blas_threads : int or None, default 1
        BLAS threads while learning/evaluating. NumPy and SciPy each bundle an OpenBLAS whose
        idle threads spin; on small matrices two pools fight over the cores and an iteration
        can become 30× slower. One thread is fastest at these sizes; None leaves BLAS alone.
    tune_malloc : bool, default True
        Keep freed memory in the C heap (``memory.keep_freed_memory``, Linux/glibc) so the
        large temporaries of every iteration do not page-fault afresh (2× faster Fisher
        products on a VM). Process-wide; numbers are unaffected.
    parallel_value_fit : bool, default True
        Fit the value function on a worker thread while the policy step runs (both need only
        the batch's GAE). Results are bit-identical either way; on 2 cores it saves ~25%.
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
        policy: str = "auto",
        hidden: Sequence[int] = (64, 64),
        value_hidden: Sequence[int] = (64, 64),
        n_envs: int = 2,
        n_steps: int = 1024,
        gamma: float = 0.99,
        gae_lambda: float = 0.97,
        delta: float = 0.01,
        damping: float = 0.1,
        cg_iters: int = 10,
        cg_tol: float = 1e-10,
        backtrack_coeff: float = 0.5,
        max_backtracks: int = 10,
        kl_direction: str = "old_new",
        accept: str = "kl_and_improve",
        fvp_subsample: int = 1,
        normalize_obs: bool = False,
        normalize_reward: bool = False,
        normalize_advantages: bool = True,
        entropy_coef: float = 0.0,
        vf_iters: int = 25,
        vf_l2: float = 1e-3,
        log_std_init: float = 0.0,
        obs_clip: float = 10.0,
        vectorization: str = "sync",
        update: str = "trpo",
        pg_lr: float = 0.01,
        blas_threads: int | None = 1,
        tune_malloc: bool = True,
        parallel_value_fit: bool = True,
        seed: int | None = None,
        log_dir: str | None = None,
    ):
        self.hyper = {k: v for k, v in locals().items() if k in _HYPER}
        self.hyper["hidden"] = list(hidden)
        self.hyper["value_hidden"] = list(value_hidden)
        self._trpo_opts = _check_options(self.hyper)  # the trust-region step's options
        self.gamma = real_number(gamma, "gamma", low=0.0, high=1.0)
        self.gae_lambda = real_number(gae_lambda, "gae_lambda", low=0.0, high=1.0)
        self.n_steps = integer(n_steps, "n_steps", low=1)
        self.vf_iters = integer(vf_iters, "vf_iters", low=1)
        if update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
        self.update = update
        if isinstance(pg_lr, bool) or not isinstance(pg_lr, (int, float)) or not pg_lr > 0:
            raise ValueError(f"pg_lr must be a number > 0, got {pg_lr!r}")
        self.pg_lr = float(pg_lr)
        if blas_threads is not None:
            blas_threads = integer(blas_threads, "blas_threads", low=1)
        self.blas_threads = blas_threads
        if not isinstance(tune_malloc, bool):
            raise TypeError(f"tune_malloc must be a bool, got {tune_malloc!r}")
        if tune_malloc:
            keep_freed_memory()
        if not isinstance(parallel_value_fit, bool):
            raise TypeError(f"parallel_value_fit must be a bool, got {parallel_value_fit!r}")
        self.parallel_value_fit = parallel_value_fit
        self._worker: ThreadPoolExecutor | None = None
        for name, flag in (
            ("normalize_obs", normalize_obs),
            ("normalize_reward", normalize_reward),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = int(seed)

        self.env, self.env_id = self._make_env(env, integer(n_envs, "n_envs", low=1), vectorization)
        self.n_envs = self.env.num_envs
        self.hyper["n_envs"] = self.n_envs
        obs_space, act_space = self.env.single_observation_space, self.env.single_action_space
        if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(
                f"env observation space must be a 1-D Box, got {obs_space}; "
                "flatten or one-hot it with a gymnasium wrapper first"
            )
        obs_dim = int(obs_space.shape[0])
        self.policy = self._make_policy(policy, obs_dim, act_space, hidden, log_std_init)
        self.value = ValueFunction(obs_dim, tuple(value_hidden), l2=vf_l2, max_iter=self.vf_iters)

        ss = np.random.SeedSequence(self.seed)
        s_pi, s_v, s_act, s_env = ss.spawn(4)
        self.theta = self.policy.init(np.random.default_rng(s_pi))
        self.value_theta = self.value.init(np.random.default_rng(s_v))
        self.rng = np.random.default_rng(s_act)
        self._env_seed = int(s_env.generate_state(1)[0] % (2**31))
        self.obs_normalizer = (
            ObservationNormalizer((obs_dim,), clip=obs_clip) if normalize_obs else None
        )
        self.reward_scaler = (
            RewardScaler(self.n_envs, gamma=self.gamma) if normalize_reward else None
        )
        self.tracker = EpisodeTracker(self.n_envs)
        self._last_obs, _ = self.env.reset(seed=self._env_seed)
        self._pending = np.zeros(self.n_envs, dtype=bool)
        self.num_timesteps = 0
        self.num_episodes = 0
        self.iteration = 0
        self.history: list[dict] = []
        self.log_dir = log_dir

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _make_env(env, n_envs: int, vectorization: str):
        if isinstance(env, str):
            try:
                gym.spec(env)
            except gym.error.Error as exc:
                raise ValueError(f"env: unknown environment id {env!r} ({exc})") from None
            return make_vector_env(env, n_envs, vectorization=vectorization), env
        if isinstance(env, gym.vector.VectorEnv):
            spec = getattr(env, "spec", None)
            return env, getattr(spec, "id", None)
        if isinstance(env, gym.Env):
            vec = gym.vector.SyncVectorEnv(
                [lambda: env], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
            )
            spec = getattr(env, "spec", None)
            return vec, getattr(spec, "id", None)
        raise TypeError(
            f"env must be an id, a gymnasium Env or VectorEnv, got {type(env).__name__}"
        )

    @staticmethod
    def _make_policy(kind, obs_dim, act_space, hidden, log_std_init) -> Policy:
        if kind not in ("auto", "categorical", "gaussian"):
            raise ValueError(f"policy must be 'auto', 'categorical' or 'gaussian', got {kind!r}")
        if isinstance(act_space, gym.spaces.Discrete) and kind in ("auto", "categorical"):
            return CategoricalPolicy(obs_dim, int(act_space.n), tuple(hidden))
        if (
            isinstance(act_space, gym.spaces.Box)
            and len(act_space.shape) == 1
            and kind in ("auto", "gaussian")
        ):
            return GaussianPolicy(
                obs_dim, int(act_space.shape[0]), tuple(hidden), log_std_init=log_std_init
            )
        raise ValueError(
            f"env action space {act_space} is not supported with policy={kind!r}: "
            "use Discrete (categorical) or a 1-D Box (gaussian)"
        )

    @property
    def batch_size(self) -> int:
        """Transitions per iteration, n_envs · n_steps."""
        return self.n_envs * self.n_steps

    # ------------------------------------------------------------------ training
    def learn(
        self,
        total_timesteps: int,
        callback: Callable[[TRPO, dict], bool | None] | None = None,
        progress_bar: bool = True,
    ) -> TRPO:
        """Train for ``total_timesteps`` more environment steps (whole iterations, rounded up).

        ``callback(agent, row)`` runs after every iteration with its log row; returning
        ``False`` stops training. Returns ``self``.
        """
        if isinstance(total_timesteps, bool) or not isinstance(total_timesteps, (int, np.integer)):
            raise TypeError(f"total_timesteps must be an int, got {total_timesteps!r}")
        if total_timesteps < 0:
            raise ValueError(f"total_timesteps must be >= 0, got {total_timesteps}")
        n_iter = math.ceil(total_timesteps / self.batch_size)
        bar = None
        if progress_bar and n_iter > 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_iter * self.batch_size, unit="step", dynamic_ncols=True)
        t_start = time.perf_counter()
        try:
            with self._blas():
                self._learn_loop(n_iter, callback, bar, t_start)
        finally:
            if bar is not None:
                bar.close()
        return self

    def _blas(self):
        """Context limiting BLAS threads (see ``blas_threads``)."""
        if self.blas_threads is None:
            return contextlib.nullcontext()
        return threadpool_limits(limits=self.blas_threads, user_api="blas")

    def _learn_loop(self, n_iter, callback, bar, t_start) -> None:
        for _ in range(n_iter):
            row = self._iterate(t_start)
            if bar is not None:
                bar.update(self.batch_size)
                bar.set_postfix(ret=f"{row['ep_return_mean']:.1f}", kl=f"{row['kl']:.4f}")
            if callback is not None and callback(self, row) is False:
                break

    def _iterate(self, t_start: float) -> dict:
        t0 = time.perf_counter()
        ro, self._last_obs, self._pending = collect(
            self.env,
            self.policy,
            self.theta,
            self._last_obs,
            self.n_steps,
            self.rng,
            tracker=self.tracker,
            obs_normalizer=self.obs_normalizer,
            reward_scaler=self.reward_scaler,
            autoreset_pending=self._pending,
        )
        if self.obs_normalizer is not None:
            self.obs_normalizer.rms.update(ro.raw_obs[ro.valid])
        t1 = time.perf_counter()

        T, E = ro.n_steps, ro.n_envs
        d = self.policy.obs_dim
        V = self.value.predict(self.value_theta, ro.obs.reshape(-1, d)).reshape(T, E)
        V_next = self._next_values(ro, V)
        adv, targets = gae(
            ro.rewards,
            V,
            V_next,
            ro.terminated,
            ro.truncated,
            gamma=self.gamma,
            lam=self.gae_lambda,
        )
        m = ro.valid
        obs, actions = ro.obs[m], ro.actions[m]
        # The policy step and the value fit both start from this batch's GAE and share nothing,
        # so they may run at once (NumPy releases the GIL inside BLAS); each is deterministic.
        fit = self._start(self._timed, self.value.fit, self.value_theta, obs, targets[m])
        res, t_policy = self._timed(self._policy_update, obs, actions, adv[m])
        (self.value_theta, vinfo), t_value = fit()
        self.theta = res.theta_new
        t3 = time.perf_counter()

        self.num_timesteps += ro.num_transitions
        self.num_episodes += len(ro.episode_returns)
        self.iteration += 1
        row = iteration_row(
            self,
            ro,
            res,
            vinfo,
            t_rollout=t1 - t0,
            t_policy=t_policy,
            t_value=t_value,
            wall=t3 - t_start,
            t_iter=t3 - t0,
        )
        self.history.append(row)
        if self.log_dir is not None:
            append_csv_row(self.log_dir, row)
        return row

    @staticmethod
    def _timed(fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        return out, time.perf_counter() - t

    def _start(self, fn, *args):
        """Run ``fn(*args)`` on the agent's worker thread (``parallel_value_fit``), or right
        away; return a callable giving its result."""
        if not self.parallel_value_fit:
            out = fn(*args)
            return lambda: out
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="npytrpo-vf")
        return self._worker.submit(fn, *args).result

    def _next_values(self, ro, V: np.ndarray) -> np.ndarray:
        """V(s_{t+1}) for every step, (T, n_envs): the next row's V(obs) where the episode went
        on, and a forward pass only for the final observations of ended episodes (and NEXT_STEP
        reset rows) and for the observation the rollout stopped at."""
        V_next = np.empty_like(V)
        V_next[:-1] = V[1:]
        fresh = ro.terminated | ro.truncated | ~ro.valid
        fresh[-1] = True
        V_next[fresh] = self.value.predict(self.value_theta, ro.next_obs[fresh])
        return V_next

    def _policy_update(self, obs, actions, adv):
        o = self._trpo_opts
        if self.update == "trpo":
            return trpo_step(self.policy, self.theta, obs, actions, adv, **o)
        keys = ("delta", "damping", "cg_iters", "cg_tol", "kl_direction", "fvp_subsample")
        kw = {k: o[k] for k in keys}
        kw.update(normalize_advantages=o["normalize_advantages"], entropy_coef=o["entropy_coef"])
        if self.update == "npg":
            return npg_step(self.policy, self.theta, obs, actions, adv, **kw)
        return vpg_step(self.policy, self.theta, obs, actions, adv, lr=self.pg_lr, **kw)

    # ------------------------------------------------------------------ acting
    def _normalize(self, obs: np.ndarray) -> np.ndarray:
        if self.obs_normalizer is None:
            return obs
        return self.obs_normalizer.normalize(obs, update=False)

    def predict(
        self, obs: np.ndarray, deterministic: bool = True, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Action(s) for raw observation(s) of shape (obs_dim,) or (N, obs_dim).

        Deterministic: the mode (argmax / mean); otherwise a sample from π (with ``rng``, or
        the agent's own generator). Box actions are clipped to the action bounds.
        """
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        obs2 = self.policy.check_obs(obs[None] if single else obs)
        x = self._normalize(obs2)
        if deterministic:
            a = self.policy._mode(self.theta, x)
        else:
            a = self.policy._sample(self.theta, x, self.rng if rng is None else rng)
        space = self.env.single_action_space
        if isinstance(space, gym.spaces.Box):
            a = np.clip(a, space.low, space.high)
        return a[0] if single else a

    def evaluate(
        self,
        n_episodes: int = 10,
        *,
        deterministic: bool = True,
        seed: int | None = None,
        env: gym.Env | None = None,
    ) -> dict:
        """Run ``n_episodes`` full episodes on a fresh env (normaliser frozen).

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
        seed = self.seed + 1_000_003 if seed is None else seed
        rng = np.random.default_rng(seed)
        returns, lengths = [], []
        with self._blas():
            self._run_episodes(env, n_episodes, seed, deterministic, rng, returns, lengths, own)
        return {
            "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)),
            "mean_length": float(np.mean(lengths)),
            "returns": returns,
            "lengths": lengths,
        }

    def _run_episodes(self, env, n_episodes, seed, deterministic, rng, returns, lengths, own):
        try:
            obs, _ = env.reset(seed=seed)
            for _ in range(n_episodes):
                total, steps, done = 0.0, 0, False
                while not done:
                    a = self.predict(obs, deterministic=deterministic, rng=rng)
                    obs, r, term, trunc, _ = env.step(a)
                    total += float(r)
                    steps += 1
                    done = bool(term or trunc)
                returns.append(total)
                lengths.append(steps)
                obs, _ = env.reset()
        finally:
            if own:
                env.close()

    # ------------------------------------------------------------------ persistence
    def save(self, path: str) -> None:
        """Write one pickle-free ``.npz`` checkpoint atomically (``persist.save_agent``): θ,
        value θ, normaliser statistics, unfinished episodes, every random state (including
        classic-control envs' own) and the counters, so that ``load`` + ``learn`` continues
        bit-identically."""
        save_agent(self, path)

    @classmethod
    def load(cls, path: str, env: str | gym.Env | gym.vector.VectorEnv | None = None, **kw) -> TRPO:
        """Rebuild an agent from ``save``'s checkpoint (never unpickles anything).

        ``env`` defaults to the saved id; ``log_dir`` may be given in ``kw``.
        """
        return load_agent(cls, path, env, **kw)
