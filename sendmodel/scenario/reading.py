"""Reading a YAML file (scenario or sweep spec) safely, every failure as one :class:`ScenarioError`.

The one way sendmodel reads its input files. It refuses, naming the file (and line, where there is one):

* what cannot be read: a missing file, a folder, a device or pipe, a file over :data:`MAX_BYTES`;
* text that is not UTF-8 (a byte-order mark is accepted), saying what it looks like (UTF-16, Windows-1252);
* YAML that is not valid, said on one line with its line and column;
* tags that would build anything but plain values (``!!python/object/apply`` and friends: safe loading);
* duplicate keys in a mapping (naming the key and both lines), instead of the last silently winning;
* nesting deeper than :data:`MAX_DEPTH`, and more than :data:`MAX_VALUES` values once aliases (``*name``) are
  expanded (a "billion laughs" file), before anything is built;
* a value that refers to itself through an alias.

Impossible dates written as dates (``2022-02-30``) are read as text, so the schema reports them against their
field. The line of every key and list item is returned with the data, so an error found later by validation
names the line too.
"""

from __future__ import annotations

import codecs
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml import events as ev

from sendmodel.scenario.errors import ScenarioError, dotted

MAX_BYTES = 4 * 1024 * 1024  # a scenario is about 20 kB; a long list of sweep points well under a megabyte
MAX_DEPTH = 40  # a scenario nests about 6 deep
MAX_VALUES = 1_000_000  # with aliases expanded; a scenario holds about 1,500

_SAFE_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
} | {"!"}
_MERGE = object()  # the key of a YAML merge (``<<: *defaults``)


@dataclass(frozen=True)
class YamlFile:
    """A file's top-level mapping and the line (1-based) of each field path in it."""

    file: str
    data: dict
    lines: dict[str, int] = field(default_factory=dict, repr=False)


