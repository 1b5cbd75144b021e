"""Where the package and its source checkout are on disk (scenario and data folders are found from here)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SOURCE_ROOT = PACKAGE_DIR.parent  # the repository, in a source checkout
