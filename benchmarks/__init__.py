"""`make bench`: every benchmarks/bench_*.py module's `run()`, figures into RESULTS.md."""
