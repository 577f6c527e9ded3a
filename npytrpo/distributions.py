"""The two policy heads as pure functions of the network output.

Categorical (softmax over logits ``z`` of shape (N, K)) and diagonal Gaussian (mean ``mu`` of
shape (N, d), state-independent log-std ``log_std`` of shape (d,)). For each head: log-prob,
entropy, KL, the score ∂log π/∂(head parameters), the Fisher metric of the head applied to a
vector, sampling and the mode. Each derivative sits right under the quantity it differentiates.

Numerical stability: logits are shifted by their row maximum before any exponential (a logit of
±1e3 stays finite); the Gaussian never forms σ² or 1/σ² directly but scales by ``exp(−log_std)``
(log-stds of ±20 stay finite).

KL conventions: ``*_kl(p, q)`` is KL(p‖q) per sample, the first argument being the distribution
the expectation is taken under. The policy layer decides which of old/new goes first.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "log_softmax",
    "categorical_logp",
    "categorical_entropy",
    "categorical_entropy_grad",
    "categorical_kl",
    "categorical_score",
    "categorical_fisher_vector",
    "categorical_sample",
    "categorical_mode",
    "gaussian_logp",
    "gaussian_entropy",
    "gaussian_kl",
    "gaussian_score",
    "gaussian_fisher_vector",
    "gaussian_sample",
    "gaussian_mode",
]

LOG_2PI = float(np.log(2.0 * np.pi))


# =============================================================================== categorical
def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(z) = z − max z − log Σ exp(z − max z)``.

    Parameters
    ----------
    z : ndarray of shape (N, K)

    Returns
    -------
    logp : ndarray of shape (N, K)

    Examples
    --------
    >>> log_softmax(np.array([[0.0, 0.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def categorical_logp(z: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``log π(a_n | z_n) = log softmax(z_n)[a_n]``.

    Parameters
    ----------
    z : ndarray of shape (N, K)
    actions : int ndarray of shape (N,)

    Returns
    -------
    logp : ndarray of shape (N,)

    Examples
    --------
    >>> bool(categorical_logp(np.zeros((1, 4)), np.array([2]))[0] == -np.log(4))
    True
    """
    return np.take_along_axis(log_softmax(z), actions[:, None], axis=1)[:, 0]


