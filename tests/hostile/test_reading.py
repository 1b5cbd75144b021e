"""Hostile files: every failure of reading, decoding and parsing a scenario is one ScenarioError naming the file
(and line), never a traceback from the YAML reader, the codec or the file system. One minimal reproducer each."""

from __future__ import annotations

import time

import pytest

import sendmodel
from sendmodel import ScenarioError
from sendmodel.scenario.reading import MAX_BYTES, MAX_DEPTH

from .conftest import BASELINE, write


def _error(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        sendmodel.load_scenario(path)
    err = info.value
    assert "\n" not in str(err), f"one line, please: {err}"
    return err


def test_an_impossible_date_names_the_field_and_line(tmp_path):
    f = write(tmp_path / "date.yaml", f"extends: {BASELINE}\nsimulation:\n  start_date: 2022-02-30\n")
    err = _error(f)
    assert (err.file, err.field, err.line) == (str(f), "simulation.start_date", 3), str(err)
    assert "not a real date" in err.message and "2022-02-30" in err.message and "YYYY-MM-DD" in err.message


def test_a_date_given_as_a_number_is_refused(tmp_path):
    err = _error(write(tmp_path / "n.yaml", f"extends: {BASELINE}\nsimulation: {{start_date: 2024}}\n"))
    assert err.field == "simulation.start_date" and "YYYY-MM-DD" in err.message, str(err)


def test_windows_1252_says_what_it_looks_like(tmp_path):
    f = write(tmp_path / "excel.yaml", f"extends: {BASELINE}\ndescription: costs in \xa3\n".encode("cp1252"))
    err = _error(f)
    assert err.file == str(f) and "not UTF-8" in err.message and "Windows-1252" in err.message, str(err)
    assert "'£'" in err.message and "line 2" in err.message and "save it as UTF-8" in err.message


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_say_what_they_look_like(tmp_path, codec):
    f = write(tmp_path / "wide.yaml", f"extends: {BASELINE}\ndescription: £5\n".encode(codec))
    err = _error(f)
    assert "not UTF-8" in err.message and ("UTF-16" in err.message or "UTF-32" in err.message), str(err)
    assert "save it as UTF-8" in err.message


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    f = write(tmp_path / "bom.yaml", f"extends: {BASELINE}\ndescription: costs in £\n".encode("utf-8-sig"))
    assert sendmodel.load_scenario(f).description == "costs in £"


@pytest.mark.parametrize("target", ["''", ".", "sub", "sub/"])
def test_extends_naming_a_folder(tmp_path, target):
    (tmp_path / "sub").mkdir()
    f = write(tmp_path / "child.yaml", f"name: c\nextends: {target}\n")
    err = _error(f)
    assert (err.file, err.field, err.line) == (str(f), "extends", 2), str(err)
    assert "names a folder" in err.message


def test_a_folder_given_as_the_scenario(tmp_path):
    err = _error(tmp_path)
    assert "is a folder" in err.message, str(err)


def test_a_device_given_as_the_scenario():
    err = _error("/dev/zero")
    assert "not a regular file" in err.message, str(err)


def test_100000_nested_brackets(tmp_path):
    f = write(tmp_path / "deep.yaml", "name: " + "[" * 100_000 + "]" * 100_000 + "\n")
    err = _error(f)
    assert f"more than {MAX_DEPTH} levels" in err.message and err.line == 1, str(err)


def test_deep_mappings(tmp_path):
    f = write(tmp_path / "deep.yaml", "".join(f"{' ' * i}k{i}:\n" for i in range(200)) + " " * 200 + "x: 1\n")
    assert "levels deep" in _error(f).message


def test_a_duplicate_key_names_the_key_and_both_lines(tmp_path):
    f = write(tmp_path / "dup.yaml", f"extends: {BASELINE}\nservices:\n  slt:\n    pas_per_week: 10\n"
              "    label: SLT\n    pas_per_week: 20\n")
    err = _error(f)
    assert err.field == "services.slt.pas_per_week" and "given twice" in err.message, str(err)
    assert "lines 4 and 6" in err.message, str(err)


def test_a_duplicate_top_level_key(tmp_path):
    err = _error(write(tmp_path / "dup.yaml", f"name: a\nname: b\nextends: {BASELINE}\n"))
    assert err.field == "name" and "lines 1 and 2" in err.message, str(err)


def test_a_yaml_merge_key_is_not_a_duplicate(tmp_path):
    f = write(tmp_path / "merge.yaml", f"extends: {BASELINE}\nx: &d {{label: A, kind: health}}\n")
    assert "unknown field 'x'" in _error(f).message  # read fine; the schema then names the stray field
    f = write(tmp_path / "merge2.yaml", f"extends: {BASELINE}\nsimulation:\n  <<: {{warm_up_days: 10}}\n"
              "  warm_up_days: 20\n")
    assert sendmodel.load_scenario(f).simulation.warm_up_days == 20


def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    f = write(tmp_path / "bomb.yaml", "\n".join(lines) + "\npopulation: *a8\n")
    t0 = time.perf_counter()
    err = _error(f)
    assert "aliases" in err.message and "refused" in err.message, str(err)
    assert len(str(err)) < 400 and time.perf_counter() - t0 < 5


def test_a_small_alias_in_a_bad_field_gives_a_short_message(tmp_path):
    """Aliases below the bound still never make a message longer than a line (the repr is cut short)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]" for i in range(1, 5)]
    f = write(tmp_path / "alias.yaml", f"extends: {BASELINE}\n" + "\n".join(lines) + "\npopulation: *a4\n")
    err = _error(f)
    assert len(str(err)) < 600, str(err)


def test_a_value_that_contains_itself(tmp_path):
    err = _error(write(tmp_path / "loop.yaml", "name: &n [*n]\n"))
    assert "cannot contain itself" in err.message or "undefined alias" in err.message, str(err)


def test_a_50_mb_file_is_refused_unread(tmp_path):
    f = tmp_path / "big.yaml"
    with open(f, "wb") as fh:
        fh.write(b"name: big\n")
        fh.truncate(50 * 1024 * 1024)  # sparse: no 50 MB written
    t0 = time.perf_counter()
    err = _error(f)
    assert "MB" in err.message and "refused" in err.message and f"{MAX_BYTES // 1024 // 1024} MB" in err.message
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("text", [
    "!!python/object/apply:os.system ['echo pwned']\n",
    "name: !!python/object/apply:os.system ['echo pwned']\n",
    "name: !!python/name:os.system\n",
    "name: !custom thing\n",
])
def test_yaml_tags_that_build_objects_are_refused(tmp_path, text, capfd):
    err = _error(write(tmp_path / "tag.yaml", text))
    assert "is not allowed" in err.message and "plain values" in err.message, str(err)
    assert "pwned" not in capfd.readouterr().out


@pytest.mark.parametrize("text, words", [
    ("name: [\n", "(line 2): not valid YAML"),
    ("a: b: c\n", "(line 1): not valid YAML (column 5)"),
    ("- a\n- b\n", "not a list"),
    ("just text\n", "single piece of text"),
    ("name: a\n---\nname: b\n", "more than one YAML document"),
    ("\tname: a\n", "not valid YAML"),
    ("? [a, b]\n: 1\n", "YAML"),
])
def test_broken_yaml_is_one_line_with_its_place(tmp_path, text, words):
    err = _error(write(tmp_path / "broken.yaml", text))
    assert words in str(err), str(err)


def test_zero_bytes(tmp_path):
    err = _error(write(tmp_path / "nul.yaml", b"name: a\x00b\n"))
    assert "zero bytes" in err.message or "UTF-16" in err.message, str(err)


def test_an_empty_file_is_a_scenario_with_nothing_in_it(tmp_path):
    err = _error(write(tmp_path / "empty.yaml", ""))
    assert "required field is missing" in err.message, str(err)


def test_unreadable_file(tmp_path):
    import os

    f = write(tmp_path / "secret.yaml", "name: a\n")
    os.chmod(f, 0)
    try:
        if os.access(f, os.R_OK):
            pytest.skip("running as a user who can read anything")
        assert "cannot read" in _error(f).message
    finally:
        os.chmod(f, 0o644)


# --- a bad value in a parent file is reported against the parent, with its line ----------------------------


def test_a_bad_value_in_the_parent_names_the_parent_and_its_line(tmp_path):
    text = BASELINE.read_text().replace("    pas_per_week: 13.66", "    pas_per_week: -1")
    base = write(tmp_path / "base.yaml", text)
    child = write(tmp_path / "options" / "child.yaml", "extends: ../base.yaml\nname: child\n")
    err = _error(child)
    assert err.field == "services.slt.pas_per_week", str(err)
    assert err.file.endswith("base.yaml") and "child" not in err.file, str(err)
    line = next(i for i, t in enumerate(base.read_text().splitlines(), 1) if "pas_per_week: -1" in t)
    assert err.line == line, str(err)


def test_a_bad_value_in_the_child_still_names_the_child(tmp_path):
    write(tmp_path / "base.yaml", BASELINE.read_text())
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\nservices:\n  slt:\n"
                  "    pas_per_week: -1\n")
    err = _error(child)
    assert (err.file, err.field, err.line) == (str(child), "services.slt.pas_per_week", 5), str(err)


def test_a_parent_that_cannot_be_read_is_named(tmp_path):
    write(tmp_path / "base.yaml", "name: a\nname: b\n")
    err = _error(write(tmp_path / "child.yaml", "extends: base.yaml\n"))
    assert err.file.endswith("base.yaml") and "given twice" in err.message, str(err)


def test_a_cross_field_problem_made_by_the_child_names_the_child(tmp_path):
    """The parent reserves 4 PAs; the child cuts the service to 2 PAs: the child made the conflict."""
    text = BASELINE.read_text().replace("    pas_per_week: 13.66",
                                        "    pas_per_week: 13.66\n    ring_fenced_pas_per_week: 4")
    write(tmp_path / "base.yaml", text)
    child = write(tmp_path / "child.yaml", "extends: base.yaml\nservices: {slt: {pas_per_week: 2}}\n")
    err = _error(child)
    assert err.file == str(child) and err.field == "services.slt" and "cannot exceed" in err.message, str(err)
