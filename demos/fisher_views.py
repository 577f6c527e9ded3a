"""Three views of one Fisher matrix: exact JᵀMJ, E[score scoreᵀ], and the Hessian of the KL.

    python demos/fisher_views.py                    # writes demos/fisher_views.png
    python demos/fisher_views.py --policy gaussian --batch 16 --out /tmp/fv.png

For one small policy network at a random θ and one batch of N states s_n:

- exact:      F = (1/N) Σ_n J_nᵀ M_n J_n              ``policy.fisher_matrix``
- KL Hessian: H = ∇²_θ' D̄(θ, θ') at θ' = θ, by central second differences of
              D̄(θ, θ') = (1/N) Σ_n KL(π_θ(·|s_n) ‖ π_θ'(·|s_n))   ``policy.kl``
- empirical:  F̂_m = (1/(N m)) Σ_n Σ_{i≤m} ∇log π_θ(a_ni|s_n) ∇log π_θ(a_ni|s_n)ᵀ with
              m actions a_ni ~ π_θ(·|s_n) per state   ``policy.empirical_fisher``

It prints the KL's value, gradient and Hessian at θ' = θ — zero, zero (to finite-difference
precision) and F: the "KL to a detached copy is identically zero, so why differentiate it?"
answer in numbers — plots the three eigen-spectra on one axis, and shows ‖F̂_m − F‖/‖F‖
falling like 1/√m. A last curve draws the actions from a *different* policy θ' (stale data,
as when a batch is reused after an update): that empirical Fisher converges, but to the wrong
matrix — E[ssᵀ] is F only when the actions come from π_θ itself.

Where F is singular, and why (docs/theory.md § 4.4): a categorical policy's F always has a null
space, because softmax logits are shift-invariant — rank F = min(N(K−1), P − h − 1) with h the
width of the layer feeding the output (the default run: 38 of P = 45). A Gaussian policy's metric
diag(1/σ²) has full rank, so its F is singular only when the batch is too small:
rank F = min(N·d, P_net) + d, deficient when N·d < P_net (e.g. ``--policy gaussian --batch 8``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npytrpo import CategoricalPolicy, GaussianPolicy, Policy
from npytrpo.tools.scripting import figure_path, parse_dataclass_args


@dataclass
class Args:
    out: str = ""
    """figure path or directory (default: fisher_views.png next to this script)"""
    policy: str = "categorical"
    """"categorical" (3 actions) or "gaussian" (2 action dimensions)"""
    obs_dim: int = 3
    """observation size"""
    hidden: tuple[int, ...] = (6,)
    """tanh hidden layers of the policy network"""
    batch: int = 32
    """N, the states of the batch"""
    seed: int = 0
    """seeds θ, the states and the action samples"""
    fd_step: float = 1e-4
    """h of the central second differences"""
    samples: tuple[int, ...] = (1, 4, 16, 64, 256, 1024)
    """m, actions drawn per state for the empirical Fisher"""
    repeats: int = 4
    """independent draws of the empirical Fisher per m (mean and spread are plotted)"""
    stale_kl: float = 0.05
    """mean KL between π_θ and the policy that drew the stale actions"""
    plot: bool = True
    """write the figure (--no-plot to skip)"""


def parse_args(argv: list[str] | None = None) -> Args:
    """``Args`` from ``--field-name value`` flags (tuples comma-separated: ``--seeds 0,1``)."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


#: Central second differences of a smooth KL: truncation O(h²·‖∇⁴D̄‖) plus rounding
#: O(ε_mach/h²) — about 1e-8 relative at h = 1e-4 (measured: ~4e-8).
FD_REL_TOL = 1e-6
#: Draws per chunk of the empirical Fisher, bounding the (draws, d_out, P) Jacobian in memory.
CHUNK = 8192


def make_problem(args: Args) -> tuple[Policy, np.ndarray, np.ndarray, np.random.Generator]:
    """The policy, a θ away from the near-uniform init (so that F has structure), the states."""
    rng = np.random.default_rng(args.seed)
    if args.policy == "categorical":
        policy: Policy = CategoricalPolicy(args.obs_dim, 3, hidden=args.hidden)
    elif args.policy == "gaussian":
        policy = GaussianPolicy(args.obs_dim, 2, hidden=args.hidden, log_std_init=-0.5)
    else:
        raise ValueError(f"policy must be 'categorical' or 'gaussian', got {args.policy!r}")
    theta = policy.init(rng) + 0.5 * rng.standard_normal(policy.num_params)
    obs = rng.standard_normal((args.batch, args.obs_dim))
    return policy, theta, obs, rng


