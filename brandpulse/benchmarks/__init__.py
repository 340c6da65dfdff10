"""Benchmark drivers behind `brandpulse bench …`: each measures the real path and a naive way in the same run."""
