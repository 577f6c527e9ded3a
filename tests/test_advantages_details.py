"""Details of npytrpo.advantages.gae found by mutation testing (benchmarks/mutation.py)."""

import re

import numpy as np
import pytest

from npytrpo.advantages import gae


@pytest.mark.parametrize("name", ["values", "next_values", "terminated", "truncated"])
@pytest.mark.parametrize("shape", [(5, 3), (6, 2), (6,), (6, 3, 1)])
def test_every_array_of_another_shape_than_rewards_is_named_with_both_shapes(name, shape):
    """Each of the four arrays paired with rewards must have rewards' shape; otherwise the
    ValueError names that argument (as the user spelt it), rewards' shape and the one received."""
    arrays = dict(
        rewards=np.zeros((6, 3)),
        values=np.zeros((6, 3)),
        next_values=np.zeros((6, 3)),
        terminated=np.zeros((6, 3), dtype=bool),
        truncated=np.zeros((6, 3), dtype=bool),
    )
    arrays[name] = np.zeros(shape, dtype=arrays[name].dtype)
    msg = re.escape(f"{name} must have the shape of rewards (6, 3), got {shape}")
    with pytest.raises(ValueError, match=f"^{msg}$"):
        gae(**arrays)