# libyaml's parser when PyYAML has it (about ten times faster); the same safe constructors either way
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loading; an impossible date (2022-02-30) stays text for the schema to report against its field."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _yaml_problem(exc: yaml.YAMLError) -> tuple[str, int | None]:
    """A PyYAML error on one line: what is wrong, and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context and problem and context not in problem else problem
    text = " ".join(str(text).split())
    where = f" (column {mark.column + 1})" if mark is not None else ""
    return f"not valid YAML{where}: {text}", (mark.line + 1 if mark is not None else None)


def _encoding_problem(raw: bytes, start: int | None) -> str:
    """What a file that is not UTF-8 looks like, and what to do."""
    fix = "save it as UTF-8 (Excel: Save As > 'CSV UTF-8'; Notepad: Save As > Encoding: UTF-8)"
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if raw.startswith(bom):
            return f"not UTF-8 text: it looks like {name} (it starts with a {name} byte-order mark); {fix}"
    if b"\x00" in raw[:4096]:
        even, odd = raw[0:4096:2].count(0), raw[1:4096:2].count(0)
        if max(even, odd) > 4 * max(1, min(even, odd)):
            return f"not UTF-8 text: it looks like UTF-16 (every other byte is zero); {fix}"
        return f"not text: it holds zero bytes (a binary file?); {fix}"
    line = raw[: start or 0].count(b"\n") + 1
    byte = raw[start] if start is not None and start < len(raw) else None
    what = f"byte 0x{byte:02X} on line {line}" if byte is not None else f"line {line}"
    try:
        char = raw[start : start + 1].decode("cp1252") if start is not None else ""
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return f"not UTF-8 text ({what} is not UTF-8, nor Windows-1252); {fix}"
    return f"not UTF-8 text: it looks like Windows-1252 ({what} would be {char!r} there); {fix}"


def read_bytes(path: str | Path, shown: str | None = None) -> bytes:
    """A file's bytes, refusing folders, devices and anything over :data:`MAX_BYTES`."""
    p = Path(path)
    shown = str(path) if shown is None else shown
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ScenarioError(shown, "", "file not found") from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL byte in the name
        raise ScenarioError(shown, "", f"cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(shown, "", "is a folder, not a YAML file")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(shown, "", "is not a regular file (a device or pipe?); give a YAML file")
    if st.st_size > MAX_BYTES:
        raise ScenarioError(shown, "", f"is {st.st_size / 1e6:.1f} MB; a scenario or sweep file is at most "
                            f"{MAX_BYTES / 1e6:.0f} MB (a scenario is about 20 kB): refused")
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(shown, "", f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError(shown, "", f"is over {MAX_BYTES / 1e6:.0f} MB: refused")
    return raw


def decode(raw: bytes, shown: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); anything else is refused, saying what it looks like."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if b"\x00" in raw or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ScenarioError(shown, "", _encoding_problem(raw, None))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(shown, "", _encoding_problem(raw, exc.start)) from None


class _Frame:
    __slots__ = ("kind", "path", "anchor", "size", "expect_key", "key", "keys", "index", "line")

    def __init__(self, kind: str, path: tuple, anchor: str | None, line: int):
        self.kind, self.path, self.anchor, self.line = kind, path, anchor, line
        self.size, self.expect_key, self.key, self.index = 1, True, None, 0
        self.keys: dict[str, int] = {}


def _scan(text: str, shown: str) -> dict[str, int]:
    """One pass over the YAML events, before anything is built: depth, expanded size, tags, duplicate keys,
    self-referring aliases. Returns the line of every key and list item by field path."""
    lines: dict[str, int] = {}
    frames: list[_Frame] = []
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    total = 0
    docs = 0

    def child_path() -> tuple | None:
        f = frames[-1]
        if f.kind == "seq":
            return (*f.path, f.index)
        if f.key is _MERGE:
            return f.path
        return None if f.key is None else (*f.path, f.key)

    def finish(size: int) -> None:
        nonlocal total
        if frames:
            f = frames[-1]
            f.size += size
            if f.size > MAX_VALUES:
                too_many(f.line)
            if f.kind == "map":
                if not f.expect_key:
                    f.key = None
                f.expect_key = not f.expect_key
            else:
                f.index += 1
        else:
            total += size
            if total > MAX_VALUES:
                too_many(None)

    def too_many(line: int | None) -> None:
        raise ScenarioError(shown, "", f"holds more than {MAX_VALUES:,} values once its aliases (*name) are "
                            "expanded: refused (a scenario holds about 1,500)", line=line)

    try:
        for e in yaml.parse(text, Loader=_Loader):
            if isinstance(e, ev.DocumentStartEvent):
                docs += 1
                if docs > 1:
                    raise ScenarioError(shown, "", "holds more than one YAML document (a second '---'); "
                                        "give one mapping of fields", line=e.start_mark.line + 1)
                continue
            if not isinstance(e, (ev.NodeEvent, ev.CollectionEndEvent)):
                continue
            line = e.start_mark.line + 1
            tag = getattr(e, "tag", None)
            if tag is not None and tag not in _SAFE_TAGS:
                short = tag.replace("tag:yaml.org,2002:", "!!")
                raise ScenarioError(shown, "", f"the tag {short} is not allowed: these files hold plain values "
                                    "(numbers, text, true/false, dates, lists and mappings)", line=line)
            in_key = bool(frames) and frames[-1].kind == "map" and frames[-1].expect_key
            if in_key and isinstance(e, ev.ScalarEvent):
                f = frames[-1]
                if e.value == "<<" and e.tag is None and e.implicit[0]:
                    f.key = _MERGE
                else:
                    key = e.value
                    if key in f.keys:
                        raise ScenarioError(
                            shown, dotted((*f.path, key)),
                            f"the key {key!r} is given twice in the same mapping (lines {f.keys[key]} and "
                            f"{line}); keep one", line=line)
                    f.keys[key] = line
                    f.key = key
                    lines[dotted((*f.path, key))] = line
                finish(0)
                continue
            if isinstance(e, ev.AliasEvent):
                if e.anchor in open_anchors:
                    raise ScenarioError(shown, "", f"the alias *{e.anchor} is used inside its own anchor "
                                        f"&{e.anchor}: a value cannot contain itself", line=line)
                if in_key:
                    frames[-1].key = "?"
                finish(sizes.get(e.anchor, 1))
                continue
            if isinstance(e, ev.ScalarEvent):
                p = child_path() if frames else ()
                if p is not None and frames and frames[-1].kind == "seq":
                    lines[dotted(p)] = line
                if e.anchor:
                    sizes[e.anchor] = 1
                finish(1)
                continue
            if isinstance(e, (ev.SequenceStartEvent, ev.MappingStartEvent)):
                if len(frames) >= MAX_DEPTH:
                    raise ScenarioError(shown, "", f"is nested more than {MAX_DEPTH} levels deep: refused "
                                        "(a scenario nests about 6 deep)", line=line)
                p = ("?",) if in_key else (child_path() if frames else ())
                if p is None:
                    p = ("?",)
                if frames and frames[-1].kind == "seq":
                    lines[dotted(p)] = line
                if e.anchor:
                    open_anchors.add(e.anchor)
                kind = "seq" if isinstance(e, ev.SequenceStartEvent) else "map"
                frames.append(_Frame(kind, p, e.anchor, line))
                continue
            if isinstance(e, ev.CollectionEndEvent):
                f = frames.pop()
                if f.anchor:
                    open_anchors.discard(f.anchor)
                    sizes[f.anchor] = f.size
                finish(f.size)
    except yaml.YAMLError as exc:
        msg, at = _yaml_problem(exc)
        if "nesting depth" in msg:  # libyaml's own bound (1,000 levels) can come first
            msg = f"is nested more than {MAX_DEPTH} levels deep: refused (a scenario nests about 6 deep)"
        raise ScenarioError(shown, "", msg, line=at) from None
    return lines


def parse(text: str, shown: str) -> YamlFile:
    """Parse YAML text that must hold one mapping of fields."""
    lines = _scan(text, shown)
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        msg, at = _yaml_problem(exc)
        raise ScenarioError(shown, "", msg, line=at) from None
    except RecursionError:  # the depth check makes this unreachable; kept as a last guard
        raise ScenarioError(shown, "", f"is nested too deeply (more than {MAX_DEPTH} levels): refused") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(shown, "", f"the file must hold a mapping of fields (key: value), not "
                            f"{_kind(data)}")
    return YamlFile(shown, data, lines)


def _kind(v: Any) -> str:
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return "a single piece of text"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, (int, float)):
        return "a single number"
    return f"a {type(v).__name__}"


def read_yaml(path: str | Path, shown: str | None = None) -> YamlFile:
    """Read, decode and parse a YAML file holding one mapping; every failure is a :class:`ScenarioError`
    naming ``shown`` (default: ``path`` as given)."""
    shown = str(path) if shown is None else shown
    return parse(decode(read_bytes(path, shown), shown), shown)
