"""Batch sweeps: the spec, running it over processes or Dask, the SQLite store, effects and plots."""
