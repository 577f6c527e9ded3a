"""Exact TRPO on a small MDP: J never decreases, and the monotonic-improvement bound holds.

    python demos/tabular_monotonic.py                   # writes demos/tabular_monotonic.png
    python demos/tabular_monotonic.py --iters 10 --lrs 1,100 --out /tmp/fig.png

Nothing here is sampled. A fixed random MDP (a "Garnet": S states, A actions, each (s, a) leads
to ``branching`` random successors) is solved exactly by linear algebra for every policy:

    V_π = (I − γ P_π)⁻¹ r_π,   Q_π = R + γ P V_π,   A_π = Q_π − V_π,   J(π) = μ₀ᵀ V_π,
    ρ_π = (I − γ P_πᵀ)⁻¹ μ₀    (discounted state visitation, sums to 1/(1−γ)),  d_π = (1−γ) ρ_π.

The policy is the library's linear softmax, ``CategoricalPolicy(S, A, hidden=())`` on one-hot
states: logits(s) = W[s] + b. Every TRPO quantity is then computed exactly with library calls:

- surrogate  L_π(π̃) − J(π) = Σ_s ρ_π(s) Σ_a π̃(a|s) A_π(s, a): ``policy.surrogate`` on the
  "batch" of all (s, a) pairs with advantages N·ρ_π(s)π(a|s)A_π(s, a) (N = S·A pairs), which
  turns the library's batch mean into the exact expectation; its gradient (the exact policy
  gradient ∇J) is ``policy.surrogate_grad`` on the same batch;
- mean KL  D̄(π, π̃) = Σ_s d_π(s) KL(π(·|s) ‖ π̃(·|s)) with ``CategoricalHead.kl``;
- Fisher  F = Σ_s d_π(s) F_s, F_s = ``policy.fisher_matrix`` at the single state s (= ∇²D̄);
- step  x* = √(2δ / gᵀF⁺g) F⁺g (``dense_natural_step``, undamped), then the line search
  (``backtracking_line_search`` with the default rule: D̄ ≤ δ and L improves).

It prints, for every TRPO iteration, the actual improvement J(π̃) − J(π) next to two lower
bounds on it, which must hold:

- Schulman et al. 2015, Theorem 1, in its KL form (D_TV² ≤ D_KL):
  J(π̃) − J(π) ≥ [L_π(π̃) − J(π)] − C · max_s KL(π(·|s) ‖ π̃(·|s)),  C = 4εγ/(1−γ)²,
  ε = max_{s,a} |A_π(s, a)|;
- Achiam et al. 2017 (CPO), Corollary 1 (total-variation form, with the *mean* over d_π):
  J(π̃) − J(π) ≥ [L_π(π̃) − J(π)] − 2γε'/(1−γ)² · Σ_s d_π(s) TV(π̃(·|s), π(·|s)),
  ε' = max_s |Σ_a π̃(a|s) A_π(s, a)|.

It also runs vanilla gradient ascent θ ← θ + lr·∇J with the same exact gradient: at large lr
it decreases J and then collapses onto a near-deterministic, suboptimal policy where the
softmax gradient vanishes. (A purely tabular softmax — logits W[s] with no shared parameter —
cannot decrease J under exact gradient ascent at any lr; here the bias b, shared by all states,
is the smallest piece of function approximation, and it is enough.) Finally the "theoretical"
algorithm: maximise the Theorem-1 lower bound itself (along the natural direction), which
guarantees J(π̃) ≥ J(π) — and shows how small that bound's steps are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from npytrpo import CategoricalPolicy, backtracking_line_search, dense_natural_step
from npytrpo.distributions import CategoricalHead
from npytrpo.linesearch import make_acceptance_rule
from npytrpo.tools.scripting import figure_path, parse_dataclass_args


@dataclass
class Args:
    out: str = ""
    """figure path or directory (default: tabular_monotonic.png next to this script)"""
    n_states: int = 16
    """S, the number of states (≤ 20)"""
    n_actions: int = 4
    """A, the number of actions"""
    branching: int = 3
    """successor states of each (s, a) in the random MDP"""
    gamma: float = 0.9
    """discount γ"""
    mdp_seed: int = 4
    """seed of the random MDP (transitions and rewards)"""
    iters: int = 40
    """iterations of every method"""
    deltas: tuple[float, ...] = (0.02, 0.2, 2.0)
    """TRPO trust-region radii δ; the bound table is printed for the first"""
    lrs: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    """step sizes of vanilla gradient ascent θ ← θ + lr·∇J"""
    plot: bool = True
    """write the figure (--no-plot to skip)"""


def parse_args(argv: list[str] | None = None) -> Args:
    """``Args`` from ``--field-name value`` flags (tuples comma-separated: ``--seeds 0,1``)."""
    return parse_dataclass_args(Args, argv, description=__doc__.splitlines()[0])


#: J is computed by a linear solve with cond(I − γP_π) ≤ (1+γ)/(1−γ); a "decrease" smaller
#: than this is rounding, not a decrease.
J_TOL = 1e-10


# ============================================================================ the exact MDP
@dataclass
class MDP:
    """P[s, a, s'] transition probabilities, R[s, a] rewards, μ₀ start distribution, γ."""

    P: np.ndarray
    R: np.ndarray
    mu0: np.ndarray
    gamma: float


def garnet(n_states: int, n_actions: int, branching: int, gamma: float, seed: int) -> MDP:
    """A random MDP: each (s, a) moves to ``branching`` distinct states with Dirichlet(1)
    probabilities; rewards uniform in [0, 1]; the episode starts in state 0."""
    if not 2 <= n_states <= 20:
        raise ValueError(f"n_states must be in [2, 20], got {n_states}")
    if not 1 <= branching <= n_states:
        raise ValueError(f"branching must be in [1, n_states], got {branching}")
    rng = np.random.default_rng(seed)
    P = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            succ = rng.choice(n_states, branching, replace=False)
            P[s, a, succ] = rng.dirichlet(np.ones(branching))
    R = rng.uniform(0.0, 1.0, (n_states, n_actions))
    mu0 = np.zeros(n_states)
    mu0[0] = 1.0
    return MDP(P, R, mu0, gamma)


def optimal_value(mdp: MDP, tol: float = 1e-13) -> float:
    """J* = μ₀ᵀV* by value iteration, V ← max_a (R + γPV), to ‖ΔV‖∞ < tol."""
    V = np.zeros(mdp.R.shape[0])
    while True:
        V_new = (mdp.R + mdp.gamma * mdp.P @ V).max(axis=1)
        if np.abs(V_new - V).max() < tol:
            return float(mdp.mu0 @ V_new)
        V = V_new


@dataclass
class Exact:
    """Everything about one policy π, exactly: log π (S, A), V (S,), Q and A (S, A), ρ and
    d = (1−γ)ρ (S,), J."""

    log_pi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    A: np.ndarray
    rho: np.ndarray
    d: np.ndarray
    J: float


def solve(mdp: MDP, log_pi: np.ndarray) -> Exact:
    """Policy evaluation by two linear solves (no sampling, no iteration)."""
    pi = np.exp(log_pi)
    S = pi.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)  # P_π[s, s'] = Σ_a π(a|s) P[s, a, s']
    r_pi = (pi * mdp.R).sum(axis=1)
    M = np.eye(S) - mdp.gamma * P_pi
    V = np.linalg.solve(M, r_pi)  # (I − γP_π) V = r_π
    Q = mdp.R + mdp.gamma * mdp.P @ V  # Q(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V(s')
    rho = np.linalg.solve(M.T, mdp.mu0)  # ρ_π = Σ_t γᵗ P(s_t = ·)
    return Exact(log_pi, V, Q, Q - V[:, None], rho, (1.0 - mdp.gamma) * rho, float(mdp.mu0 @ V))


