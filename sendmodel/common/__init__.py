"""Helpers with no domain in them: atomic output folders, manifests, worker pools, the version."""
