"""Hostile BioLogic .mpr files (issue 10): a data module without columns, and single-byte
corruptions and truncations of the real files. Whatever the damage, the reader returns spectra
or raises an InputError naming the file and a byte offset; never an AssertionError,
struct.error, IndexError or numpy error."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ionscale.errors import InputError
from ionscale.io.biologic_mpr import read_biologic_mpr
from ionscale.io.eis import read_spectra

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis" / "hybrid-drt"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared EIS data not available")
MPR = DATA / "PEIS_LPSCl_IonBlocking_-25C.mpr"


def _data_module(raw: bytes) -> int:
    """Offset of the first byte of the data module's body (after its 65-byte long header)."""
    at = raw.find(b"MODULEVMP data")
    assert at > 0 and raw[at + 6 + 35:at + 6 + 39] == b"\xff\xff\xff\xff"
    return at + 65


def test_data_module_with_no_columns_is_an_input_error(tmp_path):
    raw = bytearray(MPR.read_bytes())
    body = _data_module(raw)
    assert int.from_bytes(raw[body + 4:body + 6], "little") == 16
    raw[body + 4:body + 6] = b"\x00\x00"
    bad = tmp_path / "nocolumns.mpr"
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=f"byte {body + 4}") as info:
        read_biologic_mpr(bad)
    assert info.value.file == str(bad)
    assert info.value.field == "VMP data"


def _check(path: Path) -> None:
    try:
        read_spectra(path, format="biologic-mpr")
    except InputError as exc:
        assert exc.file == str(path)
        assert "byte" in str(exc), str(exc)


def _mutations(raw: bytes, rng: random.Random):
    body = _data_module(raw)
    # the column count and ids, the start of the records, the module headers, the LOG date
    hot = list(range(body - 65, body + 60)) + list(range(body + 1000, body + 1100))
    hot += list(range(52, 117)) + [raw.find(b"MODULEVMP LOG") + k for k in range(0, 700, 7)]
    for i in hot:
        for v in (0xFF, raw[i] ^ 0x80) if i % 2 else (0, raw[i] ^ 0x01):
            yield f"byte {i} = {v}", raw[:i] + bytes([v]) + raw[i + 1:]
    for _ in range(40):
        b = bytearray(raw)
        for _ in range(rng.choice([2, 4, 8])):
            b[rng.randrange(len(b))] = rng.randrange(256)
        yield "random bytes", bytes(b)
    for n in range(1, len(raw), 211):
        yield f"cut at {n}", raw[:n]


@pytest.mark.parametrize("name", ["PEIS_LPSCl_IonBlocking_-25C.mpr", "PEIS_SSB.mpr"])
def test_corrupted_and_truncated_mpr_files_raise_input_errors(tmp_path, name):
    raw = (DATA / name).read_bytes()
    rng = random.Random(7)
    path = tmp_path / name
    for what, data in _mutations(raw, rng):
        path.write_bytes(data)
        try:
            _check(path)
        except AssertionError as exc:  # the message says which mutation
            raise AssertionError(f"{what}: {exc}") from None
        except Exception as exc:
            raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from None


def test_sweep_start_beyond_any_date_is_an_input_error():
    """From the long fuzz run: swapped records of a real .mpr put the second sweep 3e277 s after
    the file's start (OverflowError in timedelta before)."""
    from pathlib import Path

    from ionscale.errors import InputError
    from ionscale.io.eis import read_spectra

    path = Path(__file__).parent / "data" / "fuzz_sweep_time_overflow.mpr"
    with pytest.raises(InputError, match="beyond any date") as info:
        read_spectra(path)
    assert str(path) in str(info.value)


def test_infinite_frequency_in_a_text_export_is_an_input_error():
    """From the long fuzz run: 'inf' as the first frequency of a PowerSuite export raised a
    math domain error in the sweep splitter."""
    from pathlib import Path

    from ionscale.errors import InputError
    from ionscale.io.eis import read_spectra

    path = Path(__file__).parent / "data" / "fuzz_infinite_frequency_powersuite.txt"
    with pytest.raises(InputError, match="not a finite number"):
        read_spectra(path)
