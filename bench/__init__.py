"""kubehooks benchmarks: hook speed in process, under load over HTTP, and memory.

`python -m bench` runs everything and prints a table; `--quick` is the CI smoke test. Every
comparison is measured side by side in the same run, because machines are noisy.
"""
