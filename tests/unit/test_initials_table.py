"""The shipped table of pinyin initials is pypinyin's dictionary as the registry used to derive it per process."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from daipin.services.registry import service as reg

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "initials_table.py"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("initials_table", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_table_is_the_one_pypinyin_gives() -> None:
    """Every character with a reading maps to that reading's first letter and nothing else is mapped (a
    pypinyin upgrade that changes a reading fails here: run scripts/initials_table.py)."""
    derived = _script().derive()
    table = reg._initials_table()
    assert {cp: v for cp, v in table.items() if cp >= 128} == derived
    assert len(derived) > 40000 and derived[ord("王")] == "w" and derived[ord("曾")] == "c"  # 曾's first is céng


def test_the_encoding_reads_back_and_the_file_is_what_the_script_writes() -> None:
    script = _script()
    sample = {0x4E00: "y", 0x4E01: "d", 0x4E05: "q", 0x4E40: "z", 0x20000: "h"}
    text = script.encode(sample)
    assert text == "4e00\tyd---q\n4e40\tz\n20000\th\n"
    shipped = (Path(reg.__file__).resolve().parents[2] / "data" / "initials.txt").read_text(encoding="ascii")
    assert shipped.split("\n", 3)[3] == script.encode(script.derive())


def test_ascii_letters_and_digits_stay_and_other_ascii_goes() -> None:
    table = reg._initials_table()
    assert table[ord("A")] == "a" and table[ord("7")] == "7" and table[ord("-")] is None and table[ord(" ")] is None
    assert reg.name_initials("阿卜杜·热合曼") == "abdrhm" and reg.name_initials("Li-Na 王") == "linaw"
