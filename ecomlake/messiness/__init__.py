"""Defects applied after render, with their own keyed streams and a ground-truth defect log."""

from ecomlake.messiness.apply import apply_messiness
from ecomlake.messiness.levels import (
    CLEAN_LEVELS,
    MESSINESS_LEVELS,
    MESSY_LEVELS,
    PRESETS,
    MessLevel,
    RunLevel,
    check_level,
    level_from_record,
    resolve_level,
    run_fingerprint,
)
from ecomlake.messiness.log import (
    COUNTS_NAME,
    DEFECT_PK,
    DEFECT_SCHEMA,
    DEFECTS_TABLE,
    counts_json,
    log_table_for,
    split_log,
)
from ecomlake.messiness.registry import expected_breaks
from ecomlake.messiness.undo import undo_defects

__all__ = [
    "CLEAN_LEVELS",
    "COUNTS_NAME",
    "DEFECTS_TABLE",
    "DEFECT_PK",
    "DEFECT_SCHEMA",
    "MESSINESS_LEVELS",
    "MESSY_LEVELS",
    "PRESETS",
    "MessLevel",
    "RunLevel",
    "apply_messiness",
    "check_level",
    "counts_json",
    "expected_breaks",
    "level_from_record",
    "log_table_for",
    "resolve_level",
    "run_fingerprint",
    "split_log",
    "undo_defects",
]
