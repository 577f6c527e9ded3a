"""Details of npytrpo.value found by mutation testing (benchmarks/mutation.py): explained
variance at its edges, fit as documented (SciPy's L-BFGS-B, its fields, the rejection paths)."""

import warnings

import numpy as np

from npytrpo.value import explained_variance


# ------------------------------------------------------------------------------ explained var.
def test_explained_variance_of_no_targets_is_zero_without_a_warning():
    """N = 0 is a valid (N,) input: nothing to explain gives 0.0, and no RuntimeWarning (it
    used to warn "Degrees of freedom <= 0" from np.var before reaching the N = 0 case)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert explained_variance(np.zeros(0), np.zeros(0)) == 0.0
