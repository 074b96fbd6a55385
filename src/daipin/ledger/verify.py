"""Full audit of the stored log: recompute every leaf, node and root, check every signed checkpoint and the rows behind entries.

The first bad entry is named: a changed body by its own index (its leaf hash or
its `index` field no longer fits), a dropped entry by the gap, a consistent rewrite
(bodies, leaf hashes and nodes all recomputed) by the start of the smallest stored
subtree or signed checkpoint that no longer matches, an edited business row by the
latest entry about it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.ledger import merkle, note, store

E, N, C = store.E, store.N, store.C


@dataclass(frozen=True)
class Problem:
    """`kind`: "entry" names the bad entry exactly; "node" the start of the smallest stored
    subtree that no longer matches (the leaf hash was forged too); "checkpoint" the size of
    the last signed checkpoint that still matches (everything below a checkpoint was rewritten)."""

    index: int
    reason_zh: str
    reason_en: str
    kind: str = "entry"
    end: int = -1  # the first bad entry lies in [index, end); -1 means exactly `index`

    def covers(self, index: int) -> bool:
        return self.index <= index < (self.end if self.end >= 0 else self.index + 1)

    def __str__(self) -> str:
        return f"entry {self.index}: {self.reason_zh} / {self.reason_en}"


@dataclass
class Report:
    size: int = 0
    root: bytes = b""
    hash_name: str = ""
    checkpoints: int = 0
    rows_checked: int = 0
    rows_unchecked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        """The first bad entry: exact findings and stored-subtree findings first, signed roots as a last resort."""
        # A range finding that contains an exact one is its consequence, not a new fault.
        exact = [p for p in self.problems if p.kind == "entry"]
        nodes = [p for p in self.problems if p.kind == "node" and not any(p.covers(e.index) for e in exact)]
        signed = [p for p in self.problems
                  if p.kind == "checkpoint" and not any(p.covers(e.index) for e in exact + nodes)]
        pool = exact + nodes + signed
        return min(pool, key=lambda p: p.index) if pool else None

    def add(self, index: int, zh: str, en: str, kind: str = "entry", end: int = -1) -> None:
        self.problems.append(Problem(index, zh, en, kind, end))


def _row_refs(facts: Any) -> list[dict[str, Any]]:
    """Every row fact in `facts`: a top-level value, or an item of a top-level list, that is a dict with the keys
    `table`, `id` and `digest` (`facts["row"]` and `facts["rows"]` by convention; a household's entry also names
    its people, a project's its funding rows, under their own keys)."""
    if not isinstance(facts, dict):
        return []
    refs = []
    for value in facts.values():
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, dict) and {"table", "id", "digest"} <= set(item):
                refs.append(item)
    return refs


