"""Details of npytrpo.io that the mutation run of issue 17 found unpinned (see
benchmarks/results/mutation.md, section io)."""
