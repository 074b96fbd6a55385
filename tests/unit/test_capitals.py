"""Amounts in Chinese capitals on 到户清单 and slips (cn2an), at the edges."""

from __future__ import annotations

import pytest

from daipin.reports.payment_pdf import capitals


@pytest.mark.parametrize(("fen", "words"), [
    (1234567, "壹万贰仟叁佰肆拾伍元陆角柒分"),
    (5, "伍分"),
    (10, "壹角"),
    (1000, "壹拾元整"),
    (10000010, "壹拾万元壹角"),
    (10005, "壹佰元零伍分"),
    (1001001, "壹万零壹拾元零壹分"),
    (0, "零元整"),
    (100, "壹元整"),
    (10100, "壹佰零壹元整"),
    (9999999999, "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_capitals(fen: int, words: str) -> None:
    assert capitals(fen) == words