def categorical_score(z: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Score ``∂ log π(a|z) / ∂z = onehot(a) − p``.

    Returns
    -------
    score : ndarray of shape (N, K)
    """
    s = -np.exp(log_softmax(z))
    s[np.arange(z.shape[0]), actions] += 1.0
    return s


def categorical_entropy(z: np.ndarray) -> np.ndarray:
    """``H(p) = −Σ_k p_k log p_k``.

    Returns
    -------
    H : ndarray of shape (N,)
    """
    logp = log_softmax(z)
    return -(np.exp(logp) * logp).sum(axis=1)


def categorical_entropy_grad(z: np.ndarray) -> np.ndarray:
    """``∂H/∂z_j = −p_j (log p_j + H)``.

    Returns
    -------
    dH : ndarray of shape (N, K)
    """
    logp = log_softmax(z)
    p = np.exp(logp)
    H = -(p * logp).sum(axis=1, keepdims=True)
    return -p * (logp + H)


def categorical_kl(z_p: np.ndarray, z_q: np.ndarray) -> np.ndarray:
    """``KL(p‖q) = Σ_k p_k (log p_k − log q_k)``, clipped at 0 from below (rounding).

    Returns
    -------
    kl : ndarray of shape (N,)
    """
    logp = log_softmax(z_p)
    logq = log_softmax(z_q)
    return np.maximum((np.exp(logp) * (logp - logq)).sum(axis=1), 0.0)


def categorical_fisher_vector(z: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Output-space Fisher metric applied to u: ``M u = p ⊙ u − p (pᵀu)``, M = diag(p) − ppᵀ.

    M is the Hessian of KL(p‖softmax(z')) in z' at z' = z and also E[score scoreᵀ].

    Parameters
    ----------
    z : ndarray of shape (N, K)
    u : ndarray of shape (N, K)

    Returns
    -------
    Mu : ndarray of shape (N, K)
    """
    p = np.exp(log_softmax(z))
    return p * (u - (p * u).sum(axis=1, keepdims=True))


def categorical_sample(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw ``a_n ~ softmax(z_n)`` by inverting the CDF with one uniform per row.

    The CDF is built from ``exp(z − max z)`` unnormalised and the uniform scaled by its total
    (the same draw as with normalised probabilities, two operations cheaper: this runs at every
    environment step).

    Returns
    -------
    actions : int64 ndarray of shape (N,)
    """
    cdf = np.cumsum(np.exp(z - z.max(axis=1, keepdims=True)), axis=1)
    u = rng.random((z.shape[0], 1)) * cdf[:, -1:]
    a = (cdf <= u).sum(axis=1)
    return np.minimum(a, z.shape[1] - 1).astype(np.int64, copy=False)


def categorical_mode(z: np.ndarray) -> np.ndarray:
    """``argmax_k z_k`` (the most probable action).

    Returns
    -------
    actions : int64 ndarray of shape (N,)
    """
    return z.argmax(axis=1).astype(np.int64)


# ============================================================================ diagonal Gaussian
def gaussian_logp(mu: np.ndarray, log_std: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``log π(a|μ, ℓ) = −½ Σ_i ((a_i − μ_i) e^{−ℓ_i})² − Σ_i ℓ_i − (d/2) log 2π``.

    Parameters
    ----------
    mu : ndarray of shape (N, d)
    log_std : ndarray of shape (d,)
    actions : ndarray of shape (N, d)

    Returns
    -------
    logp : ndarray of shape (N,)

    Examples
    --------
    >>> float(gaussian_logp(np.zeros((1, 1)), np.zeros(1), np.zeros((1, 1)))[0])
    -0.9189385332046727
    """
    w = (actions - mu) * np.exp(-log_std)
    return -0.5 * (w * w).sum(axis=1) - log_std.sum() - 0.5 * mu.shape[1] * LOG_2PI


def gaussian_score(
    mu: np.ndarray, log_std: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score of the log-prob: ``∂/∂μ = (a − μ)/σ²``, ``∂/∂ℓ = (a − μ)²/σ² − 1``.

    Returns
    -------
    score_mu : ndarray of shape (N, d)
    score_log_std : ndarray of shape (N, d)
        Per sample; summing over samples gives the gradient with respect to the shared ℓ.
    """
    inv_std = np.exp(-log_std)
    w = (actions - mu) * inv_std
    return w * inv_std, w * w - 1.0


def gaussian_entropy(log_std: np.ndarray, n: int) -> np.ndarray:
    """``H = Σ_i ℓ_i + (d/2)(1 + log 2π)``, the same for every state (ℓ is state-independent).

    ∂H/∂ℓ_i = 1 and ∂H/∂μ = 0.

    Returns
    -------
    H : ndarray of shape (n,)
    """
    d = log_std.shape[0]
    return np.full(n, log_std.sum() + 0.5 * d * (1.0 + LOG_2PI))


def gaussian_kl(
    mu_p: np.ndarray, log_std_p: np.ndarray, mu_q: np.ndarray, log_std_q: np.ndarray
) -> np.ndarray:
    """Per-dimension ``KL(p‖q)`` of diagonal Gaussians (the caller reduces over dimensions).

    .. math:: \\mathrm{KL}_i = ℓ^q_i − ℓ^p_i
              + \\tfrac12\\big(e^{2(ℓ^p_i − ℓ^q_i)} + ((μ^p_i − μ^q_i) e^{−ℓ^q_i})^2 − 1\\big)

    Parameters
    ----------
    mu_p, mu_q : ndarray of shape (N, d)
    log_std_p, log_std_q : ndarray of shape (d,)

    Returns
    -------
    kl : ndarray of shape (N, d), clipped at 0 from below (rounding).
    """
    dl = log_std_p - log_std_q
    w = (mu_p - mu_q) * np.exp(-log_std_q)
    kl = -dl + 0.5 * (np.expm1(2.0 * dl) + w * w)
    return np.maximum(kl, 0.0)


def gaussian_fisher_vector(
    log_std: np.ndarray, u_mu: np.ndarray, u_log_std: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fisher metric of (μ, ℓ) applied to a vector: ``diag(1/σ²)`` on μ, ``2·I`` on ℓ, 0 across.

    Parameters
    ----------
    log_std : ndarray of shape (d,)
    u_mu : ndarray of shape (N, d)
    u_log_std : ndarray of shape (d,)

    Returns
    -------
    M_mu : ndarray of shape (N, d)
    M_log_std : ndarray of shape (d,)
    """
    return u_mu * np.exp(-2.0 * log_std), 2.0 * u_log_std


def gaussian_sample(mu: np.ndarray, log_std: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``a = μ + e^ℓ ⊙ ε``, ε ~ N(0, I).

    Returns
    -------
    actions : ndarray of shape (N, d)
    """
    return mu + np.exp(log_std) * rng.standard_normal(mu.shape)


def gaussian_mode(mu: np.ndarray) -> np.ndarray:
    """The mean (most probable action), a copy of shape (N, d)."""
    return np.array(mu, dtype=np.float64, copy=True)