def fd_kl_derivatives(policy: Policy, theta: np.ndarray, obs: np.ndarray, h: float):
    """D̄(θ, θ), its gradient and its Hessian in θ' at θ' = θ, by central differences.

    gradient:  (D̄(θ + h e_i) − D̄(θ − h e_i)) / 2h
    Hessian:   diagonal (D̄(θ + h e_i) − 2D̄(θ) + D̄(θ − h e_i)) / h²;
               off-diagonal (D̄(+h e_i + h e_j) − D̄(+h e_i − h e_j) − D̄(−h e_i + h e_j)
               + D̄(−h e_i − h e_j)) / 4h²
    (P² evaluations of the mean KL: fine for the P ≈ 50 of this demo.)
    """

    def kl(t: np.ndarray) -> float:
        return policy.kl(theta, t, obs)

    P = theta.size
    E = h * np.eye(P)
    k0 = kl(theta)
    kp = np.array([kl(theta + E[i]) for i in range(P)])
    km = np.array([kl(theta - E[i]) for i in range(P)])
    grad = (kp - km) / (2.0 * h)
    H = np.diag((kp - 2.0 * k0 + km) / h**2)
    for i in range(P):
        for j in range(i):
            H[i, j] = H[j, i] = (
                kl(theta + E[i] + E[j])
                - kl(theta + E[i] - E[j])
                - kl(theta - E[i] + E[j])
                + kl(theta - E[i] - E[j])
            ) / (4.0 * h * h)
    return k0, grad, H


def empirical_fisher(policy, theta, obs, m: int, rng, sampler_theta=None) -> np.ndarray:
    """F̂_m with m actions per state drawn from π_{sampler_theta} (default: π_θ itself); the
    scores are always those of π_θ. Accumulated in chunks of at most CHUNK draws."""
    src = theta if sampler_theta is None else sampler_theta
    states = np.repeat(obs, m, axis=0)
    F = np.zeros((policy.num_params, policy.num_params))
    for start in range(0, len(states), CHUNK):
        o = states[start : start + CHUNK]
        a = policy.sample(src, o, rng)
        F += policy.empirical_fisher(theta, o, a) * len(o)
    return F / len(states)


def stale_theta(policy, theta, obs, kl_target: float, rng) -> np.ndarray:
    """θ' = θ + t·u (u random) with D̄(θ, θ') = kl_target, t found by bisection."""
    u = rng.standard_normal(theta.size)
    lo, hi = 0.0, 1.0
    while policy.kl(theta, theta + hi * u, obs) < kl_target:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if policy.kl(theta, theta + mid * u, obs) < kl_target else (lo, mid)
    return theta + hi * u


