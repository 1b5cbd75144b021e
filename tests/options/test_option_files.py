"""The option scenario files: each extends the baseline, changes only what its option changes, says why."""


import pytest
import yaml

import sendmodel
from sendmodel.scenario.loading import load_raw
from tests.conftest import SCENARIOS
from tests.options.conftest import option_files

# What each option may change (dotted path prefixes), besides name, description and its set-up costs.
ALLOWED = {
    "status_quo": set(),
    "dmo_2pa_admin": {"ehc.admin_support", "services.dmo.pas_per_week", "services.dmo_admin.pas_per_week"},
    "spa_triage": {"ehc.triage.enabled", "services.spa.pas_per_week", "services.spa.leave_weeks_per_year"},
    "reserved_slots": {f"services.{s}.ring_fenced_pas_per_week"
                       for s in ("community_paediatrics", "slt", "ot", "physio", "camhs")},
    "extra_pas": {f"services.{s}.capacity_changes" for s in ("community_paediatrics", "slt", "ot", "physio", "camhs")},
    "pooled_therapy": {"pools.therapy", "services.ot.discipline"},
    "initial_advice": {f"services.{s}.advice.initial_advice"
                       for s in ("community_paediatrics", "slt", "ot", "physio", "camhs")},
}
ALLOWED["combined_front_door"] = ALLOWED["dmo_2pa_admin"] | ALLOWED["spa_triage"] | ALLOWED["reserved_slots"]
COMMON = {"name", "description", "costs.setup"}


def _changed(a, b, prefix=""):
    """Dotted paths where two merged mappings differ."""
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = (a if isinstance(a, dict) else {}), (b if isinstance(b, dict) else {})
        out = set()
        for k in set(a) | set(b):
            out |= _changed(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return set() if a == b else {prefix.rstrip(".")}


def test_there_is_one_file_per_option():
    names = {f.stem for f in option_files()}
    assert names == set(ALLOWED), f"expected option files {sorted(ALLOWED)}, found {sorted(names)}"


@pytest.mark.parametrize("path", option_files(), ids=lambda p: p.stem)
def test_option_extends_baseline_and_says_what_and_why(path):
    text = path.read_text()
    data = yaml.safe_load(text)
    assert data.get("extends") == "../baseline.yaml", f"{path.name} should extend ../baseline.yaml"
    sc = sendmodel.load_scenario(path)
    assert sc.name == path.stem, f"{path.name}: name {sc.name!r} should be the file name {path.stem!r}"
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    assert "What it models" in comments, f"{path.name}: comments should say what the option models"
    titles = ("CDC joint commissioning bulletin", "CCG duties summary", "CDC DMO/DCO handbook", "SEND Pathfinder pack",
              "NHS England quick guide")  # docs/sources.md
    assert any(t in comments for t in titles), f"{path.name}: comments should name the source document"


@pytest.mark.parametrize("path", option_files(), ids=lambda p: p.stem)
def test_option_changes_only_what_it_models(path):
    base = load_raw(SCENARIOS / "baseline.yaml")
    changed = _changed(load_raw(path), base)
    allowed = ALLOWED[path.stem] | COMMON
    extra = {c for c in changed if not any(c == a or c.startswith(a + ".") for a in allowed)}
    assert not extra, f"{path.name} changes {sorted(extra)}, beyond what its option models ({sorted(allowed)})"
    if path.stem != "status_quo":
        assert changed - {"name", "description", "costs.setup"}, f"{path.name} changes nothing in the model"


def test_brief_settings_of_each_option(options):
    d = options["dmo_2pa_admin"]
    assert d.ehc.admin_support and d.services["dmo"].pas_per_week == 2 and d.services["dmo_admin"].pas_per_week > 0
    s = options["spa_triage"]
    assert s.ehc.triage.enabled and s.services["spa"].pas_per_week > 0
    r = options["reserved_slots"]
    assert all(r.services[x].ring_fenced_pas_per_week > 0 for x in ("community_paediatrics", "slt", "ot"))
    p = options["pooled_therapy"]
    pool = next(iter(p.pools.values()))
    assert set(pool.services) == {"slt", "ot", "physio"} and pool.trusted_assessor
    base = options["status_quo"]
    e = options["extra_pas"]
    for svc in ("community_paediatrics", "slt", "ot", "physio", "camhs"):
        extra = sum(c.pas_per_week_delta for c in e.services[svc].capacity_changes)
        assert extra > 0, f"extra_pas should add PAs to {svc} (adds {extra})"
        assert e.services[svc].pas_per_week == base.services[svc].pas_per_week
