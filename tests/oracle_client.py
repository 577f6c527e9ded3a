"""A TRPO step in plain NumPy, written against docs/oracle.md alone: the "other implementation"
that ``npytrpo oracle verify`` checks in the tests (it never imports npytrpo).

    python tests/oracle_client.py CASE.npz OUT.npz [--bug NAME]

It reads a case (``spec`` JSON + arrays), computes one step in float64 — dense Jacobians by
backprop, dense F, CG from 0, the backtracking line search — and writes the result keys with
``np.savez``. ``--bug`` plants one of the mistakes the oracle must name:

=============  =====================================================  ====================
bug            what it does                                           first failing key
=============  =====================================================  ====================
kl_swap        measures the line search's KL in the other direction   ls_kl
kl_mean        averages the Gaussian KL over action dims              fvp (c = 1/act_dim)
xax_undamped   leaves λ out of xᵀAx (β uses xᵀFx)                     xAx
transpose      writes vectors with W in PyTorch's (out, in) order     g (permuted)
ddof1          standardises Â with the sample std (ddof 1)            advantages_used
neg_x          returns −x from CG (and steps along it)                x (theirs = −ours)
crash          raises before writing anything                         (crash)
hang           sleeps for an hour                                     (timeout)
=============  =====================================================  ====================
"""

import argparse
import json
import math
import sys
import time

import numpy as np

BUGS = ("kl_swap", "kl_mean", "xax_undamped", "transpose", "ddof1", "neg_x", "crash", "hang")


def layers(spec):
    """(W offset, b offset, fan_in, fan_out) per layer, and P without the log-std."""
    gaussian = spec["policy"] == "gaussian"
    sizes = [spec["obs_dim"], *spec["hidden"], spec["act_dim"] if gaussian else spec["n_actions"]]
    out, p = [], 0
    for fi, fo in zip(sizes[:-1], sizes[1:], strict=True):
        out.append((p, p + fi * fo, fi, fo))
        p += fi * fo + fo
    return out, p


class Net:
    """The policy network on a flat θ in the documented layout (W (in, out) row-major, b)."""

    def __init__(self, spec, obs):
        self.spec, self.obs = spec, obs
        self.layers, self.P0 = layers(spec)
        self.gaussian = spec["policy"] == "gaussian"
        self.K = self.layers[-1][3]
        self.P = self.P0 + (self.K if self.gaussian else 0)

    def forward(self, theta, obs=None):
        h = [self.obs if obs is None else obs]
        for i, (w, b, fi, fo) in enumerate(self.layers):
            z = h[-1] @ theta[w:b].reshape(fi, fo) + theta[b : b + fo]
            h.append(np.tanh(z) if i < len(self.layers) - 1 else z)
        return h

    def jacobian(self, theta, obs):
        """J[n, k, p] = ∂out_nk / ∂θ_p for the network part of θ, by backprop per unit."""
        h, N = self.forward(theta, obs), obs.shape[0]
        J = np.zeros((N, self.K, self.P0))
        up = np.broadcast_to(np.eye(self.K), (N, self.K, self.K))  # ∂out/∂(layer output)
        for i in reversed(range(len(self.layers))):
            w, b, fi, fo = self.layers[i]
            J[:, :, w:b] = np.einsum("ni,nkj->nkij", h[i], up).reshape(N, self.K, fi * fo)
            J[:, :, b : b + fo] = up
            if i > 0:
                W = theta[w:b].reshape(fi, fo)
                up = np.einsum("nkj,ij->nki", up, W) * (1 - h[i] ** 2)[:, None, :]
        return J


def head(net, theta, obs=None):
    """The distribution's parameters: log-probabilities (categorical) or (mean, log-std)."""
    out = net.forward(theta, obs)[-1]
    if net.gaussian:
        return out, theta[net.P0 :]
    z = out - out.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), None


def log_prob(net, d, actions):
    if not net.gaussian:
        return d[0][np.arange(len(actions)), actions]
    w = (actions - d[0]) * np.exp(-d[1])
    return np.sum(-0.5 * w * w - d[1] - 0.5 * math.log(2 * math.pi), axis=1)


def kl(net, p, q, kl_scale):
    """KL(p‖q) per state; Gaussian: per dimension, summed, times kl_scale (1 or 1/A)."""
    if not net.gaussian:
        return np.sum(np.exp(p[0]) * (p[0] - q[0]), axis=1)
    (mp, lp), (mq, lq) = p, q
    per = lq - lp + (np.exp(2 * lp) + (mp - mq) ** 2) / (2 * np.exp(2 * lq)) - 0.5
    return kl_scale * per.sum(axis=1)


def gradient_and_fisher(net, theta, obs, actions, adv, kl_scale, sub):
    """g = (1/N) Σ Â ∇log π and F = (1/N_F) Σ Jᵀ M J on obs[::sub] (Gaussian: + 2·I on ℓ)."""
    N, P, P0 = obs.shape[0], net.P, net.P0
    J, d = net.jacobian(theta, obs), head(net, theta)
    g, F = np.zeros(P), np.zeros((P, P))
    Js = J[::sub]
    if net.gaussian:
        mu, ls = d
        inv_var = np.exp(-2 * ls)
        g[:P0] = np.einsum("n,nk,nkp->p", adv, (actions - mu) * inv_var, J) / N
        g[P0:] = adv @ (((actions - mu) * np.exp(-ls)) ** 2 - 1) / N
        F[:P0, :P0] = kl_scale * np.einsum("nkp,k,nkq->pq", Js, inv_var, Js) / len(Js)
        F[P0:, P0:] = kl_scale * 2 * np.eye(net.K)
        entropy = np.sum(ls) + 0.5 * net.K * (1 + math.log(2 * math.pi))
    else:
        p = np.exp(d[0])
        score = -p
        score[np.arange(N), actions] += 1
        g[:P0] = np.einsum("n,nk,nkp->p", adv, score, J) / N
        ps = p[::sub]
        M = ps[:, :, None] * np.eye(net.K) - ps[:, :, None] * ps[:, None, :]
        F[:P0, :P0] = np.einsum("nkp,nkl,nlq->pq", Js, M, Js) / len(Js)
        entropy = -np.sum(p * d[0], axis=1).mean()
    return g, F, entropy


