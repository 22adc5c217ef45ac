"""A short seeded fuzz run over every reader (issue 10); ``make fuzz`` runs the long one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import fuzz  # noqa: E402


def test_mutations_are_deterministic_and_change_the_data():
    import random

    data = b"freq,Zre,Zim\n1.5,2.5,-3.5\n10.0,4.0,-1.0\n"
    a = [fuzz.mutate(data, random.Random(5)) for _ in range(3)]
    b = [fuzz.mutate(data, random.Random(5)) for _ in range(3)]
    assert a == b
    kinds = {fuzz.mutate(data, random.Random(s))[0] for s in range(200)}
    assert {"flip", "truncate", "decimal-comma", "non-finite", "empty"} <= kinds


def test_short_fuzz_run_has_no_crash_hang_or_modified_input():
    report = fuzz.run_fuzz(300, seed=7, timeout=20.0)
    table = fuzz.format_table(report)
    assert report["table"], "no seeds found"
    bad = [p for p in report["problems"]]
    assert not bad, table + "\n" + "\n".join(
        f"{p['outcome']} {p['reader']} {p.get('mutation')} {p.get('seed_file')}: {p['detail']}"
        f" ({p.get('case')})" for p in bad)
    total = sum(sum(c.values()) for c in report["table"].values())
    assert total == 300
    input_errors = sum(c.get("input-error", 0) for c in report["table"].values())
    assert input_errors > 50  # the mutations do reach the readers' checks


if __name__ == "__main__":
    pytest.main([__file__])
