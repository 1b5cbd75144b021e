"""Random streams: one per (seed, replication, purpose, name); same key, same numbers; other key, others."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np

from sendmodel.engine.rng import Stream, make_rng
from tests.conftest import ROOT


def _draw(*key, n=8):
    return make_rng(*key).random(n)


def test_same_key_same_numbers():
    np.testing.assert_array_equal(_draw(7, 3, Stream.EHC_ARRIVALS), _draw(7, 3, Stream.EHC_ARRIVALS))
    np.testing.assert_array_equal(_draw(7, 3, Stream.LEAVE, "slt"), _draw(7, 3, Stream.LEAVE, "slt"))


def test_every_part_of_the_key_gives_its_own_stream():
    keys = [
        (seed, rep, stream, name)
        for seed, rep, stream, name in itertools.product((0, 1), (0, 1, 2), list(Stream), ("", "slt", "ot"))
    ]
    draws = {k: _draw(*k) for k in keys}
    firsts = [d[0] for d in draws.values()]
    assert len(set(firsts)) == len(keys), "two different keys produced the same stream"


def test_streams_are_uncorrelated():
    a = make_rng(1, 0, Stream.ROUTINE_ARRIVALS, "slt").random(20_000)
    b = make_rng(1, 1, Stream.ROUTINE_ARRIVALS, "slt").random(20_000)
    c = make_rng(1, 0, Stream.ROUTINE_ARRIVALS, "ot").random(20_000)
    for x, y in ((a, b), (a, c)):
        r = np.corrcoef(x, y)[0, 1]
        assert abs(r) < 0.03, f"streams should be independent, correlation {r:.3f}"
    assert abs(a.mean() - 0.5) < 0.01


def test_stream_ids_are_append_only():
    """Renumbering a stream would silently change every stored result: the ids are fixed."""
    assert [(s.name, int(s)) for s in Stream][:7] == [
        ("EHC_ARRIVALS", 0),
        ("EHC_ATTRIBUTES", 1),
        ("ADVICE_ATTRIBUTES", 2),
        ("ROUTINE_ARRIVALS", 3),
        ("ROUTINE_ATTRIBUTES", 4),
        ("BACKLOG", 5),
        ("LEAVE", 6),
    ]


def test_same_numbers_in_another_process_whatever_the_hash_seed():
    code = (
        "from sendmodel.engine.rng import make_rng, Stream; "
        "print(repr(make_rng(11, 2, Stream.ADVICE_ATTRIBUTES, 'community_paediatrics').random(4).tolist()))"
    )
    here = make_rng(11, 2, Stream.ADVICE_ATTRIBUTES, "community_paediatrics").random(4).tolist()
    for hash_seed in ("0", "12345"):
        r = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"},
        )
        assert r.returncode == 0, r.stderr
        assert eval(r.stdout) == here, f"PYTHONHASHSEED={hash_seed}: {r.stdout} vs {here}"
