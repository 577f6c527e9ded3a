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

from ._validate import (
    bool_array,
    boolean,
    int_sequence,
    integer,
    real_array,
    real_number,
    state_array,
)

__all__ = ["RunningMeanStd", "ObservationNormalizer", "RewardScaler"]


def _batch_shape(lead: str, shape: tuple[int, ...]) -> str:
    """``"(B, 3)"`` for lead ``"B"`` and shape ``(3,)``; ``"(B,)"`` for shape ``()``."""
    return f"({lead}, {', '.join(map(str, shape))})" if shape else f"({lead},)"


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
    name : str, default "x"
        What the samples are called in error messages (``"observations"`` in
        :class:`ObservationNormalizer`).

    Raises
    ------
    TypeError
        If ``shape`` is not an int or a tuple/list of ints, or ``epsilon`` not a real number.
    ValueError
        If an entry of ``shape`` or ``epsilon`` is negative, or ``epsilon`` is not finite.

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

    A merge whose mean or variance is not finite (samples of magnitude ~1e154 or more, whose
    squares overflow) raises ValueError and leaves the statistics unchanged: they never hold inf.

    Examples
    --------
    >>> import numpy as np
    >>> rms = RunningMeanStd(shape=(2,), epsilon=0.0)
    >>> rms.update(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> rms.update(np.array([[4.0, 1.0]]))
    >>> rms.mean, rms.var, rms.count
    (array([2., 1.]), array([2.66666667, 0.        ]), 3.0)
    """

    def __init__(
        self, shape: int | tuple[int, ...] = (), epsilon: float = 1e-4, *, name: str = "x"
    ) -> None:
        if isinstance(shape, (tuple, list)):
            self.shape = int_sequence(shape, "shape", low=0)
        else:
            self.shape = (integer(shape, "shape", low=0),)
        self.epsilon = real_number(epsilon, "epsilon", low=0.0)
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        self.name = name
        self.mean = np.zeros(self.shape)
        self.var = np.ones(self.shape)
        self.count = self.epsilon

    @property
    def std(self) -> np.ndarray:
        """Standard deviation ``sqrt(var)``, ndarray of shape ``shape``."""
        return np.sqrt(self.var)

    def update(self, x: np.ndarray) -> None:
        """Merge a batch ``x`` of shape ``(B, *shape)`` into the statistics (B = 0: no change).

        Raises TypeError if ``x`` is not a real array; ValueError if its trailing shape differs
        from ``shape``, an entry is not finite, or the merged statistics would overflow. The
        messages call ``x`` by the ``name`` given to the constructor.
        """
        x = real_array(x, self.name, allow_int=True)
        if x.ndim != len(self.shape) + 1 or x.shape[1:] != self.shape:
            shape = _batch_shape("B", self.shape)
            raise ValueError(f"{self.name} must have shape {shape}, got {x.shape}")
        if x.shape[0] == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # _merge reports any overflow
            self._merge(x.mean(axis=0), x.var(axis=0), float(x.shape[0]))

    def update_from_moments(
        self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float
    ) -> None:
        """Merge a batch given by its mean, population variance and count (Chan et al.).

        ``batch_mean`` and ``batch_var`` are finite real arrays of shape ``shape``, ``batch_var``
        >= 0, ``batch_count`` > 0; ValueError if the merged statistics would overflow.
        """
        batch_count = real_number(batch_count, "batch_count", low=0.0, low_open=True)
        batch_mean = real_array(batch_mean, "batch_mean", allow_int=True)
        batch_var = real_array(batch_var, "batch_var", allow_int=True)
        for name, a in (("batch_mean", batch_mean), ("batch_var", batch_var)):
            if a.shape != self.shape:
                raise ValueError(f"{name} must have shape {self.shape}, got {a.shape}")
        if np.any(batch_var < 0):
            raise ValueError(f"batch_var must be >= 0, got minimum {float(batch_var.min())!r}")
        with np.errstate(over="ignore", invalid="ignore"):  # _merge reports any overflow
            self._merge(batch_mean, batch_var, batch_count)

    def _merge(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float) -> None:
        """Chan et al.'s merge of checked float64 moments; raise rather than store inf.

        Called under ``np.errstate(over="ignore", invalid="ignore")``: an overflow is reported
        here as a ValueError naming the samples, not as a RuntimeWarning.
        """
        n = self.count
        n_new = n + batch_count
        d = batch_mean - self.mean
        mean = self.mean + d * (batch_count / n_new)
        m2 = self.var * n + batch_var * batch_count + d * d * (n * batch_count / n_new)
        var = m2 / n_new
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
            raise ValueError(
                f"{self.name} must be small enough for their running variance to stay finite "
                f"(magnitudes below ~1e154), got a batch with mean up to "
                f"{float(np.max(np.abs(batch_mean))):.3g} in magnitude and variance up to "
                f"{float(np.max(batch_var)):.3g}"
            )
        self.mean, self.var, self.count = mean, var, n_new

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of ``mean``, ``var`` (shape ``shape``) and ``count`` (0-d), all float64."""
        return {
            "mean": self.mean.copy(),
            "var": self.var.copy(),
            "count": np.array(self.count, dtype=np.float64),
        }

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Restore the statistics from :meth:`state_dict` output (validated, copied)."""
        mean = state_array(d, "mean", self.shape)
        var = state_array(d, "var", self.shape)
        count = float(state_array(d, "count", ()))
        if np.any(var < 0):
            raise ValueError(f"state['var'] must be >= 0, got minimum {float(var.min())!r}")
        if count < 0:
            raise ValueError(f"state['count'] must be >= 0, got {count!r}")
        self.mean, self.var, self.count = mean, var, count


class ObservationNormalizer:
    r"""Standardise observations with running statistics, then clip.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of one observation, ``obs_shape``.
    clip : float, default 10.0
        Normalised values are clipped to ``[-clip, clip]``; finite and > 0 (a large value such as
        ``1e6`` in effect disables clipping).
    epsilon : float, default 1e-8
        Added to the variance under the square root, > 0, so that a constant feature
        (variance 0) maps to 0 instead of dividing by zero.

    Raises
    ------
    TypeError
        If ``shape`` is not an int or a tuple of ints, or ``clip``/``epsilon`` not real numbers.
    ValueError
        If ``clip`` or ``epsilon`` is not finite and > 0.

    Attributes
    ----------
    rms : RunningMeanStd
        The statistics (pseudo-count 1e-4), whose messages call the samples "observations".
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
        self.rms = RunningMeanStd(shape, name="observations")
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

        Raises
        ------
        TypeError
            If ``obs`` is not a real array or ``update`` not a bool.
        ValueError
            If ``obs`` does not end in ``shape``, has NaN/inf entries, or is so large (~1e154)
            that the running variance would overflow; the messages say "observations".
        """
        obs = real_array(obs, "observations", allow_int=True)
        update = boolean(update, "update")
        k = len(self.shape)
        if obs.ndim < k or obs.shape[obs.ndim - k :] != self.shape:
            shape = _batch_shape("...", self.shape)
            raise ValueError(f"observations must have shape {shape}, got {obs.shape}")
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

    Raises
    ------
    TypeError
        If ``n_envs`` is not an int, or ``gamma``/``clip``/``epsilon`` not real numbers.
    ValueError
        If ``n_envs`` < 1, ``gamma`` is outside [0, 1], or ``clip``/``epsilon`` is not finite
        and > 0.

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
        self.n_envs = integer(n_envs, "n_envs", low=1)
        self.gamma = real_number(gamma, "gamma", low=0.0, high=1.0)
        self.clip = real_number(clip, "clip", low=0.0, low_open=True)
        self.epsilon = real_number(epsilon, "epsilon", low=0.0, low_open=True)
        self.rms = RunningMeanStd((), name="discounted returns")
        self.returns = np.zeros(self.n_envs)

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

        Raises
        ------
        TypeError
            If ``rewards`` is not a real array, a mask not a bool array, or ``update`` not a bool.
        ValueError
            If an array is not of shape (n_envs,), a reward is not finite, or the rewards are so
            large that the discounted returns or their running variance overflow. The state is
            then unchanged.
        """
        r = real_array(rewards, "rewards", allow_int=True)
        term = bool_array(terminated, "terminated")
        trunc = bool_array(truncated, "truncated")
        update = boolean(update, "update")
        for name, a in (("rewards", r), ("terminated", term), ("truncated", trunc)):
            if a.shape != (self.n_envs,):
                raise ValueError(f"{name} must have shape ({self.n_envs},), got {a.shape}")
        with np.errstate(over="ignore"):  # an overflow is reported just below
            returns = self.gamma * self.returns + r  # R_t = gamma R_{t-1} + r_t
        if not np.all(np.isfinite(returns)):
            raise ValueError(
                "rewards must keep the discounted returns finite, got rewards up to "
                f"{float(np.max(np.abs(r))):.3g} in magnitude"
            )
        if update:
            self.rms.update(returns)
        scaled = np.clip(r / math.sqrt(float(self.rms.var) + self.epsilon), -self.clip, self.clip)
        self.returns = returns
        self.returns[term | trunc] = 0.0  # the next step starts a new episode
        return scaled

    def state_dict(self) -> dict[str, np.ndarray]:
        """Statistics (``mean``, ``var``, ``count``) and the running ``returns`` (n_envs,)."""
        d = self.rms.state_dict()
        d["returns"] = self.returns.copy()
        return d

    def load_state_dict(self, d: Mapping[str, np.ndarray]) -> None:
        """Restore from :meth:`state_dict` output."""
        returns = state_array(d, "returns", (self.n_envs,))
        self.rms.load_state_dict(d)
        self.returns = returns