# ====================================================================== the tabular policy
class TabularSoftmax:
    """``CategoricalPolicy(S, A, hidden=())`` on one-hot states, with the "batch" of all
    N = S·A (state, action) pairs that turns the library's sample means into exact sums."""

    def __init__(self, n_states: int, n_actions: int):
        self.S, self.A = n_states, n_actions
        self.policy = CategoricalPolicy(n_states, n_actions, hidden=())
        self.states = np.eye(n_states)  # one-hot s
        self.obs = np.repeat(self.states, n_actions, axis=0)  # (N, S): s of every pair
        self.actions = np.tile(np.arange(n_actions), n_states)  # (N,): a of every pair

    def log_pi(self, theta: np.ndarray) -> np.ndarray:
        """log π_θ(a|s) as an (S, A) table."""
        return self.policy.logp(theta, self.obs, self.actions).reshape(self.S, self.A)

    def weights(self, ex: Exact) -> np.ndarray:
        """Per-pair "advantages" N·ρ(s)π(a|s)A(s, a): the batch mean (1/N)Σ r·Â is then
        Σ_s ρ(s) Σ_a π̃(a|s) A(s, a) exactly."""
        w = ex.rho[:, None] * np.exp(ex.log_pi) * ex.A
        return w.ravel() * (self.S * self.A)

    def gradient(self, theta: np.ndarray, ex: Exact) -> np.ndarray:
        """∇J(θ) = Σ_s ρ(s) Σ_a π(a|s) A(s, a) ∇log π(a|s) (policy-gradient theorem)."""
        return self.policy.surrogate_grad(theta, self.obs, self.actions, self.weights(ex))

    def surrogate_gain(self, theta_new: np.ndarray, ex: Exact) -> float:
        """L_π(π̃) − J(π) = Σ_s ρ_π(s) Σ_a π̃(a|s) A_π(s, a) (Schulman et al. 2015, eq. 3)."""
        logp_old = ex.log_pi.ravel()
        return self.policy.surrogate(theta_new, self.obs, self.actions, self.weights(ex), logp_old)

    def fisher(self, theta: np.ndarray, d: np.ndarray) -> np.ndarray:
        """F = Σ_s d(s) F_s: the Hessian of the d-weighted mean KL at θ."""
        P = self.policy.num_params
        F = np.zeros((P, P))
        for s in np.flatnonzero(d > 0):
            F += d[s] * self.policy.fisher_matrix(theta, self.states[s : s + 1])
        return F


