"""The repository stands on its own: the README, docs and scenario files name only files that are in it, and
never the working notes it was built from."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "data" / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "scenarios").rglob("*.yaml"))]
PATH = re.compile(r"(?<![\w./-])((?:data|docs|scenarios|notebooks|benchmarks|sendmodel|tests|dashboards)/"
                  r"[A-Za-z0-9_./*-]*[A-Za-z0-9_*])")
OUTSIDE = re.compile(r"\.\./shared|\bseed 0\d\d\b|FIGURES\.md|DESIGN\.md|GLOSSARY\.md|STYLE\.md")


def _paths(text: str) -> set[str]:
    return {m.group(1).rstrip(".") for m in PATH.finditer(text)}


PROVENANCE = ROOT / "data" / "README.md"  # names the files inside the DfE/ONS releases the extracts came from
WRITTEN = re.compile(r"--out[ =](\S+)")  # a file a command in the document writes


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_document_names_only_files_in_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert not OUTSIDE.search(text), f"{doc.name} points outside the repository: {OUTSIDE.search(text).group(0)!r}"
    if doc == PROVENANCE:
        return
    written = {m.group(1).strip("`") for m in WRITTEN.finditer(text)}
    missing = []
    for p in sorted(_paths(text) - written):
        if "*" in p:
            if not list(ROOT.glob(p)):
                missing.append(p)
        elif not (ROOT / p).exists() and not (doc.parent / p).exists():
            missing.append(p)
    assert not missing, f"{doc.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_the_check_sees_a_missing_file_and_a_pointer_outside():
    assert _paths("see `docs/nowhere.md` and scenarios/options/*.yaml.") == {"docs/nowhere.md",
                                                                           "scenarios/options/*.yaml"}
    assert not (ROOT / "docs" / "nowhere.md").exists()
    assert OUTSIDE.search("as ../shared/DESIGN.md says") and OUTSIDE.search("cite seed 002")
