"""Rewrite the frozen golden tables: ``python -m tests.golden.regenerate`` (only when results are meant to
change; say why in the commit)."""

from tests.golden.cases import CASES, write

if __name__ == "__main__":
    for name, make in CASES.items():
        print(write(name, make()))  # noqa: T201
