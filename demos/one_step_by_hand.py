"""One TRPO step by hand on a small CartPole batch, every intermediate printed, then checked
bit for bit against ``trpo_step``.

    python demos/one_step_by_hand.py
    python demos/one_step_by_hand.py --delta 0.5 --damping 0.001 --seed 3

The chain of docs/theory.md, with public functions only:

    collect → GAE → standardise Â → linearise π at θ_old (g, v ↦ F·v, trial evaluation)
    → x ≈ F_ω⁻¹g by CG → β = √(2δ / xᵀF_ωx) → line search θ_old + τʲβx

Every printed line starts with the section of docs/theory.md that states its equation; § 16
there ("A worked step") walks through this output. The last lines compare g, x, β, the full
step and θ_new with ``trpo_step(policy, θ_old, obs, actions, Â, config)`` on the same batch
(exit status 1 if any bit differs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from npytrpo import (
    CategoricalPolicy,
    TRPOConfig,
    ValueFunction,
    acceptance_tests,
    backtracking_line_search,
    conjugate_gradient,
    gae,
    make_acceptance_rule,
    standardize_advantages,
    trpo_step,
)
from npytrpo.rollout import EpisodeTracker, collect, make_vector_env
from npytrpo.tools.scripting import parse_dataclass_args


@dataclass
class Args:
    seed: int = 0
    """seeds θ, φ, the action sampling and the environments"""
    n_envs: int = 2
    """CartPole sub-environments"""
    n_steps: int = 64
    """steps per sub-environment: the batch has N = n_envs·n_steps transitions"""
    hidden: tuple[int, ...] = (16, 16)
    """tanh hidden layers of the policy and of the value network"""
    gamma: float = 0.99
    """discount γ"""
    gae_lambda: float = 0.97
    """GAE's λ"""
    delta: float | None = None
    """trust-region radius δ (None: TRPOConfig's default)"""
    damping: float | None = None
    """damping ω of F_ω = F + ωI (None: TRPOConfig's default)"""


args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
threadpool_limits(limits=1, user_api="blas")  # as the agent runs: one BLAS thread
chosen = {"delta": args.delta, "damping": args.damping}
cfg = TRPOConfig(normalize_advantages=True, **{k: v for k, v in chosen.items() if v is not None})
delta, omega, tau = cfg.delta, cfg.damping, cfg.backtrack_coeff
np.set_printoptions(precision=4, suppress=False, linewidth=100)


def show(section: str, text: str) -> None:
    print(f"{section:<7s} {text}")


show("config", f"δ = {delta}, ω = {omega}, CG ≤ {cfg.cg_iters} iterations (rᵀr < {cfg.cg_tol}), "
     f"τ = {tau}, {cfg.max_backtracks} trials, accept = {cfg.accept!r}")  # fmt: skip

# ---------------------------------------------------------------- 1. the batch
env = make_vector_env("CartPole-v1", args.n_envs)
policy = CategoricalPolicy(4, 2, args.hidden)
vf = ValueFunction(4, args.hidden)
seed_theta, seed_phi, seed_actions, seed_env = np.random.SeedSequence(args.seed).spawn(4)
theta_old = policy.init(np.random.default_rng(seed_theta))
phi = vf.init(np.random.default_rng(seed_phi))
obs0, _ = env.reset(seed=int(seed_env.generate_state(1)[0] % 2**31))
ro, _, _ = collect(env, policy, theta_old, obs0, args.n_steps, np.random.default_rng(seed_actions),
                   tracker=EpisodeTracker(args.n_envs))  # fmt: skip
T, E = ro.n_steps, ro.n_envs
N = T * E
show("§ 9.3", f"rollout: obs {ro.obs.shape}, actions {ro.actions.shape}, rewards {ro.rewards.shape}"
     f" = (T, n_envs, ...); {int(ro.terminated.sum())} terminated, "
     f"{int(ro.truncated.sum())} truncated; N = {N}")  # fmt: skip
show("", f"P = {policy.num_params} parameters in θ (4 → {args.hidden} → 2 logits)")

# ---------------------------------------------------------------- 2. advantages
V = vf.predict(phi, ro.obs.reshape(N, 4)).reshape(T, E)  # V(s_t), untrained φ
V_next = np.empty_like(V)
V_next[:-1] = V[1:]
fresh = ro.terminated | ro.truncated
fresh[-1] = True  # the episode's real final observation, or where the rollout stopped
V_next[fresh] = vf.predict(phi, ro.next_obs[fresh])
xi = ro.rewards + args.gamma * np.where(ro.terminated, 0.0, V_next) - V  # TD residual
adv, targets = gae(ro.rewards, V, V_next, ro.terminated, ro.truncated,
                   gamma=args.gamma, lam=args.gae_lambda)  # fmt: skip
show("§ 9.3", f"ξ_t = r_t + γ(1 − term_t)V(s_t+1) − V(s_t), env 0, t = 0..3: {xi[:4, 0]}")
show("§ 9.3", f"Â_t = ξ_t + γλ(1 − done_t)Â_t+1,          env 0, t = 0..3: {adv[:4, 0]}")
show("", f"Â over the batch: mean {adv.mean():.4f}, std {adv.std():.4f}; targets y = Â + V")
obs = ro.obs.reshape(N, 4)
actions = ro.actions.reshape(N)
adv_std = standardize_advantages(adv.reshape(N))
show("§ 14", f"standardised Â: mean {adv_std.mean():.1e}, std {adv_std.std():.15f}")

