"""The plotting backend, chosen in one place: every figure module takes ``plt`` from here.

Jupyter (and any user who sets ``MPLBACKEND``) keeps its own backend; scripts, the command line and worker
processes draw off-screen (Agg), so that no window opens and no display is needed. Figure functions return
figures and never call ``show()``.
"""

import os

import matplotlib

if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt"]