def kl_per_state(log_pi: np.ndarray, log_pi_new: np.ndarray) -> np.ndarray:
    """KL(π(·|s) ‖ π̃(·|s)) for every s (log-probabilities are valid logits)."""
    return CategoricalHead(log_pi.shape[1]).kl(log_pi, log_pi_new)


def tv_per_state(log_pi: np.ndarray, log_pi_new: np.ndarray) -> np.ndarray:
    """Total variation ½ Σ_a |π(a|s) − π̃(a|s)| for every s."""
    return 0.5 * np.abs(np.exp(log_pi) - np.exp(log_pi_new)).sum(axis=1)


# ========================================================================== the bounds
def bound_terms(mdp: MDP, ex: Exact, ex_new: Exact, gain: float) -> dict:
    """Both sides of the two monotonic-improvement bounds for the move π → π̃.

    ``gain`` is L_π(π̃) − J(π). Returns the actual improvement and the two lower sides.
    """
    g = mdp.gamma
    kl = kl_per_state(ex.log_pi, ex_new.log_pi)
    eps = float(np.abs(ex.A).max())  # ε = max_{s,a} |A_π(s, a)|
    C = 4.0 * eps * g / (1.0 - g) ** 2  # Schulman et al. 2015, Theorem 1
    eps_new = float(np.abs((np.exp(ex_new.log_pi) * ex.A).sum(axis=1)).max())  # CPO's ε'
    tv_mean = float(ex.d @ tv_per_state(ex.log_pi, ex_new.log_pi))
    return {
        "actual": ex_new.J - ex.J,
        "surrogate_gain": gain,
        "kl_mean": float(ex.d @ kl),
        "kl_max": float(kl.max()),
        "C": C,
        "lower_thm1": gain - C * float(kl.max()),
        "lower_cpo": gain - 2.0 * g * eps_new / (1.0 - g) ** 2 * tv_mean,
    }


