"""Money out (PAYMENTS.md): the bank file sent, the return read back whole or refused whole, failed lines requeued
or written off, and the announcement only once every line is paid or written off, stating exactly what was paid."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry
from daipin.db.models.registry import Household
from daipin.db.models.workflow import PaymentBatch, PaymentFile, PaymentLine, PaymentReceipt
from daipin.domain.actors import SYSTEM_ACTOR, Actor, Role
from daipin.domain.errors import Conflict, Forbidden, InputError, NotFound
from daipin.services.matters import service as wfs
from daipin.services.payments import bankfiles
from daipin.services.payments import service as payments
from daipin.services.registry import service as reg
from tests.integration.api_support import OWN_TOWNSHIP, OWN_VILLAGE, START, world_with_executed_allocation

TOWNSHIP = Actor(7, Role.TOWNSHIP_OFFICIAL, OWN_TOWNSHIP)
VILLAGE = Actor(8, Role.VILLAGE_CADRE, OWN_VILLAGE)
AT = START + timedelta(days=1)


@pytest.fixture
def batch(session: Session, tmp_path: Any) -> PaymentBatch:
    w = world_with_executed_allocation(session, str(tmp_path / "keys"))
    b = payments.batch_for_matter(session, w.ids["executed"])
    assert b is not None
    return b


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _lines(session: Session, b: PaymentBatch) -> list[PaymentLine]:
    session.expire_all()
    return payments.lines(session, b)


def answer(out: bytes, outcomes: dict[int, tuple[str, str]] | None = None, *, extra: list[list[str]] | None = None,
           drop_control: bool = False) -> bytes:
    """The bank's return for a file sent: every row 成功 with a serial, unless `outcomes[seq]` says otherwise."""
    rows = _rows(out)
    head, body, control = rows[0], rows[1:-1], rows[-1]
    out_rows = [[*head, "状态", "失败原因", "流水号"]]
    for r in body:
        status, text = (outcomes or {}).get(int(r[0]), ("成功", f"YH{int(r[0]):08d}"))
        out_rows.append([*r, status, text if status == "失败" else "", text if status == "成功" else ""])
    out_rows.extend(extra or [])
    if not drop_control:
        out_rows.append(control)
    buf = io.StringIO()
    csv.writer(buf).writerows(out_rows)
    return buf.getvalue().encode("utf-8")


def test_the_bank_file_lists_every_pending_line_with_its_full_account_and_marks_them_sent(
        session: Session, batch: PaymentBatch) -> None:
    lines = _lines(session, batch)
    entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    f = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    rows = _rows(f.data)
    assert rows[0] == ["序号", "户名", "账号", "开户行", "金额（元）", "用途"]
    assert len(rows) == len(lines) + 2
    accounts = {hh.id: hh.bank_account for hh in session.scalars(select(Household))}
    for ln, r in zip(lines, rows[1:-1], strict=True):
        assert r[0] == str(ln.seq) and r[1] == ln.payee_name and r[2] == accounts[ln.household_id]
        assert r[4] == f"{ln.amount_fen // 100}.{ln.amount_fen % 100:02d}"
    total = sum(ln.amount_fen for ln in lines)
    assert rows[-1] == ["笔数", str(len(lines)), "总金额", f"{total // 100}.{total % 100:02d}"]
    assert f.sha256 == hashlib.sha256(f.data).hexdigest()
    entry = session.scalars(select(LedgerEntry).order_by(LedgerEntry.idx.desc())).first()
    assert entry is not None and session.scalar(select(func.count()).select_from(LedgerEntry)) == entries + 1
    assert f.sha256 in entry.body.decode() and "payment.file_out" in entry.body.decode()
    for acct in accounts.values():
        assert acct is None or acct not in entry.body.decode()  # the ledger never holds an account in clear
    assert {ln.status for ln in _lines(session, batch)} == {"sent"}
    assert session.get_one(PaymentBatch, batch.id).status == "sent"
    with pytest.raises(Conflict) as again:  # nothing pending is left to send: nothing is sent twice
        bankfiles.bank_file(session, TOWNSHIP, batch.id, "xlsx", at=AT)
    assert again.value.code == "nothing_to_send"


def test_only_the_roles_that_pay_get_the_bank_file(session: Session, batch: PaymentBatch) -> None:
    with pytest.raises(Forbidden):
        bankfiles.bank_file(session, VILLAGE, batch.id, "csv", at=AT)
    other = Actor(9, Role.TOWNSHIP_OFFICIAL, "231002002")
    with pytest.raises(NotFound):
        bankfiles.bank_file(session, other, batch.id, "csv", at=AT)
    assert {ln.status for ln in _lines(session, batch)} == {"pending"}


