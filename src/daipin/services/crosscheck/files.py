"""The counties' digest files as the province receives them (docs/scale.md 跨县比对, step 4): one CSV per county,
or several counties in one, with the columns 区县代码, 编号 (the county's own reference to the person) and 摘要 (the
province digest of the person's ID number, 64 hex digits). Read whole or refused whole, every problem listed by
file, row and column; an ID number or a phone number where a reference belongs is refused, never echoed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Region
from daipin.domain import access
from daipin.domain import crosscheck as cc
from daipin.domain.actors import Actor
from daipin.domain.errors import InputError
from daipin.services.crosscheck import views

MAX_FILE = 20 * 1024 * 1024
MAX_ROWS = 2_000_000
HEADERS = {"county": ("区县代码", "county"), "reference": ("编号", "reference"), "digest": ("摘要", "digest")}
_DIGEST = re.compile(r"[0-9a-f]{64}")
_COUNTY = re.compile(r"\d{6}")
_REFERENCE = re.compile(r"[0-9A-Za-z_:./#-]{1,60}")
# An ID number (18 or 15 digits) or a mobile number standing alone (a 16-digit household number is a reference).
_PERSONAL = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?![\dXx])")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    column: str
    message_zh: str
    message_en: str


@dataclass
class Received:
    """What the files held: each county's (reference, digest) pairs, and what was wrong with them."""

    by_county: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    rows: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)


class FilesRefused(InputError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"摘要文件有 {len(problems)} 处问题，未作比对", f"{len(problems)} problems in the digest "
                         "files: nothing was compared", "file")
        self.problems = problems


def _text(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read(files: Iterable[tuple[str, bytes]]) -> Received:
    """Every file's rows, or FilesRefused listing each problem (nothing is compared while one remains)."""
    got = Received()
    for name, data in files:
        got.files += 1
        if len(data) > MAX_FILE:
            got.problems.append(Problem(name, 0, "文件", "文件过大（最多 20 MB）", "file too large (20 MB at most)"))
            continue
        text = _text(data)
        if text is None:
            got.problems.append(Problem(name, 0, "文件", "无法识别文件编码，请另存为 UTF-8 的 CSV",
                                        "unreadable text: save the file as UTF-8 CSV"))
            continue
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            got.problems.append(Problem(name, 0, "文件", "文件是空的", "the file is empty"))
            continue
        head = [h.strip() for h in rows[0]]
        where: dict[str, int] = {}
        for key, names in HEADERS.items():
            found = [i for i, h in enumerate(head) if h in names]
            if not found:
                got.problems.append(Problem(name, 1, names[0], f"缺少“{names[0]}”列", f"no column {names[1]}"))
            else:
                where[key] = found[0]
        if len(where) < len(HEADERS):
            continue
        for n, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            got.rows += 1
            if got.rows > MAX_ROWS:
                got.problems.append(Problem(name, n, "文件", "行数过多（最多 200 万行）", "too many rows (2 million)"))
                break
            cell = {k: (row[i].strip() if i < len(row) else "") for k, i in where.items()}
            bad = len(got.problems)
            if not _COUNTY.fullmatch(cell["county"]):
                got.problems.append(Problem(name, n, "区县代码", "应为 6 位数字", "must be 6 digits"))
            if _PERSONAL.search(cell["reference"]):
                got.problems.append(Problem(name, n, "编号", "编号像是身份证号或电话号码：请只用本县自己的编号",
                                            "looks like an ID or phone number: use the county's own "
                                            "reference"))
            elif not _REFERENCE.fullmatch(cell["reference"]):
                got.problems.append(Problem(name, n, "编号", "应为 1 至 60 个字母、数字或 _:./#-",
                                            "1 to 60 letters, digits or _:./#-"))
            if not _DIGEST.fullmatch(cell["digest"].lower()):
                got.problems.append(Problem(name, n, "摘要", "应为 64 位十六进制数字", "must be 64 hex digits"))
            if len(got.problems) == bad:
                got.by_county.setdefault(cell["county"], []).append((cell["reference"], cell["digest"].lower()))
    if not got.files:
        raise InputError("请选择各县上报的摘要文件", "choose the counties' digest files", "file")
    if got.problems:
        raise FilesRefused(got.problems)
    return got


def findings(session: Session, actor: Actor, got: Received) -> dict[str, Any]:
    """DUPLICATE over what the files held (each county inside the actor's reach, else Forbidden naming it), with
    the counties' names; never an ID number (the files hold none)."""
    access.require(actor, "crosscheck.run", field="actor")
    dupes: list[cc.Duplicate] = views.find_duplicates(actor, got.by_county)
    names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(list(got.by_county)))).all())
    return {"duplicates": [{"digest": d.digest, "places": [(c, names.get(c, ""), ref) for c, ref in d.places]}
                           for d in dupes],
            "counties": [(c, names.get(c, ""), len(pairs)) for c, pairs in sorted(got.by_county.items())],
            "rows": got.rows, "files": got.files}
