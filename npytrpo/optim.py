"""First-order optimisers on a flat parameter vector, for gradient *ascent*: Adam and plain SGD.

They know nothing of policies (like ``cg.py``): a vector θ in, a gradient g in, a new θ out.
PPO's minibatch epochs (``ppo.py``) drive them.

=================  ====================================================  ===================
step               formula (t = 1, 2, …; g_t the gradient at step t)     reference
=================  ====================================================  ===================
global norm clip   g ← g · c / ‖g‖ when ‖g‖ > c (c = ``max_grad_norm``)  Pascanu et al. 2013
Adam moments       m_t = β₁ m_{t−1} + (1 − β₁) g                         Kingma & Ba 2015,
second moments     v_t = β₂ v_{t−1} + (1 − β₂) g²                        Algorithm 1
bias correction    m̂ = m_t / (1 − β₁ᵗ);  v̂ = v_t / (1 − β₂ᵗ)
Adam update        θ ← θ + α m̂ / (√v̂ + ε)   (ascent: "+")
SGD update         θ ← θ + α g
=================  ====================================================  ===================

The norm clip is exact: no ``+ 1e-6`` in the denominator (``torch.nn.utils.clip_grad_norm_``
adds one), and a gradient with ‖g‖ ≤ c is left bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import real_number

__all__ = ["Adam", "AdamState", "SGD", "clip_grad_norm"]


def _max_norm(value) -> float | None:
    return None if value is None else real_number(value, "max_grad_norm", low=0.0, low_open=True)


def clip_grad_norm(g: np.ndarray, max_norm: float | None) -> tuple[np.ndarray, float, bool]:
    """Rescale g to Euclidean norm ``max_norm`` when it is longer.

    .. math:: g ← g \\cdot \\min(1, c / ‖g‖)

    Parameters
    ----------
    g : ndarray of shape (P,)
    max_norm : float > 0 or None
        c; None disables the clip.

    Returns
    -------
    g_clipped : ndarray of shape (P,)
        ``g`` itself (not a copy) when no clipping happened.
    norm : float
        ‖g‖ before clipping.
    clipped : bool

    Examples
    --------
    >>> clip_grad_norm(np.array([3.0, 4.0]), 1.0)
    (array([0.6, 0.8]), 5.0, True)
    """
    norm = float(np.sqrt(g @ g))
    if max_norm is None or not norm > max_norm:
        return g, norm, False
    return g * (max_norm / norm), norm, True


@dataclass(frozen=True, eq=False)
class AdamState:
    """Adam's moments after ``t`` steps: m, v of shape (P,) (what a checkpoint stores)."""

    m: np.ndarray
    v: np.ndarray
    t: int


class Adam:
    """Adam for gradient ascent on a flat vector (Kingma & Ba 2015, Algorithm 1).

    Parameters
    ----------
    lr : float > 0, default 1e-3
        α, the step size (the paper's default).
    beta1, beta2 : float in [0, 1), defaults 0.9 and 0.999
        Decay rates of the first and second moment estimates.
    eps : float > 0, default 1e-8
        ε in the denominator √v̂ + ε, as in Algorithm 1 (and PyTorch); Kingma & Ba's default.
    max_grad_norm : float > 0 or None, default None
        Clip the gradient's global norm to this value before the moments see it.
    state : AdamState or None
        Moments to resume from; None starts from m = v = 0, t = 0 (sized at the first step).

    Attributes
    ----------
    m, v : ndarray of shape (P,) or None
    t : int
        Number of steps taken.
    grad_norm : float
        ‖g‖ of the last step, before clipping (NaN before the first step).
    clipped : bool
        Whether the last step's gradient was clipped.

    Examples
    --------
    The first step is α g/(|g| + ε) per coordinate: ≈ α·sign(g) where |g| ≫ ε, halved where
    |g| = ε.

    >>> Adam(lr=0.1, eps=1e-3).step(np.zeros(2), np.array([2.0, -1e-3]))
    array([ 0.09995002, -0.05      ])
    """

    def __init__(
        self,
        lr: float = 1e-3,
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        max_grad_norm: float | None = None,
        state: AdamState | None = None,
    ):
        self.lr = real_number(lr, "lr", low=0.0, low_open=True)
        self.beta1 = real_number(beta1, "beta1", low=0.0, high=1.0, high_open=True)
        self.beta2 = real_number(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = real_number(eps, "eps", low=0.0, low_open=True)
        self.max_grad_norm = _max_norm(max_grad_norm)
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0
        if state is not None:
            if not isinstance(state, AdamState):
                raise TypeError(f"state must be an AdamState, got {type(state).__name__}")
            if state.m.shape != state.v.shape or state.m.ndim != 1:
                raise ValueError(
                    f"state.m and state.v must be vectors of one shape, got {state.m.shape} "
                    f"and {state.v.shape}"
                )
            if isinstance(state.t, bool) or not isinstance(state.t, (int, np.integer)):
                raise TypeError(f"state.t must be an int, got {state.t!r}")
            if state.t < 0:
                raise ValueError(f"state.t must be >= 0, got {state.t}")
            self.m, self.v, self.t = state.m.copy(), state.v.copy(), int(state.t)
        self.grad_norm = float("nan")
        self.clipped = False

    @property
    def state(self) -> AdamState:
        """A copy of the moments (None moments before the first step become empty arrays)."""
        empty = np.zeros(0)
        m = empty if self.m is None else self.m.copy()
        v = empty if self.v is None else self.v.copy()
        return AdamState(m=m, v=v, t=self.t)

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """One ascent step: returns θ + α m̂/(√v̂ + ε) (a new array); updates m, v, t.

        Parameters
        ----------
        theta, grad : ndarray of shape (P,)

        Returns
        -------
        theta_new : ndarray of shape (P,)
        """
        if self.m is None or self.m.size == 0:
            self.m, self.v = np.zeros_like(grad), np.zeros_like(grad)
        elif self.m.shape != grad.shape:
            raise ValueError(f"grad must have shape {self.m.shape}, got {grad.shape}")
        g, self.grad_norm, self.clipped = clip_grad_norm(grad, self.max_grad_norm)
        self.t += 1
        t = self.t
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * g  # m_t = β₁ m_{t−1} + (1 − β₁) g
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * (g * g)  # v_t = β₂ v + (1 − β₂) g²
        m_hat = self.m / (1.0 - self.beta1**t)  # m̂_t = m_t / (1 − β₁ᵗ)
        v_hat = self.v / (1.0 - self.beta2**t)  # v̂_t = v_t / (1 − β₂ᵗ)
        return theta + self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGD:
    """Plain gradient ascent ``θ ← θ + α g`` with the same optional global norm clip as Adam.

    Parameters
    ----------
    lr : float > 0
    max_grad_norm : float > 0 or None, default None

    Examples
    --------
    >>> SGD(lr=0.5).step(np.ones(2), np.array([2.0, 4.0]))
    array([2., 3.])
    """

    def __init__(self, lr: float, *, max_grad_norm: float | None = None):
        self.lr = real_number(lr, "lr", low=0.0, low_open=True)
        self.max_grad_norm = _max_norm(max_grad_norm)
        self.t = 0
        self.grad_norm = float("nan")
        self.clipped = False

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """θ + α g (a new array), g clipped first when ``max_grad_norm`` is set."""
        g, self.grad_norm, self.clipped = clip_grad_norm(grad, self.max_grad_norm)
        self.t += 1
        return theta + self.lr * g
