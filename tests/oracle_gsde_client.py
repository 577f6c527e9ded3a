"""A gSDE TRPO step in plain NumPy, written against docs/oracle.md (format 2) alone: the "other
implementation" of a gSDE policy that ``npytrpo oracle verify`` checks in the tests (it never
imports npytrpo; the network, CG and the acceptance rules are tests/oracle_client.py's).

    python tests/oracle_gsde_client.py CASE.npz OUT.npz [--bug NAME]

The head, per state n and action dim j, with z the last hidden features (the observation for a
linear policy), Λ the log-σ matrix (F, A) row-major (one column shared when ``full_std`` is
false): v_nj = Σ_i z_ni² exp(2Λ_ij) + ε, π = Π_j N(a_j; μ_j, v_j); the features are constants
of the variance. Every quantity is formed densely: ∂v/∂Λ, the Fisher blocks Jᵀ diag(1/v) J and
(∂v/∂Λ)ᵀ diag(1/(2v²)) (∂v/∂Λ), times 1/A with ``gaussian_kl_reduction`` "mean".

==================  =====================================================  ==================
bug                 what it does                                           first failing key
==================  =====================================================  ==================
sigma_transposed    reads Λ as (A, F) row-major (PyTorch's weight layout)  logp
eps_on_std          adds ε to the std, not the variance                    logp
learn_features      lets g flow through z in the variance                  g (W1, b1 only)
==================  =====================================================  ==================
"""

import argparse
import json
import math
import sys

import numpy as np
import oracle_client as base

BUGS = ("sigma_transposed", "eps_on_std", "learn_features")


class GSDE:
    """The policy at θ on a batch: mean, features, variance and ∂v/∂θ_h (dense)."""

    def __init__(self, spec, obs, bug=None):
        self.spec, self.obs, self.bug = spec, obs, bug
        self.net = base.Net(dict(spec, policy="gaussian"), obs)  # its P0, forward, jacobian
        self.A, self.P0 = spec["act_dim"], self.net.P0
        self.F = spec["hidden"][-1] if spec["hidden"] else spec["obs_dim"]
        self.Ph = self.F * self.A if spec["full_std"] else self.F
        self.P = self.P0 + self.Ph

    def index(self):
        """idx[i, j] = the position in θ_h of Λ_ij."""
        F, A = self.F, self.A
        if not self.spec["full_std"]:
            return np.repeat(np.arange(F)[:, None], A, axis=1)
        if self.bug == "sigma_transposed":
            return np.arange(F * A).reshape(A, F).T
        return np.arange(F * A).reshape(F, A)

    def __call__(self, theta, obs=None):
        obs = self.obs if obs is None else obs
        h = self.net.forward(theta, obs)
        mu, z = h[-1], h[-2]
        s2 = np.exp(2 * theta[self.P0 :][self.index()])  # (F, A)
        eps = self.spec["epsilon"]
        zs = (z * z) @ s2
        var = (np.sqrt(zs) + eps) ** 2 if self.bug == "eps_on_std" else zs + eps
        dv = np.zeros((obs.shape[0], self.A, self.Ph))  # ∂v_nj/∂θ_h
        contrib = 2 * (z * z)[:, :, None] * s2[None]  # (N, F, A): ∂v_nj/∂Λ_ij
        for i in range(self.F):
            for j in range(self.A):
                dv[:, j, self.index()[i, j]] += contrib[:, i, j]
        return mu, var, z, dv


def log_prob(mu, var, actions):
    return np.sum(-0.5 * ((actions - mu) ** 2 / var + np.log(var) + math.log(2 * math.pi)), 1)


def kl(p, q, scale):
    """KL(p‖q) per state: Σ_j ½[v_p/v_q − 1 − log(v_p/v_q) + (μ_p − μ_q)²/v_q], times scale."""
    (mp, vp), (mq, vq) = p, q
    return scale * np.sum(0.5 * (vp / vq - 1 - np.log(vp / vq) + (mp - mq) ** 2 / vq), axis=1)


def feature_gradient(pol, theta, d_logp_dv, adv):
    """The ``learn_features`` bug's extra term: Σ_n Â_n ∂log π/∂v · ∂v/∂z · ∂z/∂θ / N."""
    spec = pol.spec
    sub = base.Net(dict(spec, policy="gaussian", hidden=spec["hidden"][:-1],
                        act_dim=spec["hidden"][-1]), pol.obs)  # fmt: skip
    mu, var, z, _ = pol(theta)
    s2 = np.exp(2 * theta[pol.P0 :][pol.index()])
    cot_z = (adv[:, None] * d_logp_dv) @ s2.T * 2 * z  # (N, F)
    Jz = sub.jacobian(theta, pol.obs) * (1 - z * z)[:, :, None]
    out = np.zeros(pol.P)
    out[: sub.P0] = np.einsum("ni,nip->p", cot_z, Jz) / len(adv)
    return out


