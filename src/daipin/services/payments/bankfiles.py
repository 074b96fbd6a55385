"""The files the bank sees (PAYMENTS.md "Files the bank sees").

Out: a batch's pending lines in the usual agent-payment (代发) layout — 序号, 户名, 账号, 开户行, 金额（元）,
用途, and 身份证号 only where the county's setting says its bank requires it — as xlsx or csv (UTF-8 with a
byte-order mark), ending with a control line `笔数, n, 总金额, yuan`. Producing the file for sending marks its
lines `sent`, records the account each was sent to (as a salted digest) and puts the file's SHA-256 on the ledger.
This is the one place a full account (and an ID number) leaves the system; only roles that record payments get it.

In: the bank's return file — the same layout plus 状态 (成功/失败), 失败原因, 流水号, Chinese headers in any
order (the household import's header matching), xlsx or csv. CSV text is read as UTF-8 (with or without a
byte-order mark) or UTF-16 (with its byte-order mark); anything else is read as GB 18030, the superset of GBK that
Chinese banks' systems write, and a file that is not valid GB 18030 either is refused. Every row is matched by
序号, account and amount against a line sent to the bank; every problem found is listed with its row and column
and the file is refused whole, or applied whole.
"""

from __future__ import annotations

import contextvars
import csv
import gc
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, TypeVar

from psycopg import IntegrityError as DBAPIIntegrityError
from sqlalchemy import JSON, String, bindparam, cast, func, insert, literal, select, type_coerce, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.registry import Entity, Household, Person, Setting
from daipin.db.models.workflow import Matter, PaymentBatch, PaymentFile, PaymentLine, PaymentReceipt
from daipin.db.session import generic_plans
from daipin.domain.actors import Actor
from daipin.domain.errors import Conflict, InputError
from daipin.domain.money import format_yuan
from daipin.domain.privacy import mask_free_text
from daipin.domain.vocabulary import BANK_RETURN_STATUS, PAYMENT_LINE_STATUS
from daipin.ledger import store
from daipin.services.imports.service import match_headers
from daipin.services.payments import service as payments
from daipin.services.shared import sheets
from daipin.services.shared import trace as trace
from daipin.services.shared.rows import workflow_row_fact as row_fact

OUT_HEADERS = ("序号", "户名", "账号", "开户行", "金额（元）", "用途")
ID_HEADER = "身份证号"
CONTROL = ("笔数", "总金额")
FORMATS = ("xlsx", "csv")
# County settings (`daipin registry record setting` / settings): the bank's name for the 开户行 column, and whether
# the bank requires the payee's ID number in the file.
BANK_NAME_SETTING = "payment_bank_name:{county}"
ID_SETTING = "payment_bank_requires_id:{county}"
DEFAULT_BANK_NAME = "代发银行"
YES = frozenset({"1", "true", "yes", "y", "是", "要", "需要"})

# Return file: canonical column → accepted headers (the first is what the out file writes).
RETURN_COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "行号", "顺序号"),
    "name": ("户名", "收款人", "姓名", "收款人姓名"),
    "account": ("账号", "收款账号", "银行账号", "卡号", "银行卡号"),
    "bank": ("开户行", "开户银行"),
    "amount": ("金额（元）", "金额(元)", "金额", "交易金额", "金额（元)", "金额(元）"),
    "purpose": ("用途", "摘要"),
    "id_number": ("身份证号", "证件号码", "身份证号码"),
    "status": ("状态", "处理状态", "交易状态", "处理结果"),
    "reason": ("失败原因", "原因", "备注"),
    "serial": ("流水号", "银行流水号", "回单号", "交易流水号"),
}
RETURN_REQUIRED = ("seq", "account", "amount", "status", "reason", "serial")
RETURN_REQUIRED_ORDER = ("seq", "amount", "account", "status", "reason", "serial")
_SPACE = re.compile(r"\s")
RETURN_HEADER_OF = {k: v[0] for k, v in RETURN_COLUMNS.items()}
_AMOUNT = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$|^\d{1,15}(\.\d{1,2})?$")
_SEQ = re.compile(r"^\d{1,9}$")
_PROBLEMS_SHOWN = 50
# First characters of a text cell that `_cell` looks at more closely (the text mark, formulas, a minus sign).
_MAYBE_FORMULA = frozenset("'=+@\t\r-")
# Where a csv cell may start with one of those: at the start of the text or of a line, or after a comma, perhaps
# after the opening quote (a carriage return only after it: unquoted, it ends the line). A csv text without any
# such place holds no cell to look at more closely.
_CSV_MAYBE_FORMULA = re.compile("(?:^|[,\r\n])(?:\"?['=+@\t-]|\"\r)")


