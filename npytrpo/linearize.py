"""A policy linearised at θ_old on a batch: everything a trust-region step asks of π.

``Policy.linearize(θ_old, obs, actions, Â, ...)`` validates once, runs one forward pass and
returns a :class:`Linearization`: the gradient g of the objective, the Fisher operator
``v ↦ F v`` and the trial evaluation ``step ↦ (mean KL, gain)`` used by the line search. The
step layer (``trust_region.py``, the oracle) talks to π only through it.

================  ===========================================================  ==========
member            computes                                                     shape
================  ===========================================================  ==========
``g``             ∇θ [L(θ) + c·H̄(θ)] at θ_old = (1/N) Σ Â_n J_nᵀ ∂log π/∂o_n   (P,)
                  (+ c ∇H̄)  (Schulman et al. 2015, eq. 14)
``fisher(v)``     F v = (1/N') Σ J_nᵀ M_n J_n v on every k-th sample (N')      (P,)
``evaluate(s)``   (D̄_KL(θ_old, θ_old + s), L(θ_old + s) + cH̄ − L(θ_old) − cH̄)  (float, float)
================  ===========================================================  ==========
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import sensitivity

__all__ = ["Linearization", "weighted_score_grad", "fisher_product"]


class Linearization:
    """π linearised at θ_old on a batch (built by ``Policy.linearize``; unchecked after that).

    Attributes
    ----------
    theta_old : ndarray of shape (P,)
    g : ndarray of shape (P,)
        Gradient of the objective L(θ) + c·H̄(θ) at θ_old.
    logp_old : ndarray of shape (N,)
        log π_old(a_n|s_n).
    advantages : ndarray of shape (N,)
    objective_old : float
        L(θ_old) + c·H̄(θ_old) = mean Â + c·H̄ (every ratio is 1 at θ_old).
    entropy : float
        H̄(θ_old), the mean entropy of π_old over the batch.
    kl_direction : {"old_new", "new_old"}
    """

    def __init__(
        self,
        policy: Any,
        theta_old: np.ndarray,
        obs: np.ndarray,
        actions: np.ndarray,
        advantages: np.ndarray,
        dist_old: Any,
        cache: Any,
        *,
        kl_direction: str,
        entropy_coef: float,
        fvp_subsample: int,
    ):
        head = policy.head
        self.policy, self.obs, self.actions = policy, obs, actions
        self.theta_old, self.advantages = theta_old, advantages
        self.kl_direction, self.entropy_coef = kl_direction, entropy_coef
        self.g = weighted_score_grad(policy, dist_old, cache, actions, advantages, entropy_coef)
        self.entropy = float(np.mean(head.entropy(dist_old)))
        self.logp_old = head.logp(dist_old, actions)
        # Every ratio is 1 at θ_old, so L(θ_old) = mean Â.
        self.objective_old = float(np.mean(advantages)) + entropy_coef * self.entropy
        self._dist_old = dist_old
        if fvp_subsample == 1:  # F on the same forward pass as g
            self.fisher: Callable[[np.ndarray], np.ndarray] = fisher_product(
                policy, dist_old, cache
            )
        else:  # F on every k-th sample; g used them all
            self.fisher = fisher_product(
                policy, *policy.dist_at(theta_old, obs[::fvp_subsample])
            )

    @property
    def num_params(self) -> int:
        return self.theta_old.shape[0]

    def evaluate(self, step: np.ndarray) -> tuple[float, float]:
        """(mean KL, objective gain) at θ_old + step, from one forward pass.

        The KL is D̄ in ``kl_direction``; the gain is L(θ) + c·H̄(θ) − L(θ_old) − c·H̄(θ_old)
        with L(θ) = (1/N) Σ exp(log π_θ − log π_old) Â. A far trial point can overflow (e.g.
        exp(−ℓ) for a huge step in ℓ): the KL or gain is then inf/NaN, which the line search
        rejects by name, so no floating-point warning is raised for it.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return self._evaluate(step)

    def _evaluate(self, step: np.ndarray) -> tuple[float, float]:
        head, c = self.policy.head, self.entropy_coef
        dist, _ = self.policy.dist_at(self.theta_old + step, self.obs)
        logp = head.logp(dist, self.actions)
        old, new = self._dist_old, dist
        p, q = (old, new) if self.kl_direction == "old_new" else (new, old)
        kl = float(np.mean(head.kl(p, q)))
        H = float(np.mean(head.entropy(dist))) if c > 0.0 else 0.0
        objective = float(np.mean(np.exp(logp - self.logp_old) * self.advantages)) + c * H
        return kl, objective - self.objective_old


def weighted_score_grad(policy: Any, dist, cache, actions, w, entropy_coef: float = 0.0):
    """``∇_θ [(1/N) Σ_n w_n log π_θ(a_n|s_n) + c·H̄(θ)]`` from one forward pass (dist, cache).

    With w = Â this is g at θ_old (Schulman et al. 2015, eq. 14); the entropy bonus joins the
    same backprop as an extra output cotangent c·∂H/∂o_n / N. Unchecked.
    """
    head = policy.head
    N = w.shape[0]
    s_out, s_h = head.score(dist, actions)
    u = s_out * (w[:, None] / N)  # cotangent of the network output
    g_h = (w / N) @ s_h if head.num_params else None
    if entropy_coef:
        h_out, h_h = head.entropy_grad(dist)
        if h_out is not None:
            u += (entropy_coef / N) * h_out
        if h_h is not None:
            g_h = g_h + entropy_coef * h_h
    g = np.empty(policy.num_params)
    g[: policy.net.num_params] = policy.net.vjp(cache, u)
    if head.num_params:
        g[policy.net.num_params :] = g_h
    return g


def fisher_product(policy: Any, dist, cache) -> Callable[[np.ndarray], np.ndarray]:
    """``v ↦ F v`` (undamped) at the forward pass (dist, cache): JVP, head metric, VJP. Unchecked.

    .. math:: F v = \\tfrac1N \\textstyle\\sum_n J_nᵀ M_n J_n v

    On a network with few outputs (``sensitivity.worth_it``) J v and Jᵀ u go through the output
    sensitivities computed here once (``npytrpo/sensitivity.py``), else through ``MLP.jvp`` and
    ``MLP.vjp``: the same products, the cheaper order.
    """
    net, P0, P = policy.net, policy.net.num_params, policy.num_params
    metric = policy.head.metric(dist, cache.batch_size)
    if sensitivity.worth_it(net):
        products = sensitivity.Products(net, cache)
        jvp, vjp = products.jvp, products.vjp
    else:

        def jvp(v: np.ndarray) -> np.ndarray:
            return net.jvp(cache, v)

        def vjp(u: np.ndarray) -> np.ndarray:
            return net.vjp(cache, u)

    if not policy.head.num_params:

        def fvp_net(v: np.ndarray) -> np.ndarray:
            return vjp(metric(jvp(v), None)[0])

        return fvp_net

    def fvp(v: np.ndarray) -> np.ndarray:
        Fv = np.empty(P)
        m_out, m_h = metric(jvp(v[:P0]), v[P0:])
        Fv[:P0] = vjp(m_out)
        Fv[P0:] = m_h
        return Fv

    return fvp