def test_the_id_number_column_only_where_the_county_says_its_bank_requires_it(session: Session,
                                                                                batch: PaymentBatch) -> None:
    reg.set_setting(session, SYSTEM_ACTOR, f"payment_bank_requires_id:{batch.county_code}", "是", AT)
    reg.set_setting(session, SYSTEM_ACTOR, f"payment_bank_name:{batch.county_code}", "某某农村商业银行", AT)
    f = bankfiles.bank_file(session, TOWNSHIP, batch.id, "xlsx", at=AT)
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(f.data)).worksheets[0]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ("序号", "户名", "账号", "开户行", "金额（元）", "用途", "身份证号")
    assert all(isinstance(r[2], str) and len(r[6]) == 18 for r in rows[1:-1])  # text: every digit kept
    assert rows[1][3] == "某某农村商业银行" and rows[-1][0] == "笔数"


def test_a_return_file_settles_every_line_it_answers_at_once(session: Session, batch: PaymentBatch) -> None:
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    first, second = (ln.seq for ln in _lines(session, batch)[:2])
    back = answer(out.data, {second: ("失败", "账户已冻结")})
    result = bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", back, at=AT + timedelta(days=1))
    lines = _lines(session, batch)
    assert result.failed == 1 and result.paid == len(lines) - 1
    by_seq = {ln.seq: ln for ln in lines}
    assert by_seq[first].status == "paid" and by_seq[first].payment_ref == f"YH{first:08d}"
    assert by_seq[second].status == "failed" and by_seq[second].failure_reason == "账户已冻结"
    assert session.get_one(PaymentBatch, batch.id).status == "partly_paid"
    f = session.get_one(PaymentFile, result.file.id)
    assert f.direction == "in" and f.sha256 == hashlib.sha256(back).hexdigest()


def test_every_line_of_a_bank_file_and_its_return_is_stated_and_an_edited_line_is_caught(
        session: Session, batch: PaymentBatch) -> None:
    """The entries of a file out and a return state each line's row exactly as `daipin ledger verify` reads it (the
    bank reference masked with its salted digest beside it), so an edit of any of their columns is caught."""
    from daipin.ledger import store
    from daipin.ledger.verify import verify_log
    from daipin.services.shared.rows import workflow_row_facts

    pg = session.get_bind().dialect.name == "postgresql"
    plan = "SHOW plan_cache_mode"
    before = session.execute(sql_text(plan)).scalar() if pg else None
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    second = _lines(session, batch)[1].seq
    back = answer(out.data, {second: ("失败", "账户已冻结")})
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", back, at=AT + timedelta(days=1))
    if pg:  # the lines' statements kept their plans (`generic_plans`); the step's later statements did not
        assert before == "force_custom_plan" and session.execute(sql_text(plan)).scalar() == before
    lines = _lines(session, batch)
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.type == "payment.file_in")).one()
    stated = {r["id"]: r["digest"] for r in store.body_json(entry.body)["facts"]["rows"]
              if r["table"] == "payment_lines"}
    assert stated == {r["id"]: r["digest"] for r in workflow_row_facts(session, lines)}
    assert verify_log(session).ok
    for column, value in (("payment_ref", f"YX{lines[0].seq:08d}"), ("amount_fen", 1),
                          ("failure_reason", "改"), ("status", "sent")):
        line = lines[0] if column != "failure_reason" else next(ln for ln in lines if ln.status == "failed")
        kept = getattr(line, column)
        setattr(line, column, value)
        session.flush()
        session.expire_all()
        assert not verify_log(session).ok, column
        line = session.get_one(PaymentLine, line.id)
        setattr(line, column, kept)
        session.flush()
        session.expire_all()
        assert verify_log(session).ok, column


def _refused(session: Session, batch: PaymentBatch, name: str, data: bytes) -> list[bankfiles.Problem]:
    before = [(ln.id, ln.status, ln.payment_ref) for ln in _lines(session, batch)]
    entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    files = session.scalar(select(func.count()).select_from(PaymentFile))
    receipts = session.scalar(select(func.count()).select_from(PaymentReceipt))
    with pytest.raises(bankfiles.ReturnRefused) as refused:
        bankfiles.apply_return(session, TOWNSHIP, batch.id, name, data, at=AT + timedelta(days=1))
    assert refused.value.field == "file" and refused.value.status == 422
    assert [(ln.id, ln.status, ln.payment_ref) for ln in _lines(session, batch)] == before  # nothing applied
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    assert session.scalar(select(func.count()).select_from(PaymentFile)) == files  # (an early write undone)
    assert session.scalar(select(func.count()).select_from(PaymentReceipt)) == receipts
    return refused.value.problems