@contextmanager
def _bulk() -> Iterator[None]:
    """Python's cycle collector paused while one file's 100,000 rows are handled: their rows, dicts and texts hold
    no cycles and are freed as usual when done with, but the collector would walk all of them again and again as
    they are made (a sixth of the step's time). Restored as it was afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def setting(session: Session, key: str) -> str | None:
    row = session.get(Setting, key)
    return row.value.strip() if row is not None else None


def requires_id(session: Session, county: str) -> bool:
    return (setting(session, ID_SETTING.format(county=county)) or "").lower() in YES


def bank_name(session: Session, county: str) -> str:
    return setting(session, BANK_NAME_SETTING.format(county=county)) or DEFAULT_BANK_NAME


def yuan(fen: int) -> str:
    return format_yuan(fen, grouping=False)


# ---------------------------------------------------------------- out


@dataclass
class BankFile:
    name: str
    data: bytes
    sha256: str
    file: PaymentFile
    lines: int
    total_fen: int
    skipped: list[int] = field(default_factory=list)  # line ids left pending: no account on record

    @property
    def media_type(self) -> str:
        return ("text/csv; charset=utf-8" if self.file.format == "csv"
                else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def render(rows: Sequence[Sequence[str]], fmt: str, *, with_id: bool) -> bytes:
    """The file's bytes: header, one row per line, the control line. Every cell is text (accounts keep every digit;
    a cell that starts like a formula is written as text, never run)."""
    headers = [*OUT_HEADERS, ID_HEADER] if with_id else list(OUT_HEADERS)
    total = sum(int(Decimal(amount) * 100) * n for amount, n in Counter(r[4] for r in rows).items())  # amounts repeat
    control = [CONTROL[0], str(len(rows)), CONTROL[1], yuan(total)]
    if fmt == "csv":
        buf = io.StringIO()
        w = sheets.csv_writer(buf, lineterminator="\r\n")
        w.writerow(headers)
        plain = csv.writer(buf, lineterminator="\r\n")
        start = buf.tell()
        plain.writerows(rows)  # the usual file: no cell starts like a formula, every row written as it is
        if _CSV_MAYBE_FORMULA.search(buf.getvalue(), start - 1):  # (from the header's line end)  # a cell might: each row looked at more closely
            buf.seek(start)
            buf.truncate()
            risky = frozenset(sheets.FORMULA_STARTS)
            for r in rows:
                if any(c[:1] in risky for c in r):
                    w.writerow(r)
                else:
                    plain.writerow(r)
        w.writerow(control)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("代发明细")
    sheets.append(ws, headers)
    for r in rows:
        sheets.append(ws, r)
    sheets.append(ws, control)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def bank_file(session: Session, actor: Actor, batch_id: int, fmt: str, *, at: datetime) -> BankFile:
    """The batch's pending lines as the file for the bank, which marks them `sent` (one ledger entry with the
    file's digest and every line's row). Lines of payees without an account on record stay pending (listed in
    `skipped`: paid by slip, `mark_paid`). No pending line with an account: refused."""
    with _bulk():
        return _bank_file(session, actor, batch_id, fmt, at=at)


def _bank_file(session: Session, actor: Actor, batch_id: int, fmt: str, *, at: datetime) -> BankFile:
    if fmt not in FORMATS:
        raise InputError("文件格式应为 xlsx 或 csv", "format must be xlsx or csv", "format")
    batch, matter = payments.lock_batch(session, actor, batch_id)
    at = _utc(at)
    with_id = requires_id(session, batch.county_code)
    # The lines with the full account (and the head's ID number when the bank requires it). On PostgreSQL the
    # rows are read without a lock: every payment step holds the batch's lock, and the one UPDATE below locks each
    # line and re-checks that it is still pending (any line taken meanwhile refuses the file whole).
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    account = type_coerce(Household.__table__.c.bank_account, String)  # as stored: opened below, all at once
    q = (select(PaymentLine.__table__, account.label("bank_account"))
         .join(Household, Household.id == PaymentLine.household_id, isouter=True)
         .where(PaymentLine.batch_id == batch.id, PaymentLine.status == "pending")
         .order_by(PaymentLine.seq, PaymentLine.id))
    res = conn.execute(q if pg else q.with_for_update(of=PaymentLine.__table__))  # plain rows, no ORM processing
    names = list(res.keys())
    found = [dict(zip(names, r, strict=True)) for r in res.all()]
    for r, clear in zip(found, sealing.open_loaded("households", "bank_account", [r["bank_account"] for r in found]),
                        strict=True):
        r["bank_account"] = clear
    to_entities = [r for r in found if r["payee_type"] == "entity"]
    if to_entities:  # an entity's account, on its own row (premium subsidies)
        accounts = {e.uscc: e.bank_account for e in session.scalars(select(Entity).where(
            Entity.uscc.in_([r["payee_ref"] for r in to_entities])))}
        for r in to_entities:
            r["bank_account"] = accounts.get(r["payee_ref"])
    sendable = [r for r in found if r["bank_account"]]
    skipped = [int(r["id"]) for r in found if not r["bank_account"]]
    if not sendable:
        raise Conflict("没有可发送银行的待支付明细" + ("（待支付的明细均无登记账号，请逐笔登记）" if skipped else ""),
                       "no pending line with an account to send to the bank", "batch_id", code="nothing_to_send")
    ids: dict[int, str] = {}
    if with_id:
        hids = [r["household_id"] for r in sendable if r["household_id"] is not None]
        for i in range(0, len(hids), 10_000):  # at most 65,535 parameters in one statement
            ids.update((int(h), str(n)) for h, n in session.execute(select(Person.household_id, Person.id_number)
                                                                    .where(Person.household_id.in_(hids[i:i + 10_000]),
                                                                           Person.relation == "户主")))
    bank = bank_name(session, batch.county_code)
    purpose = matter.title[:60]
    total = sum(int(r["amount_fen"]) for r in sendable)
    # The file's row first (its id goes on every line), its digest set once the file is written below.
    f = PaymentFile(batch_id=batch.id, county_code=batch.county_code, direction="out", format=fmt, sha256="",
                    line_count=len(sendable), total_fen=total, paid_count=0, failed_count=0, with_id_number=with_id,
                    created_at=at, created_by=f"{actor.role.value}:{actor.id}")
    session.add(f)
    session.flush()
    pii = _account_digest(session)
    rows = []
    amounts: dict[int, str] = {}  # amounts repeat: each formatted once
    for r in sendable:
        fen = r["amount_fen"]
        amount = amounts.get(fen)
        if amount is None:
            amount = amounts[fen] = yuan(int(fen))
        row = [str(r["seq"] or r["id"]), r["payee_name"], str(r.pop("bank_account")).strip(), bank, amount, purpose]
        if with_id:
            row.append(ids.get(int(r["household_id"] or 0), ""))
        rows.append(row)
    digests = [pii(row[2]) for row in rows]
    for r, d in zip(sendable, digests, strict=True):  # each line's state after this step, in place of the row read
        r["status"], r["sent_at"], r["sent_file_id"], r["account_digest"] = "sent", at, f.id, d
    states = sendable

    def write_file() -> tuple[bytes, list[dict[str, str]]]:
        return render(rows, fmt, with_id=with_id), line_facts(states, pii)

    data, facts = _meanwhile(session, lambda conn: _mark_rows(
        conn, "pending", {"status": "sent", "sent_at": at, "sent_file_id": f.id}, [int(r["id"]) for r in sendable],
        {"account_digest": digests}), write_file)
    sha = f.sha256 = hashlib.sha256(data).hexdigest()
    payments.refresh_status(session, batch)
    trace.record(session, actor=actor, type="payment.file_out", subject=f"payment_file:{f.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "file": f.id, "format": fmt, "sha256": sha, "lines": len(sendable),
                        "total_fen": total, "with_id_number": with_id, "skipped": skipped,
                        "batch_status": batch.status, "row": row_fact(session, f),
                        "rows": [row_fact(session, batch), *facts]},
                 at=at)
    name = f"代发-批次{batch.id}-文件{f.id}.{fmt}"
    return BankFile(name, data, sha, f, len(sendable), total, skipped)


T = TypeVar("T")


def _meanwhile(session: Session, db_work: Callable[[Any], None], py_work: Callable[[], T]) -> T:
    """`db_work`'s statements (on the session's connection) and `py_work` (plain Python: the file's text, the row
    facts) at the same time: on PostgreSQL the statements run from a second thread, so the server updates 100,000
    lines on one core while this process works on the other (the thread only waits on the server, the connection
    is used by it alone meanwhile, and the session is not touched here until it is done). Elsewhere one after the
    other, the Python first. An error of either is raised here once both are done; the caller's transaction then rolls back."""
    session.flush()
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        out = py_work()
        db_work(conn)
    else:
        def work() -> None:
            with generic_plans(conn):  # the foreign keys' checks of every line planned once
                db_work(conn)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="daipin-lines") as pool:
            done = pool.submit(contextvars.copy_context().run, work)
            out = py_work()  # on an error here, leaving the `with` still waits for the statements to finish
        done.result()
    for obj in list(session.identity_map.values()):  # the session's copies of the lines are read again
        if isinstance(obj, PaymentLine):
            session.expire(obj)
    return out


