"""The agent's hyperparameters (``AgentConfig``), its whole mutable state (``AgentState``), and
the functions that build an agent's parts from them (env, policy, initial state).

``AgentConfig`` nests the step's ``TRPOConfig`` and states every agent default once; the
``TRPO`` constructor takes any field of either by name (``TRPO("CartPole-v1", delta=0.02)``)
and a checkpoint stores ``as_options()``. ``AgentState`` is everything that changes while
learning — parameters, random generators, normaliser statistics, unfinished episodes, the
vector env's last observations and counters — so that saving and loading an agent are two
functions of it (``io/persist.py``) and nothing reaches into the agent.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from ._validate import boolean, choice, int_sequence, integer, real_number, reject_unknown
from .config import TRPOConfig
from .gsde import KL_REDUCTIONS, GSDEHead
from .normalize import ObservationNormalizer, RewardScaler
from .optim import AdamState
from .policies import CategoricalPolicy, GaussianPolicy, Policy
from .ppo_config import PPOConfig
from .rollout import EpisodeTracker, make_vector_env
from .value_adam import VF_OPTIMIZERS
from .vecenv import SameStepSyncVectorEnv
from .workers import make_worker_env

__all__ = [
    "AgentConfig",
    "AgentState",
    "UPDATES",
    "POLICIES",
    "make_env",
    "make_policy",
    "initial_state",
]

#: Policy-update rules: TRPO, natural gradient without line search, vanilla gradient ascent,
#: and PPO's clipped and adaptive-KL rules (``ppo.py``).
UPDATES = ("trpo", "npg", "vpg", "ppo", "ppo_kl")
#: Options that both the TRPO step and the PPO update have: given by name, they set both.
SHARED_OPTIONS = ("normalize_advantages", "entropy_coef", "kl_direction")
#: Policy heads the agent picks from the action space (``"auto"``) or by name.
POLICIES = ("auto", "categorical", "gaussian")
#: How an env id is vectorised (``make_vector_env``, ``workers.make_worker_env``).
VECTORIZATIONS = ("sync", "async", "workers")


def _agent_step_default() -> TRPOConfig:
    # The agent standardises advantages by default (rl-zoo, sb3-contrib); the bare step does not.
    return TRPOConfig(normalize_advantages=True)


@dataclass(frozen=True)
class AgentConfig:
    """Hyperparameters of the ``TRPO`` agent, validated on construction.

    Attributes
    ----------
    policy : {"auto", "categorical", "gaussian"}, default "auto"
        ``"auto"``: Discrete actions → categorical, Box → diagonal Gaussian.
    hidden, value_hidden : tuple of int, default (64, 64)
        Tanh MLP layers of the policy and of the value function; ``()`` is linear.
    n_envs : int ≥ 1, default 2
        Sub-environments (a given vector env brings its own number).
    n_steps : int ≥ 1, default 1024
        Steps per sub-env per iteration; a batch has N = n_envs·n_steps transitions.
    gamma, gae_lambda : float in [0, 1], default 0.99, 0.97
        Discount γ and GAE's λ.
    normalize_obs : bool, default False
        Running mean/std observation normalisation (frozen during each rollout and evaluation).
    normalize_reward : bool, default False
        Scale rewards by the std of the running discounted return.
    vf_iters : int ≥ 1, default 25
        L-BFGS-B iterations of the value fit per iteration.
    vf_l2 : float ≥ 0, default 1e-3
        L2 penalty of the value fit.
    vf_ftol : float in (0, 1) or None, default None
        L-BFGS-B's relative-decrease stopping rule: the fit stops before ``vf_iters`` once an
        iteration lowers the loss by (L_k − L_{k+1}) / max(|L_k|, |L_{k+1}|, 1) ≤ vf_ftol. None
        is SciPy's default (≈ 2.2e-9, which in practice does not stop the presets' fits early).
    vf_optimizer : {"lbfgs", "adam", "varpro"}, default "lbfgs"
        The value fit: ``vf_iters`` L-BFGS-B iterations on the whole batch
        (``ValueFunction.fit``); the same on the layers below the output layer, which is solved
        in closed form at every evaluation (variable projection, ``value_varpro.fit_varpro``);
        or sb3-contrib's critic, ``vf_epochs`` epochs of Adam steps on
        shuffled minibatches of ``vf_batch_size`` rows at step size ``vf_lr``, its moments
        carried across iterations (``value_adam.fit_adam``).
    vf_epochs, vf_batch_size : int ≥ 1, defaults 20 and 128
        With ``vf_optimizer="adam"``: epochs per iteration (sb3-contrib's ``n_critic_updates``)
        and minibatch rows (its ``batch_size``).
    vf_lr : float > 0, default 1e-3
        With ``vf_optimizer="adam"``: Adam's step size (sb3-contrib's ``learning_rate``).
    vf_eps : float > 0, default 1e-8
        With ``vf_optimizer="adam"``: Adam's ε in α·m̂/(√v̂ + ε). sb3-contrib's critic uses
        1e-5 on the gradient of the mean squared error; our loss is half of it, so its
        gradient is half as large and the same steps take ε = 5e-6.
    log_std_init : float, default 0.0
        Initial log-std of a Gaussian policy.
    kl_reduction : {"sum", "mean"}, default "sum"
        Box actions: the KL between two Gaussian (or gSDE) policies at a state is the sum of
        the per-dimension KLs (the KL of the joint distribution), or their mean, as
        sb3-contrib's TRPO computes it (``kl_divergence(...).mean()`` over states *and* action
        dimensions). "mean" divides the KL, and so F, by act_dim: with δ and damping ω it takes
        the step that "sum" takes with δ·act_dim and ω·act_dim (``GaussianHead``). No effect
        on a categorical policy (one distribution per state, in sb3-contrib too).
    obs_clip : float > 0, default 10.0
        Clip of normalised observations.
    vectorization : {"sync", "async", "workers"}, default "sync"
        How an env id is vectorised: "sync" steps the sub-envs in this process, "async" each in
        a worker process (one round trip per step), "workers" each in a worker process that also
        runs π_θ, one round trip per rollout (``workers``; deterministic, but its actions are
        drawn per sub-env, so its results differ from "sync").
    update : {"trpo", "npg", "vpg", "ppo", "ppo_kl"}, default "trpo"
        The policy update: ``trpo_step``, ``npg_step`` (βx, no line search), ``vpg_step``
        (θ ← θ + pg_lr·g, for the step-size study), ``ppo_clip_update`` or ``ppo_kl_update``.
    pg_lr : float > 0, default 0.01
        Step size of ``update="vpg"``.
    blas_threads : int ≥ 1 or None, default 1
        BLAS threads while learning/evaluating (None leaves BLAS alone); see ``TRPO``.
    tune_malloc : bool, default True
        Keep freed memory in the C heap (``memory.keep_freed_memory``); see ``TRPO``.
    parallel_value_fit : bool, default True
        Fit the value function in a helper process (``fitproc.FitProcess``) while the policy
        step and the next rollout run; the same bits as fitting in turn (False).
    use_sde : bool, default False
        Box actions: generalized state-dependent exploration (``gsde.GSDEHead``, Raffin et al.
        2021) instead of the state-independent diagonal Gaussian.
    sde_sample_freq : int, default -1
        With ``use_sde``: redraw the exploration matrix every this many steps (−1: once per
        rollout), as SB3 spells it.
    step : TRPOConfig, default ``TRPOConfig(normalize_advantages=True)``
        The trust-region step's options.
    ppo : PPOConfig, default ``PPOConfig()``
        The PPO updates' options (``update="ppo"`` or ``"ppo_kl"``). The options both rules
        have (``SHARED_OPTIONS``) must agree between ``step`` and ``ppo``; given by name they
        set both.
    """

    policy: str = "auto"
    hidden: tuple[int, ...] = (64, 64)
    value_hidden: tuple[int, ...] = (64, 64)
    n_envs: int = 2
    n_steps: int = 1024
    gamma: float = 0.99
    gae_lambda: float = 0.97
    normalize_obs: bool = False
    normalize_reward: bool = False
    vf_iters: int = 25
    vf_l2: float = 1e-3
    vf_ftol: float | None = None
    vf_optimizer: str = "lbfgs"
    vf_epochs: int = 20
    vf_batch_size: int = 128
    vf_lr: float = 1e-3
    vf_eps: float = 1e-8
    log_std_init: float = 0.0
    kl_reduction: str = "sum"
    obs_clip: float = 10.0
    vectorization: str = "sync"
    update: str = "trpo"
    pg_lr: float = 0.01
    blas_threads: int | None = 1
    tune_malloc: bool = True
    parallel_value_fit: bool = True
    use_sde: bool = False
    sde_sample_freq: int = -1
    step: TRPOConfig = field(default_factory=_agent_step_default)
    ppo: PPOConfig = field(default_factory=PPOConfig)

    def __post_init__(self) -> None:
        checked = {
            "policy": choice(self.policy, "policy", POLICIES),
            "hidden": int_sequence(self.hidden, "hidden"),
            "value_hidden": int_sequence(self.value_hidden, "value_hidden"),
            "n_envs": integer(self.n_envs, "n_envs", low=1),
            "n_steps": integer(self.n_steps, "n_steps", low=1),
            "gamma": real_number(self.gamma, "gamma", low=0.0, high=1.0),
            "gae_lambda": real_number(self.gae_lambda, "gae_lambda", low=0.0, high=1.0),
            "normalize_obs": boolean(self.normalize_obs, "normalize_obs"),
            "normalize_reward": boolean(self.normalize_reward, "normalize_reward"),
            "vf_iters": integer(self.vf_iters, "vf_iters", low=1),
            "vf_l2": real_number(self.vf_l2, "vf_l2", low=0.0),
            "vf_ftol": None
            if self.vf_ftol is None
            else real_number(
                self.vf_ftol, "vf_ftol", low=0.0, high=1.0, low_open=True, high_open=True
            ),
            "vf_optimizer": choice(self.vf_optimizer, "vf_optimizer", VF_OPTIMIZERS),
            "vf_epochs": integer(self.vf_epochs, "vf_epochs", low=1),
            "vf_batch_size": integer(self.vf_batch_size, "vf_batch_size", low=1),
            "vf_lr": real_number(self.vf_lr, "vf_lr", low=0.0, low_open=True),
            "vf_eps": real_number(self.vf_eps, "vf_eps", low=0.0, low_open=True),
            "log_std_init": real_number(self.log_std_init, "log_std_init"),
            "kl_reduction": choice(self.kl_reduction, "kl_reduction", KL_REDUCTIONS),
            "obs_clip": real_number(self.obs_clip, "obs_clip", low=0.0, low_open=True),
            "vectorization": choice(self.vectorization, "vectorization", VECTORIZATIONS),
            "update": choice(self.update, "update", UPDATES),
            "pg_lr": real_number(self.pg_lr, "pg_lr", low=0.0, low_open=True),
            "blas_threads": None
            if self.blas_threads is None
            else integer(self.blas_threads, "blas_threads", low=1),
            "tune_malloc": boolean(self.tune_malloc, "tune_malloc"),
            "parallel_value_fit": boolean(self.parallel_value_fit, "parallel_value_fit"),
            "use_sde": boolean(self.use_sde, "use_sde"),
            "sde_sample_freq": integer(self.sde_sample_freq, "sde_sample_freq", low=-1),
        }
        if checked["sde_sample_freq"] == 0:
            raise ValueError("sde_sample_freq must be -1 or >= 1, got 0")
        if not isinstance(self.step, TRPOConfig):
            raise TypeError(f"step must be a TRPOConfig, got {type(self.step).__name__}")
        if not isinstance(self.ppo, PPOConfig):
            raise TypeError(f"ppo must be a PPOConfig, got {type(self.ppo).__name__}")
        for name in SHARED_OPTIONS:
            if getattr(self.step, name) != getattr(self.ppo, name):
                raise ValueError(
                    f"{name} must be the same in step and ppo, got {getattr(self.step, name)!r} "
                    f"and {getattr(self.ppo, name)!r}"
                )
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_options(
        cls, config: AgentConfig | None = None, owner: str = "AgentConfig", **options: Any
    ) -> AgentConfig:
        """``config`` (default ``AgentConfig()``) with ``options`` replaced, where an option is
        any field of ``AgentConfig`` or of its ``TRPOConfig`` step (flat, by name)."""
        if config is None:
            config = cls()
        elif not isinstance(config, cls):
            raise TypeError(f"config must be an {cls.__name__}, got {type(config).__name__}")
        step_names = TRPOConfig.field_names()
        ppo_names = [f.name for f in dataclasses.fields(PPOConfig)]
        own_names = [f.name for f in dataclasses.fields(cls)]
        reject_unknown(options, [*own_names, *step_names, *ppo_names], owner)
        own = {k: v for k, v in options.items() if k in own_names}
        step = {k: v for k, v in options.items() if k in step_names}
        ppo = {k: v for k, v in options.items() if k in ppo_names}
        if step:
            own["step"] = TRPOConfig.from_options(own.get("step", config.step), owner, **step)
        if ppo:
            own["ppo"] = dataclasses.replace(own.get("ppo", config.ppo), **ppo)
        return dataclasses.replace(config, **own) if own else config

    def as_options(self) -> dict[str, Any]:
        """Every option flat and JSON-ready (tuples as lists): ``from_options(**as_options())``
        rebuilds this config."""
        nested = ("step", "ppo")
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in nested
        }
        out["hidden"], out["value_hidden"] = list(self.hidden), list(self.value_hidden)
        out.update(dataclasses.asdict(self.ppo))  # the shared options agree with the step's
        out.update(dataclasses.asdict(self.step))
        return out


@dataclass
class AgentState:
    """Everything a ``TRPO`` agent changes while learning (what a checkpoint holds).

    Attributes
    ----------
    theta : ndarray of shape (P,)
        Policy parameters.
    value_theta : ndarray of shape (P_v,)
        Value-function parameters.
    rng : numpy.random.Generator
        Action sampling.
    env_seed : int
        The seed of the vector env's first reset.
    last_obs : ndarray of shape (n_envs, obs_dim)
        Raw observations the next rollout acts on first.
    autoreset_pending : bool ndarray of shape (n_envs,)
        NEXT_STEP vector envs: sub-envs whose next step is a reset.
    tracker : rollout.EpisodeTracker
        Return and length of each sub-env's unfinished episode.
    obs_normalizer : ObservationNormalizer or None
    reward_scaler : RewardScaler or None
    num_timesteps, num_episodes, iteration : int
        Counters.
    ppo_adam : optim.AdamState or None
        The PPO updates' Adam moments (None until the first PPO update).
    ppo_beta : float or None
        PPO-KL's adaptive penalty β for the next update (None: ``ppo.beta_init``).
    value_adam : optim.AdamState or None
        The Adam value fit's moments (``vf_optimizer="adam"``; None until its first fit).
    """

    theta: np.ndarray
    value_theta: np.ndarray
    rng: np.random.Generator
    env_seed: int
    last_obs: np.ndarray
    autoreset_pending: np.ndarray
    tracker: Any
    obs_normalizer: ObservationNormalizer | None = None
    reward_scaler: RewardScaler | None = None
    num_timesteps: int = 0
    num_episodes: int = 0
    iteration: int = 0
    ppo_adam: AdamState | None = None
    ppo_beta: float | None = None
    value_adam: AdamState | None = None


# ---------------------------------------------------------------------- building the parts
def check_seed(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return integer(seed, "seed", low=0)


def check_log_dir(log_dir: Any) -> str | None:
    if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
        raise TypeError(f"log_dir must be a path (str or os.PathLike) or None, got {log_dir!r}")
    return None if log_dir is None else os.fspath(log_dir)


def make_env(env, n_envs: int, vectorization: str):
    if isinstance(env, str):
        try:
            gym.spec(env)
        except gym.error.Error as exc:
            raise ValueError(f"env: unknown environment id {env!r} ({exc})") from None
        if vectorization == "workers":
            return make_worker_env(env, n_envs), env
        return make_vector_env(env, n_envs, vectorization=vectorization), env
    if isinstance(env, gym.vector.VectorEnv):
        spec = getattr(env, "spec", None)
        return env, getattr(spec, "id", None)
    if isinstance(env, gym.Env):
        vec = SameStepSyncVectorEnv(
            [lambda: env], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
        spec = getattr(env, "spec", None)
        return vec, getattr(spec, "id", None)
    raise TypeError(f"env must be an id, a gymnasium Env or VectorEnv, got {type(env).__name__}")


def obs_dim_of(obs_space) -> int:
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(
            f"env observation space must be a 1-D Box, got {obs_space}; "
            "flatten or one-hot it with a gymnasium wrapper first"
        )
    return int(obs_space.shape[0])


def make_policy(cfg: AgentConfig, obs_dim: int, act_space) -> Policy:
    kind = cfg.policy
    if isinstance(act_space, gym.spaces.Discrete) and kind in ("auto", "categorical"):
        return CategoricalPolicy(obs_dim, int(act_space.n), cfg.hidden)
    box = isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1
    if box and kind != "categorical" and cfg.use_sde:
        n_features = cfg.hidden[-1] if cfg.hidden else obs_dim
        head = GSDEHead(
            n_features,
            int(act_space.shape[0]),
            log_std_init=cfg.log_std_init,
            kl_reduction=cfg.kl_reduction,
        )
        return Policy(obs_dim, head, cfg.hidden)
    if box and kind != "categorical":
        return GaussianPolicy(
            obs_dim,
            int(act_space.shape[0]),
            cfg.hidden,
            log_std_init=cfg.log_std_init,
            kl_reduction=cfg.kl_reduction,
        )
    raise ValueError(
        f"env action space {act_space} is not supported with policy={kind!r}: "
        "use Discrete (categorical) or a 1-D Box (gaussian)"
    )


def initial_state(seed: int, cfg: AgentConfig, policy: Policy, value, env) -> AgentState:
    """Fresh parameters, generators and normalisers from one seed, and the env's first reset."""
    s_pi, s_v, s_act, s_env = np.random.SeedSequence(seed).spawn(4)
    theta = policy.init(np.random.default_rng(s_pi))
    value_theta = value.init(np.random.default_rng(s_v))
    env_seed = int(s_env.generate_state(1)[0] % (2**31))
    obs_dim, n_envs = policy.obs_dim, env.num_envs
    last_obs, _ = env.reset(seed=env_seed)
    return AgentState(
        theta=theta,
        value_theta=value_theta,
        rng=np.random.default_rng(s_act),
        env_seed=env_seed,
        last_obs=last_obs,
        autoreset_pending=np.zeros(n_envs, dtype=bool),
        tracker=EpisodeTracker(n_envs),
        obs_normalizer=ObservationNormalizer((obs_dim,), clip=cfg.obs_clip)
        if cfg.normalize_obs
        else None,
        reward_scaler=RewardScaler(n_envs, gamma=cfg.gamma) if cfg.normalize_reward else None,
    )
