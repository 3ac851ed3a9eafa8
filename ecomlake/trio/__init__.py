"""The older tool's command trio on our engine: `run-generator` (CSV run dirs) and `export-raw`
(CSV run dir -> lake partitions, byte-identical to `generate`).
"""