def _mark_rows(conn: Any, expect: str, same: dict[str, Any], ids: list[int], each: dict[str, list[Any]], *,
               receipts: str | None = None) -> None:
    """Lines `ids`, each still `expect`ed in that state, changed at once: the columns of `same` to one value, those of
    `each` to the value at the line's position. On PostgreSQL the ids and the values of `each` go by COPY into a
    temporary table and one UPDATE … FROM it locks every line and re-checks its state (measured faster than passing
    them as arrays); elsewhere one executemany over lines the caller locked. A line
    found in another state (another official's step took it meanwhile) refuses the whole step. With `receipts` (a
    county), each line's `payment_ref` of `each` is also its receipt (`_add_receipts`), on PostgreSQL inserted from
    the temporary table already on the server. Only `conn` is used (see `_meanwhile`)."""
    if not ids:
        return
    t: Any = PaymentLine.__table__
    cols = list(each)
    if conn.dialect.name == "postgresql":
        conn.execute(sql_text("CREATE TEMP TABLE payment_line_changes ON COMMIT DROP AS SELECT "
                              f"{', '.join(['id', *cols])} FROM payment_lines WITH NO DATA"))
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY payment_line_changes ({', '.join(['id', *cols])}) FROM STDIN") as cp:
            for row in zip(ids, *(each[k] for k in cols), strict=True):
                cp.write_row(row)
        sets = ", ".join([f"{k} = :{k}" for k in same] + [f"{k} = c.{k}" for k in cols])
        done = conn.execute(sql_text(f"UPDATE payment_lines AS p SET {sets} FROM payment_line_changes AS c "
                                     "WHERE p.id = c.id AND p.status = :expect"), {**same, "expect": expect}).rowcount
        _check_done(expect, ids, done)
        if receipts is not None:
            _add_receipts(conn, receipts, None)
        conn.execute(sql_text("DROP TABLE payment_line_changes"))
    else:
        many = (update(t).where(t.c.id == bindparam("_id"), t.c.status == expect)
                .values({k: bindparam(k) for k in [*same, *cols]}))
        done = conn.execute(many, [{"_id": i, **same, **{k: each[k][n] for k in cols}}
                                   for n, i in enumerate(ids)]).rowcount
        _check_done(expect, ids, done)
        if receipts is not None:
            _add_receipts(conn, receipts, list(zip(each["payment_ref"], ids, strict=True)))


def _check_done(expect: str, ids: list[int], done: int | None) -> None:
    if done is not None and done >= 0 and done != len(ids):
        raise Conflict(f"有 {len(ids) - done} 笔明细已不是{PAYMENT_LINE_STATUS.zh(expect)}状态（另一操作同时处理了它们），"
                       "未做任何改动，请刷新后重试",
                       f"{len(ids) - done} lines are no longer {expect} (another step took them meanwhile); nothing "
                       "was changed, try again", "batch_id", code="lines_changed")


