"""Calibration of the baseline against published national statistics, and back-testing.

- :mod:`.targets`: the targets, read from DfE SEN2, ONS and NHS community-health figures in ``data/``;
- :mod:`.compare`: a year's demand into a scenario, and the model-versus-target table;
- :mod:`.fit`: the calibration method (closed-form routine steps, then least squares with common random numbers);
- :mod:`.backtest`: other years' demand through the 2024 calibration;
- :mod:`.plots`: the figures.

Command line: ``sendmodel calibrate [--year 2024] --out DIR [--backtest] [--fit]``.
"""

from sendmodel.studies.calibration.compare import compare as compare_with_published
from sendmodel.studies.calibration.compare import scenario_for_year
from sendmodel.studies.calibration.targets import CALIBRATION_YEAR, published
from sendmodel.studies.calibration.targets import targets as calibration_targets

__all__ = ["CALIBRATION_YEAR", "calibration_targets", "compare_with_published", "published", "scenario_for_year"]
