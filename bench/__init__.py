"""Benchmarks: `python -m bench` (or `make bench`) writes a Markdown report; see `bench/harness.py`."""
