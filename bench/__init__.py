"""Reproducible benchmark (GitHub issue #7): bcsi's set-and-batch resources against a per-user baseline.

`python -m bench [--n N ...]` (or `make bench [N=100]`) runs both approaches against sandboxes seeded with N users
and prints a markdown table; results go to bench/out/results.json.
"""
