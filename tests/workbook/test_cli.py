"""``sendmodel template`` and ``sendmodel import``: exit 0 on good input; 2 with every cell error on bad input,
no traceback, and nothing written."""

import argparse
import subprocess
import sys

import openpyxl
import pytest

import sendmodel
from sendmodel.cli.workbook import register
from tests.workbook.conftest import ROOT, set_cell, set_field

# Until "workbook" is in sendmodel.cli.commands.MODULES, the commands run from a parser of their own.
RUNNER = ("import argparse, sys\n"
          "from sendmodel.cli.workbook import register\n"
          "p = argparse.ArgumentParser(prog='sendmodel')\n"
          "register(p.add_subparsers(dest='command', required=True))\n"
          "a = p.parse_args(sys.argv[1:])\n"
          "raise SystemExit(a.func(a))\n")


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-c", RUNNER, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def run_inline(*args) -> int:
    p = argparse.ArgumentParser(prog="sendmodel")
    register(p.add_subparsers(dest="command", required=True))
    a = p.parse_args([str(x) for x in args])
    return a.func(a)


def test_template_then_import(tmp_path):
    wb, out = tmp_path / "area.xlsx", tmp_path / "area.yaml"
    r = cli("template", wb)
    assert r.returncode == 0, r.stderr
    assert "pre-filled from scenarios/baseline.yaml" in r.stdout and wb.exists()
    assert openpyxl.load_workbook(wb)["area"]["B2"].value == "baseline"
    r = cli("import", wb, "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"Wrote {out}" in r.stdout
    assert sendmodel.load_scenario(out).name == "baseline"
    assert "by `sendmodel import`" in out.read_text().splitlines()[0]
    r = cli("import", wb, "--out", out)  # its own file: replaced
    assert r.returncode == 0, r.stderr


def test_template_from_another_scenario_and_csv(tmp_path):
    r = cli("template", tmp_path / "opt", "--csv", "--from", "scenarios/options/spa_triage.yaml")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "opt" / "services.csv").exists()
    assert run_inline("import", tmp_path / "opt", "--out", tmp_path / "opt.yaml") == 0
    assert sendmodel.load_scenario(tmp_path / "opt.yaml").ehc.triage.enabled


def test_bad_cells_exit_2_listing_them_all_and_write_nothing(tmp_path):
    wb, out = tmp_path / "area.xlsx", tmp_path / "area.yaml"
    assert run_inline("template", wb) == 0
    book = openpyxl.load_workbook(wb)
    refs = [set_cell(book["services"], "slt", "pas_per_week", "lots"),
            set_field(book["area"], "population", "many"),
            set_cell(book["services"], "ot", "kind", "hospital")]
    book.save(wb)
    r = cli("import", wb, "--out", out)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert f"error: {wb}: 3 problems; nothing written:" in r.stderr
    for ref in refs:
        assert f"  {ref} (" in r.stderr
    assert "'lots' is not a number; PAs a week, 0 to 2,000" in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [wb]


def test_import_refuses_to_replace_a_scenario_it_did_not_write(tmp_path):
    wb, out = tmp_path / "area.xlsx", tmp_path / "mine.yaml"
    assert run_inline("template", wb) == 0
    out.write_text("name: mine\n")
    r = cli("import", wb, "--out", out)
    assert r.returncode == 2 and "was not written by `sendmodel import`" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text() == "name: mine\n"
    assert run_inline("import", wb, "--out", out, "--force") == 0


@pytest.mark.parametrize("args, message", [
    (("template", "{tmp}/area.txt"), "give a workbook file name ending .xlsx"),
    (("template", "{tmp}/area.xlsx", "--from", "{tmp}/nope.yaml"), "file not found"),
    (("import", "{tmp}/nope.xlsx", "--out", "{tmp}/a.yaml"), "no such file or folder"),
    (("import", "{tmp}/area.xlsx", "--out", "{tmp}/a.txt"), "give a scenario file name ending .yaml"),
    (("import", "{tmp}/junk.xlsx", "--out", "{tmp}/a.yaml"), "not an Excel workbook"),
])
def test_bad_arguments_exit_2_with_a_message(tmp_path, args, message):
    (tmp_path / "junk.xlsx").write_text("junk")
    r = cli(*(a.format(tmp=tmp_path) for a in args))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a.yaml").exists() and not (tmp_path / "area.xlsx").exists()


def test_template_refuses_to_replace_a_workbook(tmp_path):
    wb = tmp_path / "area.xlsx"
    assert run_inline("template", wb) == 0
    book = openpyxl.load_workbook(wb)
    set_field(book["area"], "name", "filled_in")
    book.save(wb)
    r = cli("template", wb)
    assert r.returncode == 2 and "already exists" in r.stderr
    assert openpyxl.load_workbook(wb)["area"]["B2"].value == "filled_in"
    assert run_inline("template", wb, "--force") == 0
    assert openpyxl.load_workbook(wb)["area"]["B2"].value == "baseline"


def test_in_the_real_command_line(tmp_path, monkeypatch, capsys):
    """Through ``sendmodel``'s own parser and error handling (with "workbook" in MODULES)."""
    from sendmodel.cli import commands
    from sendmodel.cli.main import main

    if "workbook" not in commands.MODULES:
        monkeypatch.setattr(commands, "MODULES", [*commands.MODULES, "workbook"])
    wb, out = tmp_path / "a.xlsx", tmp_path / "a.yaml"
    assert main(["template", str(wb)]) == 0
    assert main(["import", str(wb), "--out", str(out)]) == 0
    book = openpyxl.load_workbook(wb)
    set_cell(book["services"], "slt", "pas_per_week", -3)
    book.save(wb)
    out.unlink()
    capsys.readouterr()
    assert main(["import", str(wb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "services!E3 (pas_per_week): -3 is out of range; PAs a week, 0 to 2,000" in err and not out.exists()
