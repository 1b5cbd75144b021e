"""Where the package and its source checkout are on disk (scenario and data folders are found from here)."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SOURCE_ROOT = PACKAGE_DIR.parent  # the repository, in a source checkout
#: Where the published-figure extracts live by default: the repository's ``data/`` folder.
DEFAULT_DATA_DIR = SOURCE_ROOT / "data"


def data_dir() -> Path:
    """The folder holding ``sen2/``, ``ons/`` and ``nhs_chs/``: ``$SENDMODEL_DATA`` or the repository's ``data/``."""
    return Path(os.environ.get("SENDMODEL_DATA", DEFAULT_DATA_DIR))


def data_file(rel: str) -> Path:
    """A published-figure extract by its path under :func:`data_dir`; a clear error when it is not there."""
    path = data_dir() / rel
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: the published figures are read from the repository's data/ folder "
            "(or $SENDMODEL_DATA); see data/README.md"
        )
    return path
