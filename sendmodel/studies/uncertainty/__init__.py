"""Uncertain inputs carried through a comparison: parameter sets drawn from the ranges, each option on the same
draws and the same replications (common random numbers at both levels)."""