def _add_receipts(conn: Any, county: str, receipts: list[tuple[str, int]] | None) -> None:
    """The serials of lines just paid, each held unique in its county by `payment_receipts`' primary key (on
    PostgreSQL written with COPY; `None`: from `_mark_rows`' temporary table, on the server). A serial another
    transaction took since the file was checked: refused whole. Only `conn` is used (see `_meanwhile`)."""
    if receipts is not None and not receipts:
        return
    try:
        with conn.begin_nested():
            if receipts is None:
                conn.execute(sql_text("INSERT INTO payment_receipts (county_code, payment_ref, line_id) "
                                      "SELECT :county, payment_ref, id FROM payment_line_changes"), {"county": county})
            elif conn.dialect.name == "postgresql":
                raw: Any = conn.connection.driver_connection
                with raw.cursor() as cur, cur.copy("COPY payment_receipts (county_code, payment_ref, line_id) "
                                                   "FROM STDIN") as cp:
                    for ref, line_id in receipts:
                        cp.write_row((county, ref, line_id))
            else:
                conn.execute(insert(PaymentReceipt),
                             [{"county_code": county, "payment_ref": ref, "line_id": i} for ref, i in receipts])
    except (IntegrityError, DBAPIIntegrityError):
        raise Conflict("回盘中的流水号已被另一笔支付使用（另一回盘同时登记），请重新导入",
                       "a serial of the return was taken by another payment meanwhile; import the return again",
                       "serial", code="duplicate_ref") from None


def _write_answers(conn: Any, county: str, file_id: int, at: datetime, answers: list[tuple[int, bool, str]]) -> None:
    """A return's answers — (line id, paid, serial or masked reason) — on their lines, each still `sent`, and the
    paid lines' serials as their receipts. Only `conn` is used (see `_meanwhile`)."""
    paid = [(i, v) for i, p, v in answers if p]
    failed = [(i, v) for i, p, v in answers if not p]
    _mark_rows(conn, "sent", {"status": "paid", "paid_at": at, "return_file_id": file_id}, [i for i, _ in paid],
               {"payment_ref": [v for _, v in paid]}, receipts=county)
    _mark_rows(conn, "sent", {"status": "failed", "failed_at": at, "return_file_id": file_id}, [i for i, _ in failed],
               {"failure_reason": [v for _, v in failed]})


class _EarlyWrite:
    """A plain csv return's answers written while the file is still checked: on PostgreSQL, once `_glance` has
    read what each row answers, a second thread marks those lines and records their receipts (`_mark_rows`,
    `_add_receipts`, under a savepoint and the file's own row) while this process checks every row, the control line
    and the row facts. The write is kept only when the check finds no problem and the answers it found are exactly
    those written; otherwise it is undone (`undo`) and the file goes the usual way — refused with every problem
    listed, or written again from the answers checked. The session is not touched meanwhile: only its connection,
    by the thread alone."""

    def __init__(self, session: Session, file: PaymentFile, county: str, at: datetime,
                 answers: list[tuple[int, bool, str]]) -> None:
        self.session = session
        self.savepoint = session.begin_nested()
        session.add(file)
        session.flush()
        self.file, self.answers = file, answers
        conn = session.connection()

        def write() -> None:
            with generic_plans(conn):  # the foreign keys' checks of every line planned once
                _write_answers(conn, county, file.id, at, answers)

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="daipin-lines")
        self.done = self.pool.submit(contextvars.copy_context().run, write)

    def wait(self) -> BaseException | None:
        """The write finished (or failed: its error, the write then to be undone)."""
        try:
            self.done.result()
        except Exception as exc:  # noqa: BLE001 - given to the caller, who undoes the write
            return exc
        finally:
            self.pool.shutdown(wait=True)
        return None

    def undo(self) -> None:
        self.wait()
        if self.savepoint.is_active:
            self.savepoint.rollback()

    def keep(self) -> None:
        self.savepoint.commit()
        for obj in list(self.session.identity_map.values()):  # the session's copies of the lines are read again
            if isinstance(obj, PaymentLine):
                self.session.expire(obj)


def _glance(rows: list[list[Any]], width: int, at: tuple[int, int, int, int], sent: dict[int, Any],
            i_id: int) -> list[tuple[int, bool, str]] | None:
    """What each row of a plain csv return answers — (line id, paid, serial or masked reason) — read quickly and
    without any check (the rows are checked afterwards, whatever this finds); None where a row is not as the
    usual file has it (short, or a 序号 or 状态 that does not read), then nothing is written early."""
    i_seq, i_status, i_reason, i_serial = at
    out: list[tuple[int, bool, str]] = []
    read = BANK_RETURN_STATUS.read
    for row in rows:
        if not row or row[0].strip() == CONTROL[0]:  # (the control line: the check reads it)
            continue
        if len(row) < width:
            return None
        seq_text = row[i_seq].strip()
        line = sent.get(int(seq_text)) if seq_text.isdigit() else None
        outcome = read(row[i_status].strip())
        if line is None or outcome is None:
            return None
        if outcome == "paid":
            out.append((line[i_id], True, row[i_serial].strip()))
        else:
            out.append((line[i_id], False, mask_free_text(row[i_reason].strip())))
    return out


_LINE_COLUMNS = tuple(c.key for c in PaymentLine.__table__.columns)