# ========================================================================== the methods
def trpo_iteration(mdp: MDP, tab: TabularSoftmax, theta: np.ndarray, delta: float):
    """One exact TRPO step: exact g and F, closed-form x*, backtracking on the exact L and D̄."""
    ex = solve(mdp, tab.log_pi(theta))
    g = tab.gradient(theta, ex)
    F = tab.fisher(theta, ex.d)
    _, beta, full_step = dense_natural_step(F, g, delta=delta, damping=0.0)  # x* = √(2δ/gᵀF⁺g)F⁺g

    def evaluate(step: np.ndarray) -> tuple[float, float]:
        kl = float(ex.d @ kl_per_state(ex.log_pi, tab.log_pi(theta + step)))  # D̄(θ_old, θ)
        return kl, tab.surrogate_gain(theta + step, ex)  # L(θ) − L(θ_old), L(θ_old) = J(π)

    if beta == 0.0:  # g = 0 (or gᵀF⁺g = 0): at a stationary point, nothing to do
        theta_new, status, n_back = theta.copy(), "stationary", 0
    else:
        ls = backtracking_line_search(evaluate, full_step, accept=make_acceptance_rule(delta=delta))
        status = "accepted" if ls.success else "rejected"  # rejected: every trial failed
        theta_new = theta + ls.step  # ls.step = 0 when rejected: θ kept
        n_back = ls.accepted if ls.success else len(ls.fractions)
    ex_new = solve(mdp, tab.log_pi(theta_new))
    row = bound_terms(mdp, ex, ex_new, tab.surrogate_gain(theta_new, ex))
    row.update(J=ex.J, J_new=ex_new.J, backtracks=n_back, status=status)
    return theta_new, row


def penalty_iteration(mdp: MDP, tab: TabularSoftmax, theta: np.ndarray):
    """Maximise the Theorem-1 lower bound M(θ̃) = L_π(π̃) − J(π) − C·KL^max along the natural
    direction (Schulman et al. 2015, Algorithm 1, restricted to a line). M(θ) = 0 and
    J(π̃) − J(π) ≥ M(θ̃), so any θ̃ with M(θ̃) ≥ 0 cannot decrease J."""
    ex = solve(mdp, tab.log_pi(theta))
    g = tab.gradient(theta, ex)
    x, beta, _ = dense_natural_step(tab.fisher(theta, ex.d), g, delta=1.0, damping=0.0)
    if beta == 0.0:
        return theta.copy()
    C = 4.0 * mdp.gamma * float(np.abs(ex.A).max()) / (1.0 - mdp.gamma) ** 2

    def M(t: float) -> float:
        th = theta + t * x
        return tab.surrogate_gain(th, ex) - C * float(kl_per_state(ex.log_pi, tab.log_pi(th)).max())

    ts = beta * 2.0 ** -np.arange(40.0)  # the δ = 1 step, halved down to ~1e-12 of it
    vals = np.array([M(t) for t in ts])
    k = int(np.argmax(vals))
    if vals[k] <= 0.0:
        return theta.copy()
    lo, hi = ts[min(k + 1, len(ts) - 1)], ts[max(k - 1, 0)]  # refine between the neighbours
    t = scipy.optimize.minimize_scalar(lambda t: -M(t), bounds=(lo, hi), method="bounded").x
    return theta + (t if M(t) > vals[k] else ts[k]) * x