@pytest.fixture
def early(session: Session, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What became of each early write (`_EarlyWrite`: a plain csv return written while it is checked, on
    PostgreSQL only): "kept" or "undone", in order."""
    seen: list[str] = []
    keep, undo = bankfiles._EarlyWrite.keep, bankfiles._EarlyWrite.undo

    def kept(self: Any) -> None:
        seen.append("kept")
        keep(self)

    def undone(self: Any) -> None:
        seen.append("undone")
        undo(self)

    monkeypatch.setattr(bankfiles._EarlyWrite, "keep", kept)
    monkeypatch.setattr(bankfiles._EarlyWrite, "undo", undone)
    return seen


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def test_a_plain_return_written_while_it_is_checked_is_kept_only_when_every_row_checks_out(
        session: Session, batch: PaymentBatch, early: list[str]) -> None:
    """On PostgreSQL a plain csv return's answers are written while its rows are checked: a row the check refuses
    (here an amount changed, which the quick reading does not look at) undoes that write and nothing is applied;
    the same file answered right is written once and kept, exactly as the usual way writes it."""
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    rows = _rows(answer(out.data))
    rows[3][4] = "0.01"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    problems = _refused(session, batch, "return.csv", buf.getvalue().encode())
    assert [(p.row, p.column) for p in problems] == [(4, "金额（元）"), (len(rows), "总金额")]
    assert early == (["undone"] if _pg(session) else [])
    result = bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", answer(out.data),
                                    at=AT + timedelta(days=1))
    assert early == (["undone", "kept"] if _pg(session) else [])
    lines = _lines(session, batch)
    assert result.paid == len(lines) and all(ln.status == "paid" and ln.return_file_id == result.file.id
                                             and ln.payment_ref == f"YH{ln.seq:08d}" for ln in lines)
    assert session.scalar(select(func.count()).select_from(PaymentReceipt)) == len(lines)
    f = session.get_one(PaymentFile, result.file.id)
    assert (f.line_count, f.paid_count, f.failed_count, f.total_fen) == (
        len(lines), len(lines), 0, sum(ln.amount_fen for ln in lines))


def test_an_early_write_that_differs_from_the_rows_checked_is_undone_and_written_from_them(
        session: Session, batch: PaymentBatch, early: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The early write is kept only when it wrote exactly the answers the check found: were the quick reading ever to
    read a row otherwise, the lines end as the checked rows say, the ledger stating them."""
    from daipin.ledger.verify import verify_log

    if not _pg(session):
        pytest.skip("the early write is PostgreSQL's (elsewhere a return is written once it is checked)")
    glance = bankfiles._glance

    def misread(*args: Any) -> Any:
        got = glance(*args)
        line_id, _paid, _serial = got[0]
        return [(line_id, False, "误读"), *got[1:]]  # the first row read as failed

    monkeypatch.setattr(bankfiles, "_glance", misread)
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    result = bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", answer(out.data),
                                    at=AT + timedelta(days=1))
    assert early == ["undone"]
    lines = _lines(session, batch)
    assert result.paid == len(lines) and {ln.status for ln in lines} == {"paid"}
    assert all(ln.failure_reason == "" and ln.return_file_id == result.file.id for ln in lines)
    assert session.scalar(select(func.count()).select_from(PaymentFile).where(PaymentFile.direction == "in")) == 1
    assert verify_log(session).ok