def verify_log(
    session: Session,
    *,
    chunk: int = 8192,
    max_problems: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check everything; never raises on a bad log, the report says what is wrong."""
    report = Report()
    log = store.log_info(session)
    if log is None:
        report.add(0, "账本不存在", "there is no ledger")
        return report
    report.hash_name = log.hash_name
    hasher = log.hasher
    verifier = log.verifier
    conn = session.connection()
    total = store.tree_size(session)
    stored_count = conn.execute(select(func.count()).select_from(E)).scalar() or 0
    frontier = merkle.Frontier(hasher)
    latest_rows: dict[tuple[str, str], tuple[int, str]] = {}
    batch_types = store.batch_checks()
    batches: list[tuple[int, str, dict[str, Any]]] = []  # entries recording rows as a batch digest
    good_size = 0  # the largest signed size known to match
    node_bad: dict[int, int] = {}  # level -> first leaf of the first stored node that disagrees
    expected = 0

    def full() -> bool:
        return len(report.problems) >= max_problems

    def check_checkpoint(size: int, root: bytes, text: str) -> None:
        nonlocal good_size
        report.checkpoints += 1
        try:
            cp = note.open_checkpoint(text, verifier, origin=log.origin)
        except note.NoteError as exc:
            report.add(good_size, f"检查点 {size} 签名无效: {exc}", f"checkpoint {size} does not verify: {exc}",
                       "checkpoint")
            return
        if cp.size != size or cp.root != root:
            report.add(good_size, f"检查点 {size} 的记录与其签名内容不符",
                       f"checkpoint {size}'s stored size/root differ from what was signed", "checkpoint")
            return
        if frontier.root() != cp.root:
            report.add(good_size, f"树大小 {size} 的根与签名检查点不符，首个被改条目在 {good_size} 至 {size - 1} 之间",
                       f"root at size {size} differs from the signed checkpoint; the first changed entry "
                       f"lies in [{good_size}, {size})", "checkpoint", size)
        else:
            good_size = size

    def checkpoints_in(lo: int, hi: int) -> dict[int, tuple[bytes, str]]:
        rows = conn.execute(select(C.c.size, C.c.root, C.c.note).where(C.c.size >= lo, C.c.size <= hi))
        return {int(size): (bytes(root), text) for size, root, text in rows}

    for size, (root, text) in checkpoints_in(0, 0).items():
        check_checkpoint(size, root, text)
    start = 0
    while start < total and not full():
        end = min(start + chunk, total)
        rows = conn.execute(
            select(E.c.idx, E.c.body, E.c.leaf_hash, E.c.type, E.c.subject, E.c.region)
            .where(E.c.idx >= start, E.c.idx < end)
            .order_by(E.c.idx)
        ).all()
        completed: list[tuple[int, int, bytes]] = []
        pending_cps = checkpoints_in(start + 1, end)
        for idx, body, leaf_hash, type_, subject, region in rows:
            idx = int(idx)
            body = bytes(body)
            if idx != expected:
                report.add(expected, f"条目 {expected} 至 {idx - 1} 缺失", f"entries {expected}..{idx - 1} are missing")
                expected = idx
                while frontier.size < idx:  # keep positions aligned so later checks still mean something
                    frontier.append(b"\0" * hasher.size)
            lh = hasher.leaf(body)
            body_changed = lh != bytes(leaf_hash)
            if body_changed:
                report.add(idx, "条目内容已被改动（叶哈希不符）", "the entry body was changed (leaf hash differs)")
                # Named exactly; go on with the stored leaf so later checks find only other faults.
                lh = bytes(leaf_hash) if len(leaf_hash) == hasher.size else lh
            try:
                data = store.body_json(body)
            except ValueError:
                report.add(idx, "条目内容不是JSON对象", "the entry body is not a JSON object")
                data = {}
            claimed = data.get("index") if data else idx
            if claimed != idx:
                # An entry claiming an earlier number means something was inserted at or after that
                # number; one claiming a later number means something at this place was dropped.
                moved = isinstance(claimed, int) and not isinstance(claimed, bool) and 0 <= claimed < idx
                at_: int = claimed if moved and not body_changed and isinstance(claimed, int) else idx
                report.add(at_, f"条目自称序号 {data.get('index')}，却位于 {idx}（被删除、插入或调换）",
                           f"the entry says it is number {data.get('index')} but sits at {idx} "
                           "(dropped, inserted or reordered)")
            elif data and (data.get("type"), data.get("subject"), data.get("region")) != (type_, subject, region):
                report.add(idx, "条目的索引列与内容不符", "the entry's lookup columns differ from its body")
            for ref in _row_refs(data.get("facts")):
                latest_rows[(str(ref["table"]), str(ref["id"]))] = (idx, str(ref["digest"]))
            if type_ in batch_types and isinstance(data.get("facts"), dict):
                batches.append((idx, str(type_), data["facts"]))
            for lv, i, h in frontier.append(lh):
                completed.append((lv, i, h))
            expected = idx + 1
            cp = pending_cps.get(frontier.size)
            if cp is not None:
                check_checkpoint(frontier.size, *cp)
        for lv, first_leaf in _check_nodes(conn, completed):
            node_bad[lv] = min(node_bad.get(lv, first_leaf), first_leaf)
        if progress:
            progress(end, total)
        start = end
    if node_bad:
        # The lowest level that disagrees is the tightest: a forger who recomputed the
        # leaf hashes but not the nodes is caught at level 1, within a pair of entries.
        level = min(node_bad)
        worst = node_bad[level]
        report.add(worst, f"存储的树节点与条目重算结果不符，首个被改条目在 {worst} 至 {worst + (1 << level) - 1} 之间",
                   f"a stored tree node disagrees with the entries; the first changed entry lies in "
                   f"[{worst}, {worst + (1 << level)})", "node", worst + (1 << level))
    if not full():
        beyond = conn.execute(select(C.c.size).where(C.c.size > frontier.size).order_by(C.c.size).limit(1)).scalar()
        if beyond is not None:
            report.add(frontier.size, f"已签名的检查点 {beyond} 大于账本的 {frontier.size} 条，末尾条目被删除",
                       f"a signed checkpoint covers {beyond} entries but the log has {frontier.size}: "
                       "entries were dropped from the end")
        want_nodes = sum(frontier.size >> lv for lv in range(1, frontier.size.bit_length() + 1))
        have_nodes = conn.execute(select(func.count()).select_from(N)).scalar() or 0
        if have_nodes != want_nodes:
            report.add(frontier.size, f"树节点数 {have_nodes} 不应为 {want_nodes}",
                       f"the node table holds {have_nodes} nodes, a tree of this size has {want_nodes}")
        if stored_count != frontier.size:
            report.add(frontier.size, "条目数与序号不符", "entry count and numbering disagree")
        _check_rows(session, latest_rows, report)
        _check_batches(session, batches, latest_rows, report)
    report.size = frontier.size
    report.root = frontier.root()
    return report


def _check_nodes(conn: Any, completed: list[tuple[int, int, bytes]]) -> list[tuple[int, int]]:
    """(level, first leaf) of the first stored node per level that differs from the recomputed one."""
    by_level: dict[int, list[tuple[int, bytes]]] = {}
    for lv, i, h in completed:
        by_level.setdefault(lv, []).append((i, h))
    bad: list[tuple[int, int]] = []
    for lv, items in sorted(by_level.items()):
        lo, hi = items[0][0], items[-1][0]
        stored = {
            int(i): bytes(h)
            for i, h in conn.execute(
                select(N.c.idx, N.c.hash).where(N.c.level == lv, N.c.idx >= lo, N.c.idx <= hi)
            )
        }
        for i, h in items:
            if stored.get(i) != h:
                bad.append((lv, i << lv))
                break
    return bad


def _check_rows(session: Session, latest: dict[tuple[str, str], tuple[int, str]], report: Report) -> None:
    checks = store.row_checks()
    for (table, id_), (idx, want) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        check = checks.get(table)
        if check is None:
            report.rows_unchecked += 1
            continue
        report.rows_checked += 1
        state = check(session, id_)
        if state is None:
            report.add(idx, f"{table}#{id_} 已被删除，但账本条目 {idx} 记录了它",
                       f"{table} row {id_} was deleted after entry {idx} recorded it")
        elif store.row_digest(state) != want:
            report.add(idx, f"{table}#{id_} 在账本条目 {idx} 之后被改动，且未记账",
                       f"{table} row {id_} was edited after entry {idx} recorded it, without a new entry")


def _check_batches(session: Session, batches: list[tuple[int, str, dict[str, Any]]],
                   latest: dict[tuple[str, str], tuple[int, str]], report: Report) -> None:
    """Each batch's rows as the database holds them now against the digest its entry recorded. A batch with a
    row that a later entry recorded (a status change, a new member) has moved on legitimately: its rows are
    counted unchecked, the later entries' own row facts check what they changed."""
    checks = store.batch_checks()
    for idx, type_, facts in batches:
        check = checks.get(type_)
        if check is None:
            report.add(idx, f"账本条目 {idx} 记录了一批行（{type_}），但本系统不知如何核对这类批次",
                       f"entry {idx} records a batch of rows ({type_}) that this system has no check for")
            continue
        if check.digest_now(session, facts) == facts.get("digest"):
            report.rows_checked += check.size(facts)
            continue
        later = {key for key, (i, _) in latest.items() if i > idx}
        if later and check.touched(session, facts, later):
            report.rows_unchecked += check.size(facts)
            continue
        report.add(idx, f"账本条目 {idx} 记录的一批行（{type_}）之后被改动或删除，且未记账",
                   f"rows of the batch entry {idx} records ({type_}) were edited or deleted after it, without a new "
                   "entry")


def report_json(report: Report) -> str:
    first = report.first_bad
    return json.dumps(
        {"ok": report.ok, "size": report.size, "root": report.root.hex(), "hash": report.hash_name,
         "checkpoints": report.checkpoints, "rows_checked": report.rows_checked,
         "first_bad_entry": None if first is None else first.index,
         "problems": [{"index": p.index, "kind": p.kind, "reason_zh": p.reason_zh, "reason_en": p.reason_en}
                      for p in sorted(report.problems, key=lambda p: p.index)]},
        ensure_ascii=False, indent=2)