def vpg_curve(mdp: MDP, tab: TabularSoftmax, theta: np.ndarray, lr: float, iters: int):
    """J along vanilla gradient ascent θ ← θ + lr·∇J(θ) with the exact gradient; also the
    d-weighted entropy of the final policy (near 0 = collapsed to a deterministic policy)."""
    J = []
    for _ in range(iters):
        ex = solve(mdp, tab.log_pi(theta))
        J.append(ex.J)
        theta = theta + lr * tab.gradient(theta, ex)
    ex = solve(mdp, tab.log_pi(theta))
    J.append(ex.J)
    entropy = float(ex.d @ CategoricalHead(ex.log_pi.shape[1]).entropy(ex.log_pi))
    return np.array(J), entropy


# ========================================================================== the experiment
def run(args: Args, *, verbose: bool = True) -> dict:
    """Run every method; return J histories, the per-step bound sides and the summaries."""
    mdp = garnet(args.n_states, args.n_actions, args.branching, args.gamma, args.mdp_seed)
    tab = TabularSoftmax(args.n_states, args.n_actions)
    theta0 = tab.policy.init(0)
    J_star = optimal_value(mdp)
    say = print if verbose else (lambda *a, **k: None)
    say(
        f"Random MDP: S={args.n_states}, A={args.n_actions}, branching {args.branching}, "
        f"γ={args.gamma}, seed {args.mdp_seed}; J(π₀) = {solve(mdp, tab.log_pi(theta0)).J:.4f}, "
        f"J* = {J_star:.4f}"
    )

    trpo = []
    for i, delta in enumerate(args.deltas):
        theta, rows = theta0.copy(), []
        for _ in range(args.iters):
            theta, row = trpo_iteration(mdp, tab, theta, delta)
            rows.append(row)
        J = np.array([rows[0]["J"]] + [r["J_new"] for r in rows])
        trpo.append({"delta": delta, "J": J, "steps": rows})
        if i == 0:
            _print_table(say, delta, rows)

    theta, J_pen = theta0.copy(), [solve(mdp, tab.log_pi(theta0)).J]
    for _ in range(args.iters):
        theta = penalty_iteration(mdp, tab, theta)
        J_pen.append(solve(mdp, tab.log_pi(theta)).J)
    J_pen = np.array(J_pen)

    vpg = []
    for lr in args.lrs:
        J, entropy = vpg_curve(mdp, tab, theta0.copy(), lr, args.iters)
        vpg.append({"lr": lr, "J": J, "entropy": entropy})

    say("\nJ after each method (monotone = no decrease larger than rounding):")
    for t in trpo:
        _print_curve(say, f"TRPO δ={t['delta']:g}", t["J"], J_star)
    _print_curve(say, "Theorem-1 penalty step", J_pen, J_star)
    for v in vpg:
        _print_curve(say, f"vanilla PG lr={v['lr']:g}", v["J"], J_star, v["entropy"])
    return {"J_star": J_star, "trpo": trpo, "penalty": {"J": J_pen}, "vpg": vpg, "mdp": mdp}


def _print_table(say, delta: float, rows: list[dict]) -> None:
    say(f"\nExact TRPO, δ = {delta:g}: actual improvement vs its two lower bounds (must hold)")
    say(
        f"{'it':>3} {'J(π)':>8} {'J(π̃)−J(π)':>11} {'L−J(π)':>10} {'KL mean':>9} {'KL max':>9} "
        f"{'Thm 1 ≤':>10} {'CPO ≤':>10} {'bt':>3}  holds"
    )
    for k, r in enumerate(rows):
        ok = r["lower_thm1"] <= r["actual"] + J_TOL and r["lower_cpo"] <= r["actual"] + J_TOL
        note = {
            "accepted": "",
            "rejected": "  line search: no acceptable step, θ kept (converged)",
            "stationary": "  g = 0 to rounding: no step (converged)",
        }[r["status"]]
        say(
            f"{k:3d} {r['J']:8.4f} {r['actual']:11.3e} {r['surrogate_gain']:10.3e} "
            f"{r['kl_mean']:9.2e} {r['kl_max']:9.2e} {r['lower_thm1']:10.3e} "
            f"{r['lower_cpo']:10.3e} {r['backtracks']:3d}  {'yes' if ok else 'NO'}{note}"
        )
        if note and k + 1 < len(rows):  # θ unchanged: every later (exact) iteration repeats it
            say(
                f"{k + 1:3d}-{len(rows) - 1}: θ unchanged, so each later iteration repeats this row"
            )
            break