def test_a_line_settled_meanwhile_makes_an_early_write_change_nothing(
        session: Session, batch: PaymentBatch, early: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A line another official's step settled after the return's lines were read: the early write finds it no
    longer sent and is undone, and the return is refused as the usual way refuses it (nothing applied)."""
    if not _pg(session):
        pytest.skip("the early write is PostgreSQL's (elsewhere a return is written once it is checked)")
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    first = _lines(session, batch)[0]
    glance = bankfiles._glance

    def meanwhile(*args: Any) -> Any:
        session.connection().execute(sql_text("UPDATE payment_lines SET status = 'paid', payment_ref = 'HD-1' "
                                              "WHERE id = :i"), {"i": first.id})  # another step's, after the read
        return glance(*args)

    monkeypatch.setattr(bankfiles, "_glance", meanwhile)
    with pytest.raises(Conflict) as caught, session.begin_nested():
        bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", answer(out.data), at=AT + timedelta(days=1))
    assert caught.value.code == "lines_changed" and early == ["undone"]
    assert {ln.status for ln in _lines(session, batch)} == {"sent"}  # (the other step's change rolled back too)
    assert session.scalar(select(func.count()).select_from(PaymentFile).where(PaymentFile.direction == "in")) == 0


def test_lines_taken_by_another_step_meanwhile_refuse_the_whole_change(session: Session, batch: PaymentBatch) -> None:
    """The one statement that marks many lines re-checks each line's state under its row lock: a line another
    official's step settled after the lines were read makes it change nothing and say so — also when the statement
    runs beside the step's Python work (`_meanwhile`: from a second thread on PostgreSQL), whose result is then
    never used."""
    bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    lines = _lines(session, batch)
    ids = [ln.id for ln in lines]
    payments.mark_paid(session, TOWNSHIP, ids[0], payment_ref="HD-0001", at=AT)  # another step, after the read
    ran: list[str] = []
    with pytest.raises(Conflict) as caught, session.begin_nested():  # the step's transaction, rolled back
        bankfiles._meanwhile(session, lambda conn: bankfiles._mark_rows(
            conn, "sent", {"status": "failed", "failed_at": AT}, ids, {"failure_reason": ["户名不符"] * len(ids)}),
            lambda: ran.append("python"))
    assert caught.value.code == "lines_changed" and "1 笔" in str(caught.value) and ran == ["python"]
    session.expire_all()
    assert [ln.status for ln in _lines(session, batch)] == ["paid"] + ["sent"] * (len(ids) - 1)


def test_a_return_that_does_not_match_is_refused_whole_with_every_problem_listed(session: Session,
                                                                                   batch: PaymentBatch) -> None:
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    rows = _rows(answer(out.data, drop_control=True))
    rows[1][4] = "1.00"  # another amount
    rows[2][2] = "6217000099999999"  # another account
    assert len(rows) > 6
    rows[3][8] = rows[4][8]  # a serial twice
    rows.append(["999", "某某", "6217000000000001", "代发银行", "1.00", "x", "成功", "", "YH99999999"])  # unknown line
    rows.append([rows[5][0], *rows[5][1:]])  # a line answered twice
    rows[6][1] = '=HYPERLINK("http://x","点")'  # a formula cell
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    problems = _refused(session, batch, "return.csv", buf.getvalue().encode())
    found = {(p.row, p.column) for p in problems}
    assert (2, "金额（元）") in found and (3, "账号") in found and (5, "流水号") in found, found
    assert (len(rows) - 1, "序号") in found and (len(rows), "序号") in found and (7, "户名") in found
    assert all(p.message_zh and p.message_en for p in problems)


def test_a_return_for_lines_already_settled_is_refused(session: Session, batch: PaymentBatch) -> None:
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    back = answer(out.data)
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", back, at=AT)
    problems = _refused(session, batch, "return.csv", back)
    assert {p.column for p in problems} == {"序号", "流水号"}  # settled, and its serial used already
    assert all("已结算" in p.message_zh for p in problems if p.column == "序号")


def test_a_serial_used_before_is_refused(session: Session, batch: PaymentBatch) -> None:
    """By a slip or an earlier return: `payment_receipts` holds each serial once in its county."""
    lines = _lines(session, batch)
    payments.mark_paid(session, TOWNSHIP, lines[0].id, payment_ref="YH00000002", at=AT)
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    problems = _refused(session, batch, "return.csv", answer(out.data))
    assert [(p.column, "YH00000002" in p.message_zh) for p in problems] == [("流水号", True)]


def test_empty_and_unreadable_files_are_refused(session: Session, batch: PaymentBatch) -> None:
    bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    assert "为空" in _refused(session, batch, "return.csv", b"")[0].message_zh
    assert "没有明细" in _refused(session, batch, "return.csv", "序号,户名,账号,开户行,金额（元）,用途,状态,失败原因,流水号\r\n"
                                  .encode())[0].message_zh
    missing = _refused(session, batch, "return.csv", "序号,账号,金额（元）\r\n1,2,3\r\n".encode())
    assert {p.column for p in missing} == {"状态", "失败原因", "流水号"}
    with pytest.raises(InputError) as bad:
        bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.csv", b"\x81\x30\xff\xff", at=AT)
    assert bad.value.code == "bad_encoding"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_return_text_in_utf8_gb18030_or_utf16_is_read(session: Session, batch: PaymentBatch, encoding: str) -> None:
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    text = answer(out.data).decode("utf-8")
    # Headers in another order: 流水号 and 状态 first, 序号 last.
    rows = list(csv.reader(io.StringIO(text)))
    order = [9, 6, 1, 2, 3, 4, 5, 7, 8, 0]
    moved = [[r[i] if i < len(r) else "" for i in order] if len(r) > 4 else r for r in rows]
    moved[-1] = rows[-1]
    buf = io.StringIO()
    csv.writer(buf).writerows(moved)
    result = bankfiles.apply_return(session, TOWNSHIP, batch.id, "back.csv", buf.getvalue().encode(encoding), at=AT)
    assert result.paid == len(rows) - 2


def test_an_xlsx_return_is_read_and_a_formula_in_it_refused(session: Session, batch: PaymentBatch) -> None:
    from openpyxl import Workbook

    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    rows = _rows(answer(out.data))
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    ws.cell(row=2, column=5).value = "=1+1"
    buf = io.BytesIO()
    wb.save(buf)
    problems = _refused(session, batch, "return.xlsx", buf.getvalue())
    assert any(p.row == 2 and p.column == "金额（元）" and "公式" in p.message_zh for p in problems)
    ws.cell(row=2, column=5).value = rows[1][4]
    buf = io.BytesIO()
    wb.save(buf)
    assert bankfiles.apply_return(session, TOWNSHIP, batch.id, "return.xlsx", buf.getvalue(), at=AT).paid == \
        len(rows) - 2


def test_a_failed_line_is_requeued_after_the_account_is_corrected_or_written_off(session: Session,
                                                                                  batch: PaymentBatch) -> None:
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    lines = _lines(session, batch)
    a, b = lines[0], lines[1]
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "r.csv",
                           answer(out.data, {a.seq: ("失败", "户名与账号不符"), b.seq: ("失败", "账户已销户")}), at=AT)
    with pytest.raises(Conflict) as same:
        payments.requeue(session, TOWNSHIP, a.id, at=AT)
    assert same.value.code == "account_not_corrected" and same.value.field == "bank_account"
    assert a.household_id is not None
    reg.set_bank_account(session, VILLAGE, a.household_id, "6217000011112222333", AT)
    new = payments.requeue(session, TOWNSHIP, a.id, at=AT)
    assert new.retry_of == a.id and new.status == "pending" and new.amount_fen == a.amount_fen
    assert new.seq == max(ln.seq or 0 for ln in lines) + 1 and new.attempt == 2
    assert new.bank_account_masked.endswith("2333")
    with pytest.raises(Conflict):
        payments.requeue(session, TOWNSHIP, a.id, at=AT)  # requeued once
    with pytest.raises(InputError) as why:
        payments.write_off(session, TOWNSHIP, b.id, reason="", decision="某政发〔2026〕1号", at=AT)
    assert why.value.field == "reason"
    with pytest.raises(InputError) as which:
        payments.write_off(session, TOWNSHIP, b.id, reason="户已销户且无继承人", decision=" ", at=AT)
    assert which.value.field == "decision"
    done = payments.write_off(session, TOWNSHIP, b.id, reason="户已销户且无继承人", decision="某政发〔2026〕1号", at=AT)
    assert done.status == "written_off"
    with pytest.raises(Conflict):
        payments.write_off(session, TOWNSHIP, new.id, reason="x", decision="y", at=AT)  # not failed
    second = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    assert second.lines == 1 and "6217000011112222333" in second.data.decode("utf-8-sig")
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "r2.csv", answer(second.data), at=AT)
    assert session.get_one(PaymentBatch, batch.id).status == "settled"


def test_mark_paid_needs_the_receipt_and_marks_a_line_once(session: Session, batch: PaymentBatch) -> None:
    line = _lines(session, batch)[0]
    for ref in ("", "   "):
        with pytest.raises(InputError) as empty:
            payments.mark_paid(session, TOWNSHIP, line.id, payment_ref=ref, at=AT)
        assert empty.value.field == "payment_ref"
    payments.mark_paid(session, TOWNSHIP, line.id, payment_ref="HD-1", at=AT)
    with pytest.raises(Conflict) as twice:
        payments.mark_paid(session, TOWNSHIP, line.id, payment_ref="HD-2", at=AT)
    assert twice.value.code == "already_paid"
    other = _lines(session, batch)[1]
    with pytest.raises(Conflict) as dup:
        payments.mark_paid(session, TOWNSHIP, other.id, payment_ref="HD-1", at=AT)
    assert dup.value.code == "duplicate_ref"


def test_the_announcement_waits_for_every_line_and_states_exactly_what_was_paid(session: Session,
                                                                               batch: PaymentBatch) -> None:
    mid = batch.matter_id
    out = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    lines = _lines(session, batch)
    with pytest.raises(Conflict) as sent:
        wfs.announce_result(session, SYSTEM_ACTOR, mid, at=AT)
    assert sent.value.code == "payments_open" and "已发银行" in sent.value.message_zh
    failed = lines[0]
    bankfiles.apply_return(session, TOWNSHIP, batch.id, "r.csv", answer(out.data, {failed.seq: ("失败", "账户冻结")}),
                           at=AT)
    with pytest.raises(Conflict) as open_:
        wfs.announce_result(session, SYSTEM_ACTOR, mid, at=AT)
    assert open_.value.code == "payments_open" and "支付失败 1 笔" in open_.value.message_zh
    payments.write_off(session, TOWNSHIP, failed.id, reason="户主已故，无人继承", decision="某乡政发〔2026〕3号", at=AT)
    content = wfs.announce_result(session, SYSTEM_ACTOR, mid, at=AT)
    p = content["payments"]
    paid = [ln for ln in lines if ln.id != failed.id]
    assert p["paid_count"] == len(paid) and p["paid_fen"] == sum(ln.amount_fen for ln in paid)
    assert p["paid_fen"] + p["written_off_fen"] == batch.total_fen
    assert p["written_off"] == [{"seq": failed.seq, "name": failed.payee_name, "amount_fen": failed.amount_fen,
                                 "reason": "户主已故，无人继承", "decision": "某乡政发〔2026〕3号"}]
    wfs.archive(session, SYSTEM_ACTOR, mid, at=AT)


def test_the_archive_also_waits_for_every_line(session: Session, batch: PaymentBatch) -> None:
    """A matter announced before this rule (its lines still open) is not archived until they are settled."""
    from daipin.db.models.workflow import Matter

    m = session.get_one(Matter, batch.matter_id)
    with pytest.raises(Conflict):
        wfs.announce_result(session, SYSTEM_ACTOR, m.id, at=AT)
    with pytest.raises(Conflict) as refused:
        payments.require_settled(session, batch, ("归档", "the archive"))
    assert refused.value.code == "payments_open"


def test_a_line_can_name_only_a_bank_file_that_exists_and_a_named_file_stays(session: Session,
                                                                              batch: PaymentBatch) -> None:
    """The lines' references to their files hold in the database itself (foreign keys): a file that does not exist
    is refused, in one row or among many, and a file that lines name can be neither deleted nor given another
    id."""
    from sqlalchemy import delete, update
    from sqlalchemy.exc import IntegrityError

    sent = bankfiles.bank_file(session, TOWNSHIP, batch.id, "csv", at=AT)
    session.commit()
    ids = [ln.id for ln in _lines(session, batch)]
    missing = sent.file.id + 1000
    t = PaymentLine.__table__
    for column in ("sent_file_id", "return_file_id"):
        for where in (t.c.id == ids[0], t.c.id.in_(ids)):  # one line, and every line of the batch in one statement
            with pytest.raises(IntegrityError), session.begin_nested():
                session.execute(update(t).where(where).values({column: missing}))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(delete(PaymentFile.__table__).where(PaymentFile.id == sent.file.id))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(update(PaymentFile.__table__).where(PaymentFile.id == sent.file.id).values(id=missing))
    session.rollback()
    assert {ln.sent_file_id for ln in _lines(session, batch)} == {sent.file.id}
    # a line naming a file that exists, and a file no line names, are fine (edits behind the ledger: rolled back)
    session.execute(update(t).where(t.c.id == ids[0]).values(return_file_id=sent.file.id))
    spare = PaymentFile(batch_id=batch.id, county_code=batch.county_code, direction="in", format="csv", sha256="0" * 64,
                        line_count=0, total_fen=0, paid_count=0, failed_count=0, with_id_number=False, created_at=AT,
                        created_by="system:0")
    session.add(spare)
    session.flush()
    session.execute(delete(PaymentFile.__table__).where(PaymentFile.id == spare.id))
    session.flush()
    session.rollback()