def line_facts(states: Sequence[Any], pii: Any, columns: Sequence[str] | None = None) -> list[dict[str, str]]:
    """Row facts of payment lines from their full column values, exactly as `workflow_row_state` and
    `store.row_fact` give them (the bank reference masked with its salted digest beside it, `pii` giving that
    digest), without loading each line as an object: what a file of 100,000 lines needs. The values are text, whole
    numbers, times and NULL, whose canonical JSON (sorted keys, no spaces, UTF-8) is written here directly, a column
    at a time: each part has its comma in front (a NULL left out is an empty part); a column of one value is one
    constant text, the others a list of parts; the constant texts make one template that each line's parts fill
    in, and the line's text is hashed. A column holding any other kind of value falls back to the general path.
    With `columns` (the columns' names in a row's order), each state is a row (a tuple or list) in that order
    rather than a dict: what a return file's lines read as rows need, without a dict made for each."""
    import json

    from daipin.domain.privacy import mask_reference
    from daipin.services.shared.rows import WORKFLOW_LATER_COLUMNS, WORKFLOW_MASKED_COLUMNS

    if not states:
        return []
    if columns is not None and not all(k in columns for k in _LINE_COLUMNS):
        raise ValueError(f"the rows lack columns of payment_lines: {sorted(set(_LINE_COLUMNS) - set(columns))}")
    later = frozenset(k for t, k in WORKFLOW_LATER_COLUMNS if t == "payment_lines")
    masked = frozenset(k for t, k in WORKFLOW_MASKED_COLUMNS if t == "payment_lines")
    enc: Any = json.encoder.encode_basestring  # json.dumps(ensure_ascii=False)'s
    keys = sorted(_LINE_COLUMNS)  # the sorted order of the state's keys (a masked column's `<key>_digest`
    # follows it directly: no column sorts between); every line's values taken at once, then column by column
    get = itemgetter(*keys) if columns is None else itemgetter(*[list(columns).index(k) for k in keys])
    table = list(zip(*map(get, states), strict=True))
    ids = table[keys.index("id")]
    constant = [""]  # the template's texts between the varying columns
    varying: list[list[str]] = []
    for k, values in zip(keys, table, strict=True):
        head = "," + enc(k) + ":"
        kinds = set(map(type, values))
        if not kinds <= {str, int, datetime, type(None)}:
            return _general_facts(states if columns is None else [dict(zip(columns, s, strict=True))
                                                                   for s in states], pii)
        times: dict[datetime, str] = {}

        def part(v: Any, k: str = k, head: str = head, times: dict[datetime, str] = times) -> str:
            if v is None:
                return "" if k in later else head + "null"
            if type(v) is int:
                return head + str(v)
            if type(v) is str:
                text: str = (head + enc(mask_reference(v)) + "," + enc(k + "_digest") + ":" + enc(pii(v))
                             if v and k in masked else head + enc(v))
                return text
            iso = times.get(v)  # a time: each instant written once
            if iso is None:
                iso = times[v] = head + enc(_utc(v).isoformat())
            return iso

        if len(set(values)) == 1:  # one value in every line (kinds as above: no True beside 1)
            constant[-1] += part(values[0]).replace("%", "%%")
            continue
        null = "" if k in later else head + "null"
        if kinds == {int}:
            varying.append([head + v for v in map(str, values)])
        elif kinds == {str} and k not in masked:
            varying.append([head + v for v in map(enc, values)])
        elif kinds == {str}:  # a masked column: each value masked, its digest beside it (an empty one as it is)
            digest_head = "," + enc(k + "_digest") + ":"
            varying.append([head + enc(mask_reference(v)) + digest_head + enc(pii(v)) if v else head + '""'
                            for v in values])
        elif kinds <= {int, type(None)} or kinds <= {datetime, type(None)} or (
                kinds <= {str, type(None)} and k not in masked):  # one kind of value, NULL among them
            written = {v: part(v) for v in set(values)}  # each value written once (times, files, batches repeat)
            varying.append([null if v is None else written[v] for v in values])
        else:
            varying.append(list(map(part, values)))
        constant.append("")
    template = "%s".join(constant)
    texts = [template % t for t in zip(*varying, strict=True)] if varying else [template % ()] * len(states)
    sha = hashlib.sha256
    return [{"table": "payment_lines", "id": str(i), "digest": sha(("{" + t[1:] + "}").encode()).hexdigest()}
            for i, t in zip(ids, texts, strict=True)]


def _general_facts(states: Sequence[dict[str, Any]], pii: Any) -> list[dict[str, str]]:
    """`line_facts` the long way: each line's state built as `workflow_row_state` builds it, then `store.row_fact`."""
    from daipin.domain.privacy import mask_reference
    from daipin.services.shared.rows import WORKFLOW_LATER_COLUMNS, WORKFLOW_MASKED_COLUMNS, _plain

    out = []
    for s in states:
        state: dict[str, Any] = {}
        for k in _LINE_COLUMNS:
            v = s[k]
            if v and ("payment_lines", k) in WORKFLOW_MASKED_COLUMNS:
                state[k] = mask_reference(str(v))
                state[f"{k}_digest"] = pii(str(v))
            elif not (v is None and ("payment_lines", k) in WORKFLOW_LATER_COLUMNS):
                state[k] = _plain(v)
        out.append(store.row_fact("payment_lines", s["id"], state))
    return out


def _account_digest(session: Session) -> Any:
    """The salted digest of accounts (`trace.pii`), the salt read once for a whole file."""
    from daipin.domain.privacy import salted_digester

    return salted_digester(store.pinned_salt(session))


# ---------------------------------------------------------------- in


@dataclass(frozen=True)
class Problem:
    row: int  # the row in the file (the header is row 1)
    column: str  # the header as written in the file ("" for the whole row or file)
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message_zh": self.message_zh, "message": self.message_en}

    def text(self) -> str:
        where = f"第{self.row}行" + (f" {self.column}" if self.column else "") if self.row else "文件"
        return f"{where}：{self.message_zh} / {self.message_en}"


