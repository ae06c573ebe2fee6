"""The benchmarks: the runner (`python -m bench.run_all`), the targets table, the report, the
profiler, and the bench_*.py scripts that print figures. Not installed: run from a checkout.

Importing bench imports the engine's package first: `import recommender` sets the process
environment the engine needs (OMP_WAIT_POLICY, before any OpenMP library loads), so every
`python -m bench.<script>` is tuned as serving and training are, in that one place. The
scripts set none of their own; the processes they start (`recommender ...` commands) import
the engine too.
"""

import recommender  # noqa: F401  (for its process environment, see above)