def _print_curve(say, name: str, J: np.ndarray, J_star: float, entropy=None) -> None:
    dJ = np.diff(J)
    drops = int(np.sum(dJ < -J_TOL))
    extra = f", final entropy {entropy:.3f} nats" if entropy is not None else ""
    say(
        f"  {name:<24} J: {J[0]:.4f} → {J[-1]:.4f} (J* − J = {J_star - J[-1]:.2e}); "
        f"decreases: {drops}/{len(dJ)}, worst ΔJ = {dJ.min():+.3e}{extra}"
    )


def plot(result: dict, path: str) -> None:
    """J curves; TRPO's actual improvement against the two lower bounds; vanilla PG's ΔJ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trpo_colors = plt.cm.Blues(np.linspace(0.9, 0.5, len(result["trpo"])))
    vpg_colors = plt.cm.autumn(np.linspace(0.0, 0.8, len(result["vpg"])))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    for t, c in zip(result["trpo"], trpo_colors, strict=True):
        ax.plot(t["J"], color=c, lw=2, label=f"TRPO δ={t['delta']:g}")
    ax.plot(result["penalty"]["J"], "k:", lw=2, label="maximise Thm-1 bound")
    for v, c in zip(result["vpg"], vpg_colors, strict=True):
        ax.plot(v["J"], "--", color=c, label=f"vanilla PG lr={v['lr']:g}")
    ax.axhline(result["J_star"], color="grey", lw=0.8)
    ax.text(0, result["J_star"], " J*", va="bottom", color="grey")
    lo = min(min(v["J"].min() for v in result["vpg"]), result["trpo"][0]["J"][0])
    ax.set_ylim(lo - 0.45 * (result["J_star"] - lo), None)  # room for the legend below
    ax.set(xlabel="iteration", ylabel="J(π) (exact)", title="exact J per iteration")
    ax.legend(fontsize=7, loc="lower right", ncol=2)

    ax = axes[1]
    rows = result["trpo"][0]["steps"]
    n_moved = next((k for k, r in enumerate(rows) if r["status"] != "accepted"), len(rows))
    rows = rows[:n_moved]  # the steps that moved θ (later ones repeat the converged θ)
    it = np.arange(len(rows))
    ax.plot(it, [r["actual"] for r in rows], "o-", color="C0", ms=3, label="actual J(π̃) − J(π)")
    ax.plot(it, [r["surrogate_gain"] for r in rows], "x", color="k", ms=5, label="L_π(π̃) − J(π)")
    ax.plot(it, [r["lower_cpo"] for r in rows], "s-", color="C2", ms=3, label="CPO bound (mean TV)")
    ax.plot(it, [r["lower_thm1"] for r in rows], "v-", color="C3", ms=3, label="Thm 1 (max KL)")
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.axhline(0.0, color="grey", lw=0.8)
    delta = result["trpo"][0]["delta"]
    ax.set(xlabel="iteration", title=f"TRPO δ={delta:g}: lower bounds ≤ actual improvement")
    ax.legend(fontsize=7, loc="center left")

    ax = axes[2]
    ax.plot(np.diff(result["trpo"][0]["J"]), color=trpo_colors[0], lw=2, label=f"TRPO δ={delta:g}")
    for v, c in zip(result["vpg"], vpg_colors, strict=True):
        ax.plot(np.diff(v["J"]), "--", color=c, label=f"vanilla PG lr={v['lr']:g}")
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set(xlabel="iteration k", ylabel="$J(\\pi_{k+1}) - J(\\pi_k)$", title="per-step change of J")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    result = run(args)
    if args.plot:
        path = figure_path(args.out, "tabular_monotonic.png", __file__)
        plot(result, path)
        print(f"\nfigure: {path}")
    return result


if __name__ == "__main__":
    main()
