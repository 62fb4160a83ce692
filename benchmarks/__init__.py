"""Benchmarks of the running stack: ``make bench`` (``python -m benchmarks.run``)."""