def conjugate_gradient(A, g, iters, tol):
    """CG from x = 0 on A x = g; stop when rᵀr < tol (checked before each update)."""
    x, r = np.zeros_like(g), g.copy()
    q, rr, it = r.copy(), r @ r, 0
    while it < iters and not rr < tol:
        Aq = A @ q
        alpha = rr / (q @ Aq)
        x, r, it = x + alpha * q, r - alpha * Aq, it + 1
        rr, rr_old = r @ r, rr
        q = r + (rr / rr_old) * q
    return x, it, math.sqrt(rr)


def accepts(rule, frac, k, gain, expected, delta):
    return {
        "kl_and_improve": k <= delta and gain > 0,
        "strict": k < delta and gain > 0,
        "kl_slack": k <= 1.5 * delta and gain >= 0,
        "expected_ratio": gain > 0.1 * frac * expected and gain > 0,
    }[rule]


def step(spec, arrays, bug=None):
    """Every result key of one TRPO step on the case."""
    theta, obs, adv = arrays["theta"], arrays["obs"], arrays["advantages"]
    net = Net(spec, obs)
    actions = arrays["actions"]
    mean_kl = spec["gaussian_kl_reduction"] == "mean" or bug == "kl_mean"
    kl_scale = 1.0 / net.K if net.gaussian and mean_kl else 1.0
    if spec["normalize_advantages"]:
        adv = (adv - adv.mean()) / adv.std(ddof=1 if bug == "ddof1" else 0)
    g, F, entropy = gradient_and_fisher(
        net, theta, obs, actions, adv, kl_scale, spec.get("fvp_subsample", 1)
    )
    A = F + spec["damping"] * np.eye(net.P)
    x, iters, residual = conjugate_gradient(A, g, spec["cg_iters"], spec["cg_tol"])
    if bug == "neg_x":
        x = -x
    xAx = x @ (F if bug == "xax_undamped" else A) @ x
    delta = spec["delta"]
    beta = math.sqrt(2 * delta / xAx)
    full = beta * x
    expected = g @ full
    d_old = head(net, theta)
    logp_old = log_prob(net, d_old, actions)
    direction = spec["kl_direction"]
    if bug == "kl_swap":
        direction = "new_old" if direction == "old_new" else "old_new"

    def trial(th):
        d = head(net, th)
        k = kl(net, d_old, d, kl_scale) if direction == "old_new" else kl(net, d, d_old, kl_scale)
        return k.mean(), np.mean(np.exp(log_prob(net, d, actions) - logp_old) * adv)

    fracs, kls, gains, accepted = [], [], [], -1
    for j in range(spec["max_backtracks"]):
        frac = spec["backtrack_coeff"] ** j
        k, surrogate = trial(theta + frac * full)
        gain = surrogate - adv.mean()
        fracs.append(frac), kls.append(k), gains.append(gain)
        if accepts(spec["accept"], frac, k, gain, expected, delta):
            accepted = j
            break
    theta_new = theta + fracs[accepted] * full if accepted >= 0 else theta.copy()
    kl_new, surrogate_new = trial(theta_new)
    out = {
        "logp": logp_old,
        "advantages_used": adv,
        "surrogate": adv.mean(),
        "entropy": entropy,
        "g": g,
        "fisher": F,
        "x": x,
        "cg_iterations": np.int64(iters),
        "cg_residual": residual,
        "xAx": xAx,
        "step_size": beta,
        "full_step": full,
        "expected_improvement": expected,
        "ls_fractions": np.array(fracs),
        "ls_kl": np.array(kls),
        "ls_improvement": np.array(gains),
        "ls_accepted": np.int64(accepted),
        "theta_new": theta_new,
        "kl_new": kl_new if accepted >= 0 else 0.0,
        "surrogate_new": surrogate_new,
    }
    if "probes" in arrays:
        out["fvp"] = arrays["probes"] @ F  # F is symmetric: each row is F·v
    if bug == "transpose":
        out = transposed(net, out)
    return {k: np.asarray(v) for k, v in out.items()}


def transposed(net, out):
    """The bug: every P-vector written with W flattened in (out, in) order, as PyTorch's
    ``weight.reshape(-1)`` would without the transpose."""
    perm = np.arange(net.P)
    for w, b, fi, fo in net.layers:
        perm[w:b] = np.arange(w, b).reshape(fi, fo).T.ravel()
    for key in ("g", "x", "full_step", "theta_new", "fvp"):
        if key in out:
            out[key] = out[key][..., perm]
    out["fisher"] = out["fisher"][np.ix_(perm, perm)]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case")
    ap.add_argument("out")
    ap.add_argument("--bug", choices=BUGS)
    a = ap.parse_args(argv)
    if a.bug == "crash":
        raise RuntimeError("deliberate crash (oracle_client --bug crash)")
    if a.bug == "hang":
        print("hanging on purpose", file=sys.stderr, flush=True)
        time.sleep(3600)
    with np.load(a.case, allow_pickle=False) as z:
        spec = json.loads(str(z["spec"][()]))
        arrays = {k: z[k] for k in z.files if k != "spec"}
    result = step(spec, arrays, a.bug)
    with open(a.out, "wb") as f:
        np.savez(f, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
