"""Benchmark suite: throughput, write floor, time split, scaling, memory, tpchgen.

Run `python -m bench` (full, by hand) or `python -m bench --smoke` (seconds, in CI).
"""
