"""The blinded digest exchange as files (docs/scale.md 跨县比对, steps 1-4): what a county server and the province
server each run, so a county hands the province its residents' digests without an ID number leaving the county and
without holding the province key.

1. Province, once: `province_key` makes the key (mode 0600, on the province server only) and gives the public
   value Y that counties unblind with.
2. County: `blind` writes the file it sends (区县代码, 编号, 盲化值: random-looking group elements) and the file it
   keeps (编号, 盲化因子: the blinding factors, mode 0600; with the sent file they would give H(id), so it never
   leaves the county server).
3. Province: `evaluate` answers every blinded value (区县代码, 编号, 应答值), for counties inside its reach only.
4. County: `finish` unblinds the answers into the digest file (区县代码, 编号, 摘要) that the province compares
   (`files.read`, the page /province/duplicates, `daipin crosscheck duplicates`).

A county's reference to a person is `person:<id>`, its own row id: nothing personal. Every file is read whole or
refused whole, naming the file, row and column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Person
from daipin.domain import access
from daipin.domain import crosscheck as cc
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.ledger import keys as keystore
from daipin.services.crosscheck import views

SENT = ("区县代码", "编号", "盲化值")
KEPT = ("编号", "盲化因子")
ANSWERS = ("区县代码", "编号", "应答值")
DIGESTS = ("区县代码", "编号", "摘要")
_HEX = re.compile(r"[0-9a-f]{1,600}")
_COUNTY = re.compile(r"\d{6}")
_REF = re.compile(r"person:\d{1,18}")


def province_key(keys_dir: str | None = None) -> str:
    """The province key, made once where it is missing (province server only); returns the public value Y in hex."""
    keystore.province_digest_key(keys_dir, create=True)
    return f"{views.public_value(keys_dir):x}"


def _write_private(path: Path, head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> int:
    """A new CSV file readable by its owner only; an existing file is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    n = 0
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def _residents(session: Session, county: str) -> Iterator[tuple[int, str]]:
    q = (select(Person.id, Person.id_number).where(Person.county_code == county).order_by(Person.id)
         .execution_options(yield_per=2000))
    for pid, id_number in session.execute(q):
        yield int(pid), str(id_number)


@dataclass(frozen=True)
class Blinded:
    rows: int
    sent: Path
    kept: Path


def blind(session: Session, actor: Actor, county: str, out_dir: Path,
          progress: Callable[[int], None] | None = None) -> Blinded:
    """The county's step 2 for every resident of `county`: `blinded.csv` to send, `keep.csv` to keep."""
    if not _COUNTY.fullmatch(county):
        raise InputError("区县代码应为 6 位数字", "the county code must be 6 digits", "county")
    access.require(actor, "household.read", region=county, field="county")
    out_dir.mkdir(parents=True, exist_ok=True)
    sent, kept = out_dir / "blinded.csv", out_dir / "keep.csv"
    for p in (sent, kept):
        if p.exists():
            raise InputError(f"文件已存在，不会覆盖: {p}", f"the file exists and is not overwritten: {p}", "out")
    factors: list[tuple[str, str]] = []

    def sent_rows() -> Iterator[tuple[str, ...]]:
        for n, (pid, id_number) in enumerate(_residents(session, county), 1):
            b = cc.blind(id_number)
            ref = f"person:{pid}"
            factors.append((ref, f"{b.r:x}"))
            if progress is not None and n % 10_000 == 0:
                progress(n)
            yield county, ref, f"{b.element:x}"

    try:
        rows = _write_private(sent, SENT, sent_rows())
        _write_private(kept, KEPT, factors)
    except BaseException:
        for p in (sent, kept):
            p.unlink(missing_ok=True)
        raise
    if rows == 0:
        for p in (sent, kept):
            p.unlink(missing_ok=True)
        raise InputError(f"县 {county} 没有居民", f"county {county} has no residents", "county")
    return Blinded(rows, sent, kept)


class ExchangeFileRefused(InputError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"文件有 {len(problems)} 处问题，未作处理", f"{len(problems)} problems in the file: nothing "
                         "was done", "file")
        self.problems = problems


def _read(path: Path, head: tuple[str, ...], checks: tuple[re.Pattern[str], ...]) -> list[tuple[str, ...]]:
    """Every row of a file this exchange wrote, columns by their Chinese names in any order, or refused whole."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"文件不存在: {path}", f"no such file: {path}", "file") from None
    except UnicodeDecodeError:
        raise ExchangeFileRefused([f"{path.name}: 不是 UTF-8 文本 / not UTF-8 text"]) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ExchangeFileRefused([f"{path.name}: 文件是空的 / the file is empty"])
    names = [h.strip() for h in rows[0]]
    missing = [h for h in head if h not in names]
    if missing:
        raise ExchangeFileRefused([f"{path.name} 第1行: 缺少“{h}”列 / no column {h}" for h in missing])
    at = [names.index(h) for h in head]
    out: list[tuple[str, ...]] = []
    problems: list[str] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        cells = tuple(row[i].strip().lower() if i < len(row) else "" for i in at)
        for h, c, check in zip(head, cells, checks, strict=True):
            if not check.fullmatch(c):
                problems.append(f"{path.name} 第{n}行“{h}”: 格式不对 / malformed")
        out.append(cells)
    if problems:
        raise ExchangeFileRefused(problems)
    if not out:
        raise ExchangeFileRefused([f"{path.name}: 没有数据行 / no rows"])
    return out


def evaluate(actor: Actor, sent: Path, out: Path, keys_dir: str | None = None) -> int:
    """The province's step 3: every blinded value answered, for counties inside the actor's reach only."""
    rows = _read(sent, SENT, (_COUNTY, _REF, _HEX))
    for county in sorted({r[0] for r in rows}):
        access.require(actor, "crosscheck.run", region=county, field="county")
    try:
        answers = views.evaluate(actor, [int(r[2], 16) for r in rows], keys_dir=keys_dir)
    except ValueError:
        raise ExchangeFileRefused([f"{sent.name}: 盲化值不是群中的元素 / a blinded value is not a group "
                                   "element"]) from None
    if out.exists():
        raise InputError(f"文件已存在，不会覆盖: {out}", f"the file exists and is not overwritten: {out}", "out")
    return _write_private(out, ANSWERS, ((c, ref, f"{e:x}") for (c, ref, _), e in zip(rows, answers, strict=True)))


def finish(answers_file: Path, kept_file: Path, public_value: str, out: Path) -> int:
    """The county's step 4: the digest file the province compares."""
    if not _HEX.fullmatch(public_value.strip().lower()):
        raise InputError("省级公开值应为十六进制数", "the province's public value must be hexadecimal", "public_value")
    y = int(public_value.strip(), 16)
    answers = _read(answers_file, ANSWERS, (_COUNTY, _REF, _HEX))
    factors: dict[str, str] = {row[0]: row[1] for row in _read(kept_file, KEPT, (_REF, _HEX))}
    problems = [f"{answers_file.name}: 编号 {ref} 不在本县保存的文件中 / reference {ref} is not in the kept file"
                for _, ref, _ in answers if ref not in factors]
    if problems:
        raise ExchangeFileRefused(problems)
    if out.exists():
        raise InputError(f"文件已存在，不会覆盖: {out}", f"the file exists and is not overwritten: {out}", "out")
    rows = [(c, ref, cc.unblind(cc.Blinded(0, int(factors[ref], 16)), int(e, 16), y)) for c, ref, e in answers]
    return _write_private(out, DIGESTS, rows)
