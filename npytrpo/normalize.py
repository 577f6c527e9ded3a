"""Running statistics and the observation/reward normalisers built on them.

``RunningMeanStd`` keeps a mean and a (population) variance merged batch by batch;
``ObservationNormalizer`` standardises and clips observations with it; ``RewardScaler`` divides
rewards by the running standard deviation of the per-environment discounted return.

Every class has ``state_dict()`` / ``load_state_dict(d)`` using plain numeric arrays only, so the
state can be stored in a pickle-free checkpoint (see :mod:`npytrpo.checkpoint`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._validate import real_number

__all__ = ["RunningMeanStd", "ObservationNormalizer", "RewardScaler"]


def _as_shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    """Normalise ``shape`` to a tuple of non-negative ints, or raise ValueError."""
    try:
        t = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in t):
        raise ValueError(f"shape must have non-negative entries, got {shape!r}")
    return t


def _state_array(d: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Read ``d[key]`` as a finite float64 array of ``shape``, or raise ValueError."""
    if key not in d:
        raise ValueError(f"state dict is missing key {key!r}; found keys {sorted(d)}")
    a = np.asarray(d[key])
    if a.dtype.kind not in "iuf":
        raise ValueError(f"state {key!r} must be a real array, got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"state {key!r} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"state {key!r} must be finite")
    return a.astype(np.float64, copy=True)