def gradient_and_fisher(pol, theta, actions, adv, scale, sub):
    N = pol.obs.shape[0]
    mu, var, z, dv = pol(theta)
    J = pol.net.jacobian(theta, pol.obs)
    d = actions - mu
    d_logp_dv = 0.5 * (d * d / var - 1) / var
    g = np.zeros(pol.P)
    g[: pol.P0] = np.einsum("n,nk,nkp->p", adv, d / var, J) / N
    g[pol.P0 :] = np.einsum("n,nj,njp->p", adv, d_logp_dv, dv) / N
    if pol.bug == "learn_features" and pol.spec["hidden"]:
        g += feature_gradient(pol, theta, d_logp_dv, adv)
    Js, vs, dvs = J[::sub], var[::sub], dv[::sub]
    F = np.zeros((pol.P, pol.P))
    F[: pol.P0, : pol.P0] = np.einsum("nkp,nk,nkq->pq", Js, 1 / vs, Js)
    F[pol.P0 :, pol.P0 :] = np.einsum("njp,nj,njq->pq", dvs, 0.5 / vs**2, dvs)
    entropy = np.mean(0.5 * np.sum(np.log(var) + 1 + math.log(2 * math.pi), axis=1))
    return g, scale * F / len(Js), entropy


def step(spec, arrays, bug=None):
    """Every result key of one TRPO step on a gSDE case."""
    theta, obs, adv, actions = (arrays[k] for k in ("theta", "obs", "advantages", "actions"))
    pol = GSDE(spec, obs, bug)
    scale = 1.0 / pol.A if spec["gaussian_kl_reduction"] == "mean" else 1.0
    if spec["normalize_advantages"]:
        adv = (adv - adv.mean()) / adv.std()
    g, F, entropy = gradient_and_fisher(pol, theta, actions, adv, scale,
                                        spec.get("fvp_subsample", 1))  # fmt: skip
    A = F + spec["damping"] * np.eye(pol.P)
    x, iters, residual = base.conjugate_gradient(A, g, spec["cg_iters"], spec["cg_tol"])
    xAx = x @ A @ x
    beta = math.sqrt(2 * spec["delta"] / xAx)
    full, old = beta * x, pol(theta)[:2]
    logp_old = log_prob(*old, actions)

    def trial(th):
        new = pol(th)[:2]
        k = kl(old, new, scale) if spec["kl_direction"] == "old_new" else kl(new, old, scale)
        return k.mean(), np.mean(np.exp(log_prob(*new, actions) - logp_old) * adv)

    fracs, kls, gains, accepted = [], [], [], -1
    for j in range(spec["max_backtracks"]):
        frac = spec["backtrack_coeff"] ** j
        k, surrogate = trial(theta + frac * full)
        fracs.append(frac), kls.append(k), gains.append(surrogate - adv.mean())
        if base.accepts(spec["accept"], frac, k, gains[-1], g @ full, spec["delta"]):
            accepted = j
            break
    theta_new = theta + fracs[accepted] * full if accepted >= 0 else theta.copy()
    kl_new, surrogate_new = trial(theta_new)
    out = dict(logp=logp_old, advantages_used=adv, surrogate=adv.mean(), entropy=entropy, g=g,
               fisher=F, x=x, cg_iterations=np.int64(iters), cg_residual=residual, xAx=xAx,
               step_size=beta, full_step=full, expected_improvement=g @ full,
               ls_fractions=np.array(fracs), ls_kl=np.array(kls), ls_improvement=np.array(gains),
               ls_accepted=np.int64(accepted), theta_new=theta_new,
               kl_new=kl_new if accepted >= 0 else 0.0, surrogate_new=surrogate_new)  # fmt: skip
    if "probes" in arrays:
        out["fvp"] = arrays["probes"] @ F
    return {k: np.asarray(v) for k, v in out.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case")
    ap.add_argument("out")
    ap.add_argument("--bug", choices=BUGS)
    a = ap.parse_args(argv)
    with np.load(a.case, allow_pickle=False) as f:
        spec = json.loads(str(f["spec"][()]))
        arrays = {k: f[k] for k in f.files if k != "spec"}
    if spec["format"] not in ("npytrpo-oracle/1", "npytrpo-oracle/2"):
        raise SystemExit(f"unknown case format {spec['format']!r}")
    result = step(spec, arrays, a.bug) if spec["policy"] == "gsde" else base.step(spec, arrays)
    with open(a.out, "wb") as f:
        np.savez(f, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
