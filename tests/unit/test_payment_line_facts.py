"""The fast row facts of payment lines (a bank file's 100,000 lines) are byte for byte the general path's."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from daipin.db import sealing
from daipin.domain.privacy import salted_digester
from daipin.services.payments import bankfiles
from daipin.services.payments.bankfiles import _LINE_COLUMNS, _general_facts, line_facts

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def _line(i: int, **changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = dict.fromkeys(_LINE_COLUMNS)
    line.update(id=i, batch_id=7, county_code="231002", payee_type="household", payee_ref=f"23100200100190{i:04d}",
                household_id=i, payee_name="王小明", amount_fen=12345 + i % 3, bank_account_masked=f"****{i:04d}",
                status="pending", payment_ref="", failure_reason="", seq=i, attempt=1)
    line.update(changes)
    return line


def test_line_facts_equal_the_general_path_for_every_kind_of_value() -> None:
    pii = salted_digester(b"s" * 32)
    east8 = timezone(timedelta(hours=8))
    lines = [_line(i) for i in range(1, 40)]  # a column of one value, of a few, of all different
    lines += [
        _line(40, status="sent", sent_at=AT, sent_file_id=3, account_digest="ab" * 32),
        _line(41, status="paid", sent_at=AT, sent_file_id=3, account_digest="cd" * 32, paid_at=AT.astimezone(east8),
              payment_ref="R-2026-000041", return_file_id=4),  # masked with its digest; the same instant elsewhere
        _line(42, status="failed", failed_at=datetime(2026, 3, 2, 9), failure_reason='户名不符 "\\\n\t\x01 é',
              payee_name='="引号" \u2028'),  # a naive time; text JSON must escape
        _line(43, payment_ref="1234", retry_of=41, attempt=2),  # a short reference: wholly masked
        _line(44, household_id=None, payee_type="village"),  # NULL in a column that is always stated
        _line(45, write_off_reason="", write_off_ref="县政府〔2026〕1号", written_off_at=AT),
    ]
    assert line_facts(lines, pii) == _general_facts(lines, pii)
    # one line alone, a column of mixed kinds, and no lines at all
    assert line_facts(lines[41:42], pii) == _general_facts(lines[41:42], pii)
    mixed = [_line(1, attempt=None), _line(2), _line(3, seq=None)]
    assert line_facts(mixed, pii) == _general_facts(mixed, pii)
    assert line_facts([], pii) == []
    # a text with a per cent sign in a column of one value and in a column of many, and a time in two zones
    percent = [_line(i, payee_name="100%王", failure_reason=f"%s {i}%", sent_at=AT if i % 2 else AT.astimezone(east8))
               for i in range(1, 4)]
    assert line_facts(percent, pii) == _general_facts(percent, pii)
    # a return's lines: every bank reference different, masked with its digest
    paid = [_line(i, status="paid", paid_at=AT, payment_ref=f"R-2026-{i:06d}", return_file_id=4) for i in range(1, 5)]
    assert line_facts(paid, pii) == _general_facts(paid, pii)
    # a value the fast path does not write falls back to the general one
    odd = [_line(1), _line(2, amount_fen=True)]
    assert line_facts(odd, pii) == _general_facts(odd, pii)
    # and a changed value changes the digest
    a, b = line_facts([_line(1)], pii), line_facts([_line(1, payee_name="王小民")], pii)
    assert a[0]["digest"] != b[0]["digest"]


def test_line_facts_of_rows_in_any_column_order_equal_those_of_dicts() -> None:
    """A return file's lines are read as rows (tuples, in the order the database gives the columns): their facts
    are those of the same lines as dicts, with the columns in any order, extra columns left aside, the slow path's
    fallback included; rows lacking a column of payment_lines are refused rather than read wrongly."""
    pii = salted_digester(b"s" * 32)
    lines = [_line(i, status="paid", paid_at=AT, payment_ref=f"R-2026-{i:06d}", return_file_id=4) for i in range(1, 6)]
    lines.append(_line(6, status="failed", failed_at=AT, failure_reason="户名不符"))
    columns = [*reversed(_LINE_COLUMNS), "bank_account"]
    rows = [(*(ln[k] for k in reversed(_LINE_COLUMNS)), "6217000000000001") for ln in lines]
    assert line_facts(rows, pii, columns) == line_facts(lines, pii) == _general_facts(lines, pii)
    odd = [_line(1), _line(2, amount_fen=True)]
    assert line_facts([[ln[k] for k in columns[:-1]] for ln in odd], pii, columns[:-1]) == _general_facts(odd, pii)
    with pytest.raises(ValueError, match="seq"):
        line_facts([r[:-1] for r in rows], pii, [c for c in columns if c != "seq"])


def test_the_csv_bank_file_writes_text_that_starts_like_a_formula_as_text() -> None:
    rows = [["1", "王小明", "6217000000012345", "代发银行", "123.45", "收益分配"],
            ["2", "=HYPERLINK(\"http://x\")", "6217000000012346", "代发银行", "1.00", "-收益"],
            ["3", "+李", "6217000000012347", "代发银行", "2.00", "@用途"]]
    data = bankfiles.render(rows, "csv", with_id=False)
    got = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert got[1] == rows[0]
    assert got[2] == ["2", "'=HYPERLINK(\"http://x\")", "6217000000012346", "代发银行", "1.00", "'-收益"]
    assert got[3] == ["3", "'+李", "6217000000012347", "代发银行", "2.00", "'@用途"]
    assert got[4] == ["笔数", "3", "总金额", "126.45"]
    # a cell that starts like a formula anywhere, the first row's first cell included, is written as text
    for r, c in ((0, 0), (0, 1), (2, 5)):
        edited = [list(rows[0]), list(rows[0]), list(rows[0])]
        edited[r][c] = "-1+1"
        got = list(csv.reader(io.StringIO(bankfiles.render(edited, "csv", with_id=False).decode("utf-8-sig"))))
        assert got[1 + r][c] == "'-1+1" and got[2 if r != 1 else 3][c] == rows[0][c], (r, c)


def test_sealed_accounts_open_all_at_once_as_one_by_one(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path))
    key = sealing.add_data_key("aes-256-gcm")
    values = [sealing.seal(key, "households", "bank_account", c, f"6217{i:012d}")
              for i, c in enumerate(["231002", "231002", "231003", "231002"])]
    loaded = [*values, "6217000000000009", None]  # a clear value (written before sealing) and NULL as they are
    assert sealing.open_loaded("households", "bank_account", loaded) == \
        [f"6217{i:012d}" for i in range(4)] + ["6217000000000009", None]
    moved = values[0].replace(":231002:", ":231003:")  # sealed for another county's row: does not open
    with pytest.raises(sealing.SealingError):
        sealing.open_loaded("households", "bank_account", [values[1], moved])
    with pytest.raises(sealing.SealingError):  # nor in another column
        sealing.open_loaded("households", "phone", values[:1])


def test_a_csv_return_is_read_as_plain_text_only_when_no_cell_starts_like_a_formula() -> None:
    """The return's rows skip the closer look at each cell only when the csv text has no cell that starts like a
    formula (or the text mark, or a minus): wherever such a cell is, first in the file or in a line, quoted or not."""
    clean = [["序号", "账号", "金额（元）", "状态", "流水号"], ["1", "6217000000012345", "123.45", "成功", "R1-1"],
             ["2", "6217 0000 0001 2346", "1,234.00", "失败", ""]]
    for starts in ("=", "+", "@", "-", "'", "\t", "\r"):
        for r in range(len(clean)):
            for c in range(len(clean[r])):
                for lineterminator in ("\r\n", "\n") if starts != "\r" else ("\r\n",):  # (a bare CR is quoted)
                    rows = [list(row) for row in clean]
                    rows[r][c] = starts + rows[r][c]
                    buf = io.StringIO()
                    csv.writer(buf, lineterminator=lineterminator).writerows(rows)
                    read, plain = bankfiles._read_rows("back.csv", buf.getvalue().encode("utf-8"))
                    assert read == rows and not plain, (starts, r, c)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(clean)
    assert bankfiles._read_rows("back.csv", buf.getvalue().encode("utf-8-sig")) == (clean, True)
