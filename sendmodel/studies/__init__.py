"""Layer 4, studies built on runs: sweeps, the capacity solver and business case, calibration, verification."""
