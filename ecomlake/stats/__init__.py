"""`ecomlake stats`: how close a lake's data is to the knobs of its config."""

from ecomlake.stats.report import StatsReport, stats_lake

__all__ = ["StatsReport", "stats_lake"]
