"""The metric version. Bump it whenever a change can move any stored number (a formula, a
threshold, a mask, calibration); `python -m tracker reanalyze` then recomputes every photo
whose results carry an older version."""

METRIC_VERSION = "2026.12.2"
