"""Layer 5, the command line: argument parsing and printing over the layers below, one module per command."""

from sendmodel.cli.main import main

__all__ = ["main"]