def run(args: Args, *, verbose: bool = True) -> dict:
    """All three views and the convergence study; returns spectra and errors."""
    say = print if verbose else (lambda *a, **k: None)
    policy, theta, obs, rng = make_problem(args)
    P = policy.num_params
    F = policy.fisher_matrix(theta, obs)
    norm_F = np.linalg.norm(F)
    arch = f"obs {args.obs_dim} → hidden {args.hidden} → head"
    say(f"{args.policy} policy, {arch}, P = {P}; a batch of N = {args.batch} states")

    k0, grad, H = fd_kl_derivatives(policy, theta, obs, args.fd_step)
    fd_err = float(np.linalg.norm(H - F) / norm_F)
    say("\nThe mean KL to a frozen copy of θ, D̄(θ, θ') at θ' = θ:")
    say(f"  value               D̄(θ, θ)          = {k0:.1e}")
    say(f"  gradient (FD)       max |∇D̄|         = {np.abs(grad).max():.1e}")
    say(f"  Hessian (FD) vs F   ‖H − F‖ / ‖F‖    = {fd_err:.1e}   (h = {args.fd_step:g})")

    ms = np.array(args.samples)
    fresh = np.empty((len(ms), args.repeats))
    stale = np.empty((len(ms), args.repeats))
    theta_stale = stale_theta(policy, theta, obs, args.stale_kl, rng)
    for i, m in enumerate(ms):
        for r in range(args.repeats):
            Fe = empirical_fisher(policy, theta, obs, int(m), rng)
            fresh[i, r] = np.linalg.norm(Fe - F) / norm_F
            Fs = empirical_fisher(policy, theta, obs, int(m), rng, sampler_theta=theta_stale)
            stale[i, r] = np.linalg.norm(Fs - F) / norm_F
    say(f"\nEmpirical Fisher, ‖F̂_m − F‖/‖F‖ (mean of {args.repeats} draws):")
    say(
        f"  {'m per state':>11} {'N·m':>8} {'a ~ π_θ':>10} {'√m·error':>9} {'a ~ π_θ′ (stale)':>17}"
    )
    for i, m in enumerate(ms):
        e = fresh[i].mean()
        say(
            f"  {m:11d} {m * args.batch:8d} {e:10.4f} {e * np.sqrt(m):9.3f} {stale[i].mean():17.4f}"
        )
    say(f"  (π_θ′ is at mean KL {args.stale_kl:g} from π_θ: its error stops falling)")

    spectra = {
        "exact F": np.linalg.eigvalsh(F)[::-1],
        "FD KL Hessian": np.linalg.eigvalsh(0.5 * (H + H.T))[::-1],
        f"empirical, m = {ms[0]}": np.linalg.eigvalsh(
            empirical_fisher(policy, theta, obs, int(ms[0]), rng)
        )[::-1],
        f"empirical, m = {ms[-1]}": np.linalg.eigvalsh(
            empirical_fisher(policy, theta, obs, int(ms[-1]), rng)
        )[::-1],
    }
    rank = int(np.sum(spectra["exact F"] > 1e-12 * spectra["exact F"][0]))
    name = f"empirical, m = {ms[0]}"
    rank_e = int(np.sum(spectra[name] > 1e-12 * spectra[name][0]))
    say(f"\nrank F = {rank} of P = {P} (the rest is F's null space);")
    say(f"rank of the {name} Fisher = {rank_e} (≤ N·m = {ms[0] * args.batch}: one score per draw)")
    return {
        "P": P,
        "F": F,
        "H": H,
        "kl0": k0,
        "kl_grad": grad,
        "fd_err": fd_err,
        "ms": ms,
        "fresh": fresh,
        "stale": stale,
        "spectra": spectra,
        "rank": rank,
        "batch": args.batch,
    }


def plot(result: dict, path: str) -> None:
    """Eigen-spectra on one axis; empirical-Fisher error against samples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    floor = 1e-18
    styles = [("k", "-", "o", 5), ("C3", "--", "x", 6), ("C1", ":", ".", 4), ("C0", ":", ".", 4)]
    for (name, ev), (c, ls, mk, ms) in zip(result["spectra"].items(), styles, strict=True):
        ax1.semilogy(np.maximum(np.abs(ev), floor), color=c, ls=ls, marker=mk, ms=ms, label=name)
    ax1.axvline(result["rank"] - 0.5, color="grey", lw=0.8)
    ax1.text(result["rank"], 1e-3, " null space of F", color="grey", fontsize=8)
    ax1.set(
        xlabel="index (by decreasing eigenvalue)",
        ylabel="|eigenvalue|",
        title=f"eigen-spectra, P = {result['P']} (FD: ‖H − F‖/‖F‖ = {result['fd_err']:.0e})",
        ylim=(floor / 10, None),
    )
    ax1.legend(fontsize=8)

    n = result["ms"] * result["batch"]
    for key, c, label in (("fresh", "C0", "a ~ π_θ"), ("stale", "C3", "a ~ π_θ′ (stale)")):
        e = result[key]
        ax2.errorbar(n, e.mean(axis=1), yerr=e.std(axis=1), color=c, marker="o", label=label)
    e0 = result["fresh"][0].mean()
    ax2.loglog(n, e0 * np.sqrt(n[0] / n), "k--", lw=0.8, label="∝ 1/√(samples)")
    ax2.set(
        xscale="log",
        yscale="log",
        xlabel="samples N·m",
        ylabel="‖F̂ − F‖ / ‖F‖",
        title="empirical Fisher → exact Fisher",
    )
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    result = run(args)
    if args.plot:
        path = figure_path(args.out, "fisher_views.png", __file__)
        plot(result, path)
        print(f"figure: {path}")
    return result


if __name__ == "__main__":
    main()