# ---------------------------------------------------------------- 3. g, and v ↦ F·v
lin = policy.linearize(theta_old, obs, actions, adv_std, kl_direction=cfg.kl_direction,
                       entropy_coef=cfg.entropy_coef, fvp_subsample=cfg.fvp_subsample)  # fmt: skip
g = lin.g
g_check = policy.surrogate_grad(theta_old, obs, actions, adv_std)
show("§ 2", f"L(θ_old) = mean Â = {lin.objective_old:.3e} (every ratio Rₙ is 1); "
     f"H̄(θ_old) = {lin.entropy:.6f} (ln 2 = {np.log(2):.6f})")  # fmt: skip
show("§ 3", f"g = (1/N) Σ Âₙ Jₙᵀ ∂log π/∂oₙ: ‖g‖ = {np.linalg.norm(g):.6e}; "
     f"max |g − Policy.surrogate_grad| = {np.abs(g - g_check).max():.1e}")  # fmt: skip


def A(v: np.ndarray) -> np.ndarray:
    """F_ω v = F v + ω v: one JVP, the head's metric, one VJP, plus the damping."""
    return lin.fisher(v) + omega * v


Fg = lin.fisher(g)
show("§ 4.2", f"F g = (1/N) Σ Jₙᵀ Mₙ Jₙ g: gᵀF g = {g @ Fg:.6e} ≥ 0 (F is PSD), "
     f"‖F g‖ = {np.linalg.norm(Fg):.6e}")  # fmt: skip

# ---------------------------------------------------------------- 4. CG
iterates: list[np.ndarray] = []
cg = conjugate_gradient(A, g, maxiter=cfg.cg_iters, tol=cfg.cg_tol,
                        callback=lambda xk: iterates.append(xk.copy()))  # fmt: skip
show("§ 7.1", "CG on F_ω x = g from x₀ = 0:   k   ‖g − F_ω xₖ‖     gᵀxₖ           xₖᵀF_ωxₖ")
for k, xk in enumerate(iterates, 1):
    Axk = A(xk)  # extra products, for the table only (CG's own arithmetic is untouched)
    show("", f"{'':30s}{k:2d}   {np.linalg.norm(g - Axk):.3e}    {g @ xk:.9e}  {xk @ Axk:.9e}")
show("", f"{cg.message}; {cg.nmatvec} products F·v")
x = cg.x

# ---------------------------------------------------------------- 5. β and the full step
xAx = float(x @ A(x))
beta = float(np.sqrt(2.0 * delta / xAx))
full_step = beta * x
expected = float(g @ full_step)
show("§ 6", f"xᵀF_ωx = {xAx:.9e}; β = √(2δ / xᵀF_ωx) = {beta:.9f}")
show("", f"½ β² xᵀF_ωx = {0.5 * beta**2 * xAx:.6g} = δ (the quadratic KL model of βx); "
     f"expected gain gᵀ(βx) = {expected:.6e}")  # fmt: skip

# ---------------------------------------------------------------- 6. the line search
rule = make_acceptance_rule(cfg.accept, delta=delta, expected_improvement=expected)
ls = backtracking_line_search(lin.evaluate, full_step, accept=rule, coeff=tau,
                              max_backtracks=cfg.max_backtracks)  # fmt: skip
show("§ 8", "trial j: θ_j = θ_old + τʲβx;  D̄(θ_j) and L(θ_j) − L(θ_old) from one forward pass")
for j, (f, kl, gain) in enumerate(zip(ls.fractions, ls.kl, ls.improvement, strict=True)):
    tests = acceptance_tests(cfg.accept, delta=delta, fraction=float(f), kl=float(kl),
                             improvement=float(gain), expected_improvement=expected)  # fmt: skip
    verdict = ", ".join(
        f"{t.quantity} {t.op} {t.threshold:g} {'✓' if t.passed else '✗'}" for t in tests
    )
    show("", f"  j = {j}: τʲ = {f:<8g} D̄ = {kl:.6e}  gain = {gain:+.6e}   {verdict}")
show("", ls.message)
theta_new = theta_old + ls.step if ls.success else theta_old.copy()

# ---------------------------------------------------------------- 7. the same step, by trpo_step
res = trpo_step(policy, theta_old, obs, actions, adv.reshape(N), cfg)  # raw Â: it standardises
same = {
    "g": np.array_equal(res.g, g),
    "x": np.array_equal(res.x, x),
    "β": res.step_size == beta,
    "βx": np.array_equal(res.full_step, full_step),
    "θ_new": np.array_equal(res.theta_new, theta_new),
}
show("check", f"trpo_step: {res.message}; KL {res.kl:.6e}, gain {res.improvement:+.6e}")
show("", "bit-identical to the hand-written step: "
     + ", ".join(f"{k} {'✓' if v else '✗'}" for k, v in same.items()))  # fmt: skip
env.close()
if not all(same.values()):
    raise SystemExit("the hand-written step differs from trpo_step")
