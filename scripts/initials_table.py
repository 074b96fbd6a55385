"""Write src/daipin/data/initials.txt: each character's first pinyin letter, from pypinyin's dictionary.

    .venv/bin/python scripts/initials_table.py

The registry reads that file (`registry._initials_table`) instead of deriving the table from pypinyin in
every process (about 0.2 s); tests/unit/test_initials_table.py checks that the two agree, so a pypinyin
upgrade that changes a reading fails there until this is run again.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "daipin" / "data" / "initials.txt"
HEADER = ("# First pinyin letter of each character's first reading in pypinyin's dictionary (pypinyin {version}).\n"
          "# Made by scripts/initials_table.py. A line: hex code point, a tab, one letter per code point from\n"
          "# there on ('-': none).\n")


def derive() -> dict[int, str]:
    """Code point (not ASCII) → the first letter of its first reading, what `lazy_pinyin(ch,
    style=Style.FIRST_LETTER)` gives for a lone character."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[int, str] = {}
    for cp, readings in pinyin_dict.items():
        first = unicodedata.normalize("NFD", readings.split(",", 1)[0])[:1].lower()
        if "a" <= first <= "z" and cp >= 128:
            table[cp] = first
    return table


def encode(table: dict[int, str]) -> str:
    """Runs of code points at most 16 apart as one line each, gaps filled with '-'."""
    lines: list[str] = []
    start = prev = -1
    run: list[str] = []
    for cp in sorted(table):
        if run and cp - prev > 16:
            lines.append(f"{start:x}\t{''.join(run)}\n")
            run = []
        if not run:
            start = cp
        else:
            run.extend("-" * (cp - prev - 1))
        run.append(table[cp])
        prev = cp
    if run:
        lines.append(f"{start:x}\t{''.join(run)}\n")
    return "".join(lines)


def main() -> None:
    import pypinyin

    OUT.write_text(HEADER.format(version=pypinyin.__version__) + encode(derive()), encoding="ascii")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
