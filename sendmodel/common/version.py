"""The package version, in one place below every layer (manifests and stores record it)."""

__version__ = "0.1.0"
