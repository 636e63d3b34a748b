"""pksim benchmarks: `make bench` (python -m benchmarks)."""
