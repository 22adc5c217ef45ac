"""Shared text reading (issue 10): encodings, binary files, memory guard."""

from __future__ import annotations

import pytest

from ionscale.errors import InputError
from ionscale.io import text as text_io


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le",
                                      "utf-16-be", "utf-32", "latin-1"])
def test_every_common_encoding_reads(tmp_path, encoding):
    path = tmp_path / "a.txt"
    path.write_bytes("depth (µm)\tfraction\n1.5\t0.25\n".encode(encoding))
    assert text_io.read_lines(path) == ["depth (µm)\tfraction", "1.5\t0.25"]
    table = text_io.read_table(path)
    assert table.data.tolist() == [[1.5, 0.25]]


def test_binary_file_is_an_input_error_naming_the_file(tmp_path):
    path = tmp_path / "b.dat"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match="binary") as info:
        text_io.read_lines(path)
    assert str(path) in str(info.value)


def test_truncated_utf16_is_an_input_error(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("x,y\n1,2\n".encode("utf-16")[:-1])
    with pytest.raises(InputError, match="utf-16"):
        text_io.read_lines(path)


def test_a_file_too_large_for_memory_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("1,2\n" * 1000)
    monkeypatch.setattr(text_io, "_available_memory", lambda: 10_000)
    with pytest.raises(InputError, match="GiB"):
        text_io.read_lines(path)
