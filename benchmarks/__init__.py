"""Reproducible benchmarks: each compares against a named yardstick in the same run."""
