"""Details of the oracle that decide its numbers and verdicts, pinned one property at a time
(issue 17, mutation testing of ``npytrpo/oracle``): argument checks and their messages, the
result's fields in each branch, the margins' definitions, the check's comparisons.
(Kept out of ``test_oracle.py``, which is over the size limit.)
"""

import pytest

from npytrpo.oracle import OracleError, make_case, run_case


def small_case(**conventions):
    return make_case(
        policy="categorical", obs_dim=3, n_actions=3, hidden=[4], batch=12, probes=1, seed=0,
        **conventions,
    )  # fmt: skip


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True, None])
def test_run_refuses_a_dense_limit_that_is_not_an_integer_at_least_zero(bad):
    """dense_limit is an integer >= 0; anything else is refused by name with the value received."""
    with pytest.raises(OracleError) as err:
        run_case(small_case(), dense_limit=bad)
    assert str(err.value) == f"dense_limit must be an integer >= 0, got {bad!r}"