class ReturnRefused(InputError):
    """A return file refused whole: every problem found, each with its row and column; nothing applied."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = "；".join(p.text() for p in problems[:3])
        more = f"（另有 {len(problems) - 3} 处）" if len(problems) > 3 else ""
        super().__init__(f"银行回盘文件有 {len(problems)} 处问题，未登记任何结果：{first}{more}",
                         f"the bank return file has {len(problems)} problems; nothing was applied", "file",
                         code="return_refused")

    @property
    def details(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems[:_PROBLEMS_SHOWN * 10]]


@dataclass
class ReturnResult:
    file: PaymentFile
    paid: int
    failed: int
    paid_fen: int
    failed_fen: int
    sha256: str


def decode_text(data: bytes) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with its BOM, else GB 18030; else refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("文件以 UTF-16 标记开头但无法按 UTF-16 读取", "the file starts like UTF-16 but is not "
                             "valid UTF-16", "file", code="bad_encoding") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError("无法识别文件编码（应为 UTF-8、UTF-16 或 GB 18030/GBK）",
                         "the file's encoding is not UTF-8, UTF-16 or GB 18030/GBK", "file",
                         code="bad_encoding") from None


def _cell(v: Any) -> tuple[str, bool]:
    """A cell as text, and whether it is (or would run as) a formula."""
    if type(v) is str and (not v or v[0] not in _MAYBE_FORMULA):  # most cells: plain text
        return v, False
    if v is None:
        return "", False
    if isinstance(v, bool):
        return str(v), False
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v)), False
        return str(Decimal(repr(v))), False
    if isinstance(v, int):
        return str(v), False
    text = str(v)
    if text.startswith("'"):  # a spreadsheet's "this is text" mark, as our own files write it
        return text[1:], False
    if text.startswith(("=", "+", "@", "\t", "\r")) or (text.startswith("-") and not _AMOUNT.match(text[1:])):
        return text, True
    return text, False


def read_rows(name: str, data: bytes) -> list[list[Any]]:
    """The first sheet's (or the csv's) rows as read, header first."""
    return _read_rows(name, data)[0]


def _read_rows(name: str, data: bytes) -> tuple[list[list[Any]], bool]:
    """`read_rows`, and whether every cell is text that starts like no formula (a csv without any such cell)."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if not data:
        raise ReturnRefused([Problem(0, "", "文件为空", "the file is empty")])
    if suffix in ("xlsx", "xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception:  # noqa: BLE001 - any unreadable workbook is one refusal
            raise InputError("无法读取 xlsx 文件", "the xlsx file cannot be read", "file", code="unreadable") from None
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows, False
    if suffix in ("csv", "txt"):
        text = decode_text(data)
        try:
            return list(csv.reader(io.StringIO(text))), _CSV_MAYBE_FORMULA.search(text) is None
        except csv.Error as exc:
            raise InputError(f"无法按 csv 读取（{exc}）", f"not readable as csv ({exc})", "file",
                             code="unreadable") from None
    raise InputError(f"不支持的文件类型 .{suffix}（应为 xlsx 或 csv）", f"unsupported file type .{suffix}", "file")


def _fen(text: str) -> int | None:
    t = text.strip()
    if not _AMOUNT.match(t):
        return None
    try:
        return int(Decimal(t.replace(",", "")) * 100)
    except InvalidOperation:
        return None


def apply_return(session: Session, actor: Actor, batch_id: int, name: str, data: bytes, *,
                 at: datetime) -> ReturnResult:
    """Read the bank's return file and settle every line it answers (`paid` with its serial, `failed` with its
    reason), all at once — or refuse it whole, listing every problem with row and column."""
    with _bulk():
        return _apply_return(session, actor, batch_id, name, data, at=at)


def _apply_return(session: Session, actor: Actor, batch_id: int, name: str, data: bytes, *,
                  at: datetime) -> ReturnResult:
    fmt = "xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else "csv"
    batch, matter = payments.lock_batch(session, actor, batch_id)
    # The batch's lines, read while the file is: on PostgreSQL without a lock (every payment step holds the batch's
    # lock; the UPDATEs below lock each line and re-check that it is still sent); elsewhere locked here.
    q = select(PaymentLine.__table__).where(PaymentLine.batch_id == batch.id, PaymentLine.seq.is_not(None))
    read: list[Any] = []

    def read_lines(conn: Any) -> None:
        res = conn.execute(q if conn.dialect.name == "postgresql" else q.with_for_update())
        read.extend((list(res.keys()), res.all()))

    raw, plain = _meanwhile(session, read_lines, lambda: _read_rows(name, data))
    at = _utc(at)
    problems: list[Problem] = []
    while raw and all(_cell(c)[0].strip() == "" for c in raw[0]):
        raw.pop(0)
    if not raw:
        raise ReturnRefused([Problem(0, "", "文件为空", "the file is empty")])
    headers = [_cell(h)[0].strip() for h in raw[0]]
    index, missing = match_headers(headers, RETURN_COLUMNS, RETURN_REQUIRED)
    for key in missing:
        problems.append(Problem(1, RETURN_HEADER_OF[key], f"缺少必需的列 {RETURN_HEADER_OF[key]}",
                                f"missing required column {RETURN_HEADER_OF[key]}"))
    if problems:
        raise ReturnRefused(problems)
    col = {k: headers[i] for k, i in index.items()}
    pii = _account_digest(session)
    names, found = read  # each line a row (a tuple), its columns found by position: no dict made for each
    at_ = {k: i for i, k in enumerate(names)}
    i_id, i_line_seq, i_line_status, i_fen, i_digest = (at_[k] for k in ("id", "seq", "status", "amount_fen",
                                                                            "account_digest"))
    i_payee_type, i_payee_ref = at_["payee_type"], at_["payee_ref"]
    sent = dict(zip(map(itemgetter(i_line_seq), found), found, strict=True))  # by 序号
    answers: list[tuple[int, Any, str, str]] = []  # (row, line, outcome, serial or reason)
    seen_seq: dict[int, int] = {}
    seen_serial: dict[str, int] = {}
    control: tuple[int, list[str]] | None = None
    data_rows = 0
    stated_fen = 0
    # Where each required column is (all are present, or the file was refused above); short rows are padded.
    i_seq, i_amount, i_account, i_status, i_reason, i_serial = (index[k] for k in RETURN_REQUIRED_ORDER)
    width = max(index.values()) + 1
    fens: dict[str, int | None] = {}  # amounts repeat: each read once
    sha = hashlib.sha256(data).hexdigest()

    def new_file() -> PaymentFile:  # the counts set once the answers are known
        return PaymentFile(batch_id=batch.id, county_code=batch.county_code, direction="in", format=fmt,
                           sha256=sha, line_count=0, total_fen=0, paid_count=0, failed_count=0,
                           with_id_number=False, created_at=at, created_by=f"{actor.role.value}:{actor.id}")

    early = None
    if plain and session.get_bind().dialect.name == "postgresql":
        glanced = _glance(raw[1:], width, (i_seq, i_status, i_reason, i_serial), sent, i_id)
        if glanced:
            early = _EarlyWrite(session, new_file(), batch.county_code, at, glanced)
    try:  # the early write, if any, is undone on any error
        for n, row in enumerate(raw[1:], start=2):
            if not plain and any(type(c) is not str or c[:1] in _MAYBE_FORMULA for c in row):
                cells = [_cell(c) for c in row]
                texts = [t.strip() for t, _ in cells]
                formulas = [j for j, (_t, formula) in enumerate(cells) if formula]
            else:  # a row of plain text (every csv row, most xlsx rows): no cell to look at more closely
                texts = [c.strip() for c in row]
                formulas = []
            if not any(texts):
                continue
            if texts[0] == CONTROL[0]:
                control = (n, texts)
                continue
            data_rows += 1
            for j in formulas:
                problems.append(Problem(n, headers[j] if j < len(headers) else f"第{j + 1}列",
                                        "单元格是公式，银行回盘应为数值或文字", "a formula cell; the return must hold values"))
            if len(texts) < width:
                texts = texts + [""] * (width - len(texts))
            before = len(problems)
            seq_text, amount_text, account = texts[i_seq], texts[i_amount], texts[i_account]
            if not account.isdigit():
                account = _SPACE.sub("", account)
            status_text, reason, serial = texts[i_status], texts[i_reason], texts[i_serial]
            line = None
            if not _SEQ.match(seq_text):
                problems.append(Problem(n, col["seq"], f"序号“{seq_text}”不是正整数", "the line number is not a whole number"))
            else:
                seq = int(seq_text)
                line = sent.get(seq)
                if line is None:
                    problems.append(Problem(n, col["seq"], f"序号 {seq} 不是本批次的支付明细",
                                            f"line {seq} is not a line of this batch"))
                elif seq in seen_seq:
                    problems.append(Problem(n, col["seq"], f"序号 {seq} 与第{seen_seq[seq]}行重复",
                                            f"line {seq} is answered twice (also row {seen_seq[seq]})"))
                    line = None
                else:
                    seen_seq[seq] = n
                    status = line[i_line_status]
                    if status != "sent":
                        settled = status in ("paid", "failed", "requeued", "written_off")
                        problems.append(Problem(n, col["seq"], f"序号 {seq} 的明细{PAYMENT_LINE_STATUS.zh(status)}，"
                                                + ("已结算，不能再登记" if settled else "尚未发送银行"),
                                                f"line {seq} is {status}: " + ("already settled" if settled
                                                                               else "not sent to the bank")))
                        line = None
            fen = fens.get(amount_text, -1)
            if fen == -1:
                fen = fens[amount_text] = _fen(amount_text)
            stated_fen += fen or 0
            if fen is None:
                problems.append(Problem(n, col["amount"], f"金额“{amount_text}”不是以元为单位、至多两位小数的数",
                                        "the amount is not a number of yuan with at most two decimals"))
            elif line is not None and fen != line[i_fen]:
                problems.append(Problem(n, col["amount"], f"金额 {yuan(fen)} 元与明细金额 {yuan(line[i_fen])} 元不符",
                                        f"amount {yuan(fen)} differs from the line's {yuan(line[i_fen])}"))
            if line is not None and (not account or pii(account) != line[i_digest]):
                problems.append(Problem(n, col["account"], "账号与发送银行的账号不符", "the account differs from the one sent"))
            outcome = BANK_RETURN_STATUS.read(status_text) if status_text else None
            if outcome is None:
                problems.append(Problem(n, col["status"], f"状态“{status_text}”应为 成功 或 失败",
                                        "the status must be 成功 (succeeded) or 失败 (failed)"))
            elif outcome == "paid":
                if not serial:
                    problems.append(Problem(n, col["serial"], "成功的明细须有流水号", "a succeeded line needs its serial number"))
                elif len(serial) > payments.REF_LIMIT:
                    problems.append(Problem(n, col["serial"], "流水号过长（最多 100 字）", "serial number too long"))
                elif serial in seen_serial:
                    problems.append(Problem(n, col["serial"], f"流水号 {serial} 与第{seen_serial[serial]}行重复",
                                            f"serial {serial} repeats row {seen_serial[serial]}"))
                else:
                    seen_serial[serial] = n
            elif not reason:
                problems.append(Problem(n, col["reason"], "失败的明细须有失败原因", "a failed line needs the bank's reason"))
            elif len(reason) > payments.REASON_LIMIT:
                problems.append(Problem(n, col["reason"], "失败原因过长（最多 400 字）", "reason too long"))
            if len(problems) == before and line is not None and outcome is not None:
                answers.append((n, line, outcome, serial if outcome == "paid" else mask_free_text(reason)))
        _check_control(problems, control, data_rows, stated_fen)
        if not answers and not problems:
            problems.append(Problem(0, "", "文件没有明细行", "the file has no lines"))
        f: PaymentFile | None = None
        facts: list[dict[str, str]] | None = None
        checked = [(a[1][i_id], a[2] == "paid", a[3]) for a in answers]  # as `_write_answers` takes them
        if early is not None:
            if not problems and checked == early.answers:
                facts = line_facts(_states(answers, names, at, early.file.id), pii, names)  # while it writes
                if early.wait() is None:
                    early.keep()
                    f = early.file
            if f is None:
                early.undo()  # a problem, another answer, or the write failed: the usual way below
    except BaseException:
        if early is not None:
            early.undo()
        raise
    if f is None:
        for serial, line_id in _used_serials(session, batch.county_code, list(seen_serial)).items():
            problems.append(Problem(seen_serial[serial], col["serial"], f"流水号 {serial} 已用于支付明细 {line_id}",
                                    f"serial {serial} already settles line {line_id}"))
        if problems:
            problems.sort(key=lambda p: (p.row, p.column))
            raise ReturnRefused(problems)
    paid = [a for a in answers if a[2] == "paid"]
    failed = [a for a in answers if a[2] == "failed"]
    if f is None:
        f = new_file()
        session.add(f)
        session.flush()
        file_id, county = f.id, batch.county_code
        states = _states(answers, names, at, file_id)
        facts = _meanwhile(session, lambda conn: _write_answers(conn, county, file_id, at, checked),
                           lambda: line_facts(states, pii, names))
    assert facts is not None
    f.line_count, f.total_fen = len(answers), sum(a[1][i_fen] for a in answers)
    f.paid_count, f.failed_count = len(paid), len(failed)
    payments.settle_entities(session, actor, batch, [(a[1][i_id], str(a[1][i_payee_ref]), a[3])
                                                     for a in paid if a[1][i_payee_type] == "entity"], at)
    payments.refresh_status(session, batch)
    paid_fen = sum(a[1][i_fen] for a in paid)
    failed_fen = sum(a[1][i_fen] for a in failed)
    trace.record(session, actor=actor, type="payment.file_in", subject=f"payment_file:{f.id}",
                 region=matter.region_code,
                 facts={"batch": batch.id, "file": f.id, "format": fmt, "sha256": sha, "lines": len(answers),
                        "paid": len(paid), "paid_fen": paid_fen, "failed": len(failed), "failed_fen": failed_fen,
                        "failures": [{"line": a[1][i_id], "seq": a[1][i_line_seq], "reason": a[3]}
                                     for a in failed],
                        "batch_status": batch.status, "row": row_fact(session, f),
                        "rows": [row_fact(session, batch), *facts]},
                 at=at)
    return ReturnResult(f, len(paid), len(failed), paid_fen, failed_fen, sha)


def _states(answers: list[tuple[int, Any, str, str]], names: list[str], at: datetime, file_id: int) -> list[Any]:
    """Each answered line's state after the return, in place of the row read (in the columns' order `names`)."""
    pos = {k: i for i, k in enumerate(names)}
    i_status, i_paid_at, i_ref, i_failed_at, i_reason, i_file = (pos[k] for k in (
        "status", "paid_at", "payment_ref", "failed_at", "failure_reason", "return_file_id"))
    states = []
    for _n, line, outcome, value in answers:
        state = list(line)
        if outcome == "paid":
            state[i_status], state[i_paid_at], state[i_ref] = "paid", at, value
        else:
            state[i_status], state[i_failed_at], state[i_reason] = "failed", at, value
        state[i_file] = file_id
        states.append(state)
    return states


def _check_control(problems: list[Problem], control: tuple[int, list[str]] | None, data_rows: int,
                   stated_fen: int) -> None:
    if control is not None:  # the control line, when the bank returns it, must agree with the rows
        n, texts = control
        stated = texts[1] if len(texts) > 1 else ""
        if stated and stated != str(data_rows):
            problems.append(Problem(n, CONTROL[0], f"控制行笔数 {stated} 与明细行数 {data_rows} 不符",
                                    f"the control line's count {stated} differs from the {data_rows} rows"))
        total_text = texts[3] if len(texts) > 3 and texts[2] == CONTROL[1] else ""
        if total_text and _fen(total_text) != stated_fen:
            problems.append(Problem(n, CONTROL[1], f"控制行总金额 {total_text} 元与明细合计 {yuan(stated_fen)} 元不符",
                                    f"the control line's total {total_text} differs from the rows' {yuan(stated_fen)}"))


def _used_serials(session: Session, county: str, serials: list[str]) -> dict[str, int]:
    """The serials among `serials` that a receipt of the county already holds, with the line each settles."""
    used: dict[str, int] = {}
    receipt = select(PaymentReceipt.payment_ref, PaymentReceipt.line_id).where(PaymentReceipt.county_code == county)
    if serials and session.get_bind().dialect.name == "postgresql":  # one parameter, however many serials: a JSON
        # array (written by the json module at once, where a text[] parameter is quoted serial by serial)
        listed = select(func.json_array_elements_text(cast(literal(json.dumps(serials, ensure_ascii=False), String), JSON)))
        used.update((str(ref), int(lid)) for ref, lid in session.execute(receipt.where(
            PaymentReceipt.payment_ref.in_(listed.scalar_subquery()))))
        serials = []
    for i in range(0, len(serials), 10_000):  # a database takes at most 65,535 parameters in one statement
        used.update((str(ref), int(lid)) for ref, lid in session.execute(receipt.where(
            PaymentReceipt.payment_ref.in_(serials[i:i + 10_000]))))
    return used


def files(session: Session, batch: PaymentBatch) -> list[PaymentFile]:
    return list(session.scalars(select(PaymentFile).where(PaymentFile.batch_id == batch.id).order_by(PaymentFile.id)))


__all__ = ["BankFile", "Matter", "Problem", "ReturnRefused", "ReturnResult", "apply_return", "bank_file", "files"]