class RunningMeanStd:
    r"""Mean and variance of a stream of samples, merged batch by batch.

    Parameters
    ----------
    shape : int or tuple of int, default ()
        Shape of one sample; batches passed to :meth:`update` have shape ``(B, *shape)``.
    epsilon : float, default 1e-4
        Initial pseudo-count, >= 0. The statistics start as those of a pseudo-population of
        weight ``epsilon`` with mean 0 and variance 1, which keeps :attr:`var` well defined
        before the first update; its influence on the mean after ``n`` samples is at most
        ``epsilon / (n + epsilon)`` of the mean's size. ``epsilon=0`` gives the exact sample
        statistics.

    Attributes
    ----------
    mean : ndarray of shape ``shape``
    var : ndarray of shape ``shape``
        Population variance (``ddof=0``).
    count : float
        Total weight: ``epsilon`` plus the number of samples seen.

    Notes
    -----
    Merging a batch with mean :math:`\mu_B`, variance :math:`\sigma^2_B` and count :math:`n_B`
    into the running :math:`(\mu, \sigma^2, n)` (Chan, Golub, LeVeque 1979, parallel update):

    .. math::

        d &= \mu_B - \mu, \qquad n' = n + n_B, \\
        \mu' &= \mu + d\, n_B / n', \\
        \sigma'^2 &= \left(n \sigma^2 + n_B \sigma_B^2 + d^2\, n\, n_B / n'\right) / n'.

    The result equals the statistics of the concatenated data (with the pseudo-population),
    whatever the split into batches.

    Examples
    --------
    >>> import numpy as np
    >>> rms = RunningMeanStd(shape=(2,), epsilon=0.0)
    >>> rms.update(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> rms.update(np.array([[4.0, 1.0]]))
    >>> rms.mean, rms.var, rms.count
    (array([2., 1.]), array([2.66666667, 0.        ]), 3.0)
    """

    def __init__(self, shape: int | tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.shape = _as_shape(shape)
        self.epsilon = real_number(epsilon, "epsilon", low=0.0)
        self.mean = np.zeros(self.shape)
        self.var = np.ones(self.shape)
        self.count = self.epsilon

    @property
    def std(self) -> np.ndarray:
        """Standard deviation ``sqrt(var)``, ndarray of shape ``shape``."""
        return np.sqrt(self.var)

    def update(self, x: np.ndarray) -> None:
        """Merge a batch ``x`` of shape ``(B, *shape)`` into the statistics (B = 0: no change).

        Raises ValueError if the trailing shape differs from ``shape`` or ``x`` is not finite.
        """
        x = np.asarray(x)
        if x.dtype.kind not in "iuf":
            raise ValueError(f"x must be a real array, got dtype {x.dtype}")
        if x.ndim != len(self.shape) + 1 or x.shape[1:] != self.shape:
            raise ValueError(f"x must have shape (B, *{self.shape}), got {x.shape}")
        if x.shape[0] == 0:
            return
        if not np.all(np.isfinite(x)):
            raise ValueError("x must contain only finite values")
        x = x.astype(np.float64, copy=False)
        self.update_from_moments(x.mean(axis=0), x.var(axis=0), x.shape[0])

    def update_from_moments(
        self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float
    ) -> None:
        """Merge a batch given by its mean, population variance and count (Chan et al.)."""
        batch_count = real_number(batch_count, "batch_count", low=0.0, low_open=True)
        batch_mean = np.asarray(batch_mean, dtype=np.float64)
        batch_var = np.asarray(batch_var, dtype=np.float64)
        for name, a in (("batch_mean", batch_mean), ("batch_var", batch_var)):
            if a.shape != self.shape:
                raise ValueError(f"{name} must have shape {self.shape}, got {a.shape}")
        n = self.count
        n_new = n + batch_count
        d = batch_mean - self.mean
        self.mean = self.mean + d * (batch_count / n_new)
        m2 = self.var * n + batch_var * batch_count + d * d * (n * batch_count / n_new)
        self.var = m2 / n_new
        self.count = n_new

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of ``mean``, ``var`` (shape ``shape``) and ``count`` (0-d), all float64."""
        return {
            "mean": self.mean.copy(),
            "var": self.var.copy(),
            "count": np.array(self.count, dtype=np.float64),
        }

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Restore the statistics from :meth:`state_dict` output (validated, copied)."""
        mean = _state_array(d, "mean", self.shape)
        var = _state_array(d, "var", self.shape)
        count = float(_state_array(d, "count", ()))
        if np.any(var < 0):
            raise ValueError("state 'var' must be >= 0")
        if count < 0:
            raise ValueError(f"state 'count' must be >= 0, got {count}")
        self.mean, self.var, self.count = mean, var, count


class ObservationNormalizer:
    r"""Standardise observations with running statistics, then clip.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of one observation, ``obs_shape``.
    clip : float, default 10.0
        Normalised values are clipped to ``[-clip, clip]``; > 0 (``np.inf`` disables clipping).
    epsilon : float, default 1e-8
        Added to the variance under the square root, > 0, so that a constant feature
        (variance 0) maps to 0 instead of dividing by zero.

    Attributes
    ----------
    rms : RunningMeanStd
        The statistics (pseudo-count 1e-4).
    frozen : bool
        When true, :meth:`normalize` never updates the statistics (evaluation).

    Notes
    -----
    .. math::

        \tilde o = \operatorname{clip}\!\left(\frac{o - \mu}{\sqrt{\sigma^2 + \epsilon}},
        -c, c\right)

    The statistics are updated with the batch *first*, then the batch is normalised with the
    updated statistics (as in common implementations), so the very first batch is already
    roughly standardised.

    Examples
    --------
    >>> import numpy as np
    >>> norm = ObservationNormalizer(2, clip=5.0)
    >>> out = norm.normalize(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> np.round(out, 3)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> norm.freeze()
    >>> np.round(norm.normalize(np.array([100.0, 20.0])), 3)  # clipped; stats unchanged
    array([5., 0.])
    """

    def __init__(
        self, shape: int | tuple[int, ...], *, clip: float = 10.0, epsilon: float = 1e-8
    ) -> None:
        self.rms = RunningMeanStd(shape)
        self.clip = real_number(clip, "clip", low=0.0, low_open=True)
        self.epsilon = real_number(epsilon, "epsilon", low=0.0, low_open=True)
        self.frozen = False

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one observation."""
        return self.rms.shape

    def freeze(self) -> None:
        """Stop updating the statistics (evaluation mode)."""
        self.frozen = True

    def unfreeze(self) -> None:
        """Resume updating the statistics in :meth:`normalize` (training mode)."""
        self.frozen = False

    def normalize(self, obs: np.ndarray, update: bool = True) -> np.ndarray:
        """Update the statistics with ``obs`` (unless frozen or ``update=False``), then normalise.

        Parameters
        ----------
        obs : ndarray of shape ``(..., *shape)``
            One observation ``shape`` or a batch, e.g. ``(n_envs, *shape)``; all leading
            axes count as samples.
        update : bool, default True
            Whether to merge ``obs`` into the statistics first; ignored when frozen.

        Returns
        -------
        ndarray of the shape of ``obs``, float64
        """
        obs = np.asarray(obs)
        k = len(self.shape)
        if obs.ndim < k or obs.shape[obs.ndim - k :] != self.shape:
            raise ValueError(f"obs must have shape (..., *{self.shape}), got {obs.shape}")
        if update and not self.frozen:
            self.rms.update(obs.reshape((-1, *self.shape)))
        out = (obs - self.rms.mean) / np.sqrt(self.rms.var + self.epsilon)
        return np.clip(out, -self.clip, self.clip)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The statistics (``mean``, ``var``, ``count``); ``clip``/``epsilon``/``frozen`` are
        configuration, not state."""
        return self.rms.state_dict()

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Restore the statistics from :meth:`state_dict` output."""
        self.rms.load_state_dict(d)


class RewardScaler:
    r"""Scale rewards by the running standard deviation of the discounted return.

    Parameters
    ----------
    n_envs : int
        Number of parallel environments, >= 1.
    gamma : float, default 0.99
        Discount of the running return, in [0, 1].
    clip : float, default 10.0
        Scaled rewards are clipped to ``[-clip, clip]``; > 0.
    epsilon : float, default 1e-8
        Added to the variance under the square root, > 0.

    Attributes
    ----------
    returns : ndarray of shape (n_envs,)
        :math:`R`, the discounted return of the current episode of each environment so far.
    rms : RunningMeanStd
        Statistics (scalar) of every :math:`R_t` seen.

    Notes
    -----
    For each call with rewards :math:`r_t` (shape ``(n_envs,)``) and
    :math:`\mathrm{done}_t = \mathrm{term}_t \lor \mathrm{trunc}_t`:

    .. math::

        R_t &= \gamma R_{t-1} (1 - \mathrm{done}_{t-1}) + r_t, \qquad R_{-1} = 0, \\
        \tilde r_t &= \operatorname{clip}\!\left(r_t / \sqrt{\operatorname{Var}[R] + \epsilon},
        -c, c\right),

    where :math:`\operatorname{Var}[R]` includes the :math:`R_t` of this call. Implemented as:
    accumulate, update the statistics, scale, then reset :math:`R` to 0 for environments whose
    episode ended at this step (truncation resets too: the next reward belongs to a new episode).
    The mean of :math:`R` is not subtracted, so the sign of rewards is kept.

    Examples
    --------
    >>> import numpy as np
    >>> scaler = RewardScaler(2, gamma=0.5)
    >>> no = np.array([False, False])
    >>> _ = scaler.scale(np.array([1.0, 2.0]), no, np.array([True, False]))
    >>> scaler.returns  # env 0 ended its episode: reset
    array([0., 2.])
    >>> _ = scaler.scale(np.array([1.0, 2.0]), no, no)
    >>> scaler.returns
    array([1., 3.])
    """

    def __init__(
        self, n_envs: int, *, gamma: float = 0.99, clip: float = 10.0, epsilon: float = 1e-8
    ) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, int | np.integer) or n_envs < 1:
            raise ValueError(f"n_envs must be an int >= 1, got {n_envs!r}")
        g = real_number(gamma, "gamma", low=0.0, high=1.0)
        self.n_envs = int(n_envs)
        self.gamma = g
        self.clip = real_number(clip, "clip", low=0.0, low_open=True)
        self.epsilon = real_number(epsilon, "epsilon", low=0.0, low_open=True)
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(self.n_envs)

    def _check_step(self, name: str, a: object, kind: str) -> np.ndarray:
        a = np.asarray(a)
        if a.shape != (self.n_envs,):
            raise ValueError(f"{name} must have shape ({self.n_envs},), got {a.shape}")
        if kind == "bool" and a.dtype != np.bool_:
            raise ValueError(f"{name} must be a bool array, got dtype {a.dtype}")
        if kind == "real" and (a.dtype.kind not in "iuf" or not np.all(np.isfinite(a))):
            raise ValueError(f"{name} must be a finite real array, got dtype {a.dtype}")
        return a

    def scale(
        self,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        *,
        update: bool = True,
    ) -> np.ndarray:
        """Scale one step of rewards.

        Parameters
        ----------
        rewards : ndarray of shape (n_envs,)
        terminated, truncated : bool ndarray of shape (n_envs,)
            Whether this step ended the episode of each environment.
        update : bool, default True
            Whether to merge the running returns into the statistics; :math:`R` is tracked
            either way.

        Returns
        -------
        ndarray of shape (n_envs,), float64
            The scaled, clipped rewards.
        """
        r = self._check_step("rewards", rewards, "real").astype(np.float64)
        term = self._check_step("terminated", terminated, "bool")
        trunc = self._check_step("truncated", truncated, "bool")
        self.returns = self.gamma * self.returns + r  # R_t = gamma R_{t-1} + r_t
        if update:
            self.rms.update(self.returns)
        scaled = np.clip(r / math.sqrt(float(self.rms.var) + self.epsilon), -self.clip, self.clip)
        self.returns[term | trunc] = 0.0  # the next step starts a new episode
        return scaled

    def state_dict(self) -> dict[str, np.ndarray]:
        """Statistics (``mean``, ``var``, ``count``) and the running ``returns`` (n_envs,)."""
        d = self.rms.state_dict()
        d["returns"] = self.returns.copy()
        return d

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Restore from :meth:`state_dict` output."""
        returns = _state_array(d, "returns", (self.n_envs,))
        self.rms.load_state_dict(d)
        self.returns = returns
