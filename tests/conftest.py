"""Shared test configuration: hypothesis profiles.

Under ``CI=true`` the derandomized ``ci`` profile is loaded, so that CI explores the same
examples on every run; locally the ``dev`` profile explores fresh ones each run.
"""

import os

from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

from npytrpo.memory import keep_freed_memory

# NumPy and SciPy each bundle an OpenBLAS whose idle threads spin; on the small matrices of
# these tests two pools fighting over 2 cores make some calls 30x slower. One thread is fastest.
threadpool_limits(limits=1, user_api="blas")
# Keep freed memory in the heap: fresh pages for every large temporary cost more than the math.
keep_freed_memory()

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")
