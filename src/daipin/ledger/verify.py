"""Full audit of the stored log: recompute every leaf, node and root, check every signed checkpoint and the rows behind entries.

The first bad entry is named: a changed body by its own index (its leaf hash or
its `index` field no longer fits), a dropped entry by the gap, a consistent rewrite
(bodies, leaf hashes and nodes all recomputed) by the start of the smallest stored
subtree or signed checkpoint that no longer matches, an edited business row by the
latest entry about it.
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from daipin.ledger import keys as keystore
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
    witnesses: int = 0
    key_id: str = ""
    problems: list[Problem] = field(default_factory=list)
    counties: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # each county's log: size and root

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


# Every row the entries state, with the index and row digest of the latest entry that states it. A province's
# entries state about seven million rows, so each is kept compact: the table's name shared (interned), the index
# and a hex digest packed into 40 bytes (a digest that is not 64 lowercase hex digits, as a tampered entry may
# hold, is kept as it was written, in a tuple). Half the memory of an (int, str) tuple a row.
Stated = dict[tuple[str, str], bytes | tuple[int, str]]


def _state(latest: Stated, ref: dict[str, Any], idx: int) -> None:
    digest = str(ref["digest"])
    packed: bytes | tuple[int, str] = (idx, digest)
    if len(digest) == 64:
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if raw.hex() == digest:
            packed = idx.to_bytes(8, "big") + raw
    latest[(sys.intern(str(ref["table"])), str(ref["id"]))] = packed


def _index_of(value: bytes | tuple[int, str]) -> int:
    return value[0] if isinstance(value, tuple) else int.from_bytes(value[:8], "big")


def _stated(value: bytes | tuple[int, str]) -> tuple[int, str]:
    """The (entry index, digest) `_state` packed."""
    if isinstance(value, tuple):
        return value
    return int.from_bytes(value[:8], "big"), value[8:].hex()


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


@dataclass
class KeySchedule:
    """Which key signs the checkpoints of which sizes: the anchor key, then each rotation's new key for the
    checkpoints after its entry. Built from the trusted keys (never from the key the database names)."""

    first: note.Verifier | None
    rotations: list[tuple[int, note.Verifier]] = field(default_factory=list)

    def for_size(self, size: int) -> note.Verifier | None:
        key = self.first
        for idx, v in self.rotations:
            if idx < size:
                key = v
        return key


def _parse_key(text: str | None) -> note.Verifier | None:
    try:
        return note.Verifier.parse(text) if text else None
    except note.NoteError:
        return None


def key_schedule(session: Session, log: store.LogInfo, report: Report, trusted_key: str | None,
                 anchor_key: str | None) -> KeySchedule:
    """The keys to check signatures with, from the published key (`trusted_key`, or `ledger.pub` beside the
    signing key) and the key fixed when the log was created (`ledger.anchor`), through the rotation entries, each
    of which must be signed by the key before it. A mismatch is a problem naming both keys."""
    trusted = _parse_key(trusted_key)
    if trusted is None:
        report.add(0, "没有可信的公钥（DAIPIN_KEYS_DIR 中的 ledger.pub 或 --key），不能只凭数据库中的公钥核验",
                   "no trusted verifier key (ledger.pub in DAIPIN_KEYS_DIR, or --key): the key the database names "
                   "is not trusted on its own", "checkpoint")
        return KeySchedule(None)
    report.key_id = trusted.key_id
    rows = session.connection().execute(
        select(E.c.idx, E.c.body).where(E.c.county_code == log.county_code, E.c.type == store.ROTATION_TYPE)
        .order_by(E.c.idx)).all()
    anchor = _parse_key(anchor_key)
    rotations: list[tuple[int, dict[str, Any]]] = []
    for idx, body in rows:
        try:
            facts = store.body_json(bytes(body)).get("facts") or {}
        except ValueError:
            facts = {}
        rotations.append((int(idx), facts if isinstance(facts, dict) else {}))
    first = anchor or (_parse_key(str(rotations[0][1].get("old_key"))) if rotations else trusted)
    schedule = KeySchedule(first)
    current = first
    import base64

    for idx, facts in rotations:
        new = _parse_key(str(facts.get("new_key")))
        try:
            sig = base64.b64decode(str(facts.get("signature")), validate=True)
        except ValueError:
            sig = b""
        if (current is None or new is None or facts.get("old_key") != str(current)
                or not current.verify(store.rotation_message(log.origin, str(current), str(new)), sig)):
            report.add(idx, f"换钥条目 {idx} 不是由此前的密钥 {current.key_id if current else '?'} 签署",
                       f"key rotation entry {idx} is not signed by the key before it "
                       f"({current.key_id if current else '?'})")
            return schedule
        schedule.rotations.append((idx, new))
        current = new
    if current is None or str(current) != str(trusted):
        report.add(0, f"账本的密钥链止于 {current.key_id if current else '?'}，而公布的公钥是 {trusted.key_id}",
                   f"the log's keys end at {current.key_id if current else '?'} but the published key is "
                   f"{trusted.key_id} ({trusted})", "checkpoint")
    if log.verifier_key != str(trusted):
        db_key = _parse_key(log.verifier_key)
        report.add(0, f"数据库中的公钥 {db_key.key_id if db_key else log.verifier_key} 不是公布的公钥 {trusted.key_id}",
                   f"the key the database names ({db_key.key_id if db_key else log.verifier_key}) is not the "
                   f"published key {trusted.key_id} ({trusted})", "checkpoint")
    return schedule


def verify_log(
    session: Session,
    *,
    chunk: int = 8192,
    max_problems: int = 50,
    progress: Callable[[int, int], None] | None = None,
    trusted_key: str | None = None,
    anchor_key: str | None = None,
    county: str | None = None,
) -> Report:
    """Check everything; never raises on a bad log, the report says what is wrong.

    Signatures are checked with the published key (`trusted_key`, by default `ledger.pub` in DAIPIN_KEYS_DIR, or
    the county's own under `counties/<county>/`) and the key the log was created with (`anchor_key`, by default
    `ledger.anchor` there), never with the key the database names; every witnessed checkpoint must be a root of
    this log.

    `county` names the log whose tree is checked (the home log when not given, and then every other county's log
    too, each problem naming its county). The rows behind entries are checked against every county's entries."""
    report = Report()
    logs = store.counties(session)
    log = store.log_info(session, county) if logs else None
    if log is None:
        report.add(0, f"县 {county} 的账本不存在" if county and logs else "账本不存在",
                   f"county {county} has no ledger" if county and logs else "there is no ledger")
        return report
    first = logs[0]

    def keys_of(c: str) -> tuple[str | None, str | None]:
        d = keystore.county_dir(c, first=c == first)
        return keystore.published_key(d), keystore.anchor_key(d)

    if trusted_key is None:
        published, anchored = keys_of(log.county_code)
        trusted_key = published
        if anchor_key is None:
            anchor_key = anchored
    latest_rows: Stated = {}
    batches: list[tuple[int, str, dict[str, Any]]] = []  # entries recording rows as a batch digest
    size = _verify_tree(session, log, report, latest_rows, batches, trusted_key, anchor_key, chunk=chunk,
                        max_problems=max_problems, progress=progress)
    for other in logs:
        if other == log.county_code:
            continue
        other_log = store.log_info(session, other)
        assert other_log is not None
        if county is not None:
            _collect_rows(session, other, latest_rows, batches)
            continue
        sub = Report()
        _verify_tree(session, other_log, sub, latest_rows, batches, *keys_of(other), chunk=chunk,
                     max_problems=max_problems)
        report.checkpoints += sub.checkpoints
        report.witnesses += sub.witnesses
        report.counties[other] = (sub.size, sub.root)
        for p in sub.problems:
            report.problems.append(Problem(p.index, f"县 {other} 账本: {p.reason_zh}",
                                           f"county {other}'s ledger: {p.reason_en}", p.kind, p.end))
    report.counties[log.county_code] = (report.size, report.root)
    if len(report.problems) < max_problems:
        _check_rows(session, latest_rows, report)
        covered = _check_batches(session, batches, latest_rows, report)
        _check_coverage(session, latest_rows, covered, size, report)
    return report


def _collect_rows(session: Session, county: str, latest_rows: Stated,
                  batches: list[tuple[int, str, dict[str, Any]]]) -> None:
    """The row facts and batches of another county's entries (so rows of that county are not taken as unstated)."""
    batch_types = store.batch_checks()
    rows = session.connection().execute(select(E.c.idx, E.c.body, E.c.type).where(E.c.county_code == county)
                                        .order_by(E.c.idx))
    for idx, body, type_ in rows:
        try:
            data = store.body_json(bytes(body))
        except ValueError:
            continue
        for ref in _row_refs(data.get("facts")):
            _state(latest_rows, ref, int(idx))
        if type_ in batch_types and isinstance(data.get("facts"), dict):
            batches.append((int(idx), str(type_), data["facts"]))


def _verify_tree(
    session: Session,
    log: store.LogInfo,
    report: Report,
    latest_rows: Stated,
    batches: list[tuple[int, str, dict[str, Any]]],
    trusted_key: str | None,
    anchor_key: str | None,
    *,
    chunk: int,
    max_problems: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """One county's log: every leaf, node, checkpoint, signature and witness. Returns the size checked."""
    county = log.county_code
    report.hash_name = log.hash_name
    hasher = log.hasher
    schedule = key_schedule(session, log, report, trusted_key, anchor_key)
    conn = session.connection()
    witnessed = store.witnesses(session, county)
    witness_sizes = {w.size for w in witnessed}
    witness_roots: dict[int, bytes] = {0: hasher.empty_root} if 0 in witness_sizes else {}
    total = store.tree_size(session, county)
    stored_count = conn.execute(select(func.count()).select_from(E).where(E.c.county_code == county)).scalar() or 0
    frontier = merkle.Frontier(hasher)
    batch_types = store.batch_checks()
    good_size = 0  # the largest signed size known to match
    node_bad: dict[int, int] = {}  # level -> first leaf of the first stored node that disagrees
    expected = 0

    def full() -> bool:
        return len(report.problems) >= max_problems

    def check_checkpoint(size: int, root: bytes, text: str) -> None:
        nonlocal good_size
        report.checkpoints += 1
        verifier = schedule.for_size(size)
        if verifier is None:
            return
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
        rows = conn.execute(select(C.c.size, C.c.root, C.c.note).where(C.c.county_code == county, C.c.size >= lo,
                                                                        C.c.size <= hi))
        return {int(size): (bytes(root), text) for size, root, text in rows}

    for size, (root, text) in checkpoints_in(0, 0).items():
        check_checkpoint(size, root, text)
    start = 0
    while start < total and not full():
        end = min(start + chunk, total)
        rows = conn.execute(
            select(E.c.idx, E.c.body, E.c.leaf_hash, E.c.type, E.c.subject, E.c.region)
            .where(E.c.county_code == county, E.c.idx >= start, E.c.idx < end)
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
                _state(latest_rows, ref, idx)
            if type_ in batch_types and isinstance(data.get("facts"), dict):
                batches.append((idx, str(type_), data["facts"]))
            for lv, i, h in frontier.append(lh):
                completed.append((lv, i, h))
            expected = idx + 1
            if frontier.size in witness_sizes:
                witness_roots[frontier.size] = frontier.root()
            cp = pending_cps.get(frontier.size)
            if cp is not None:
                check_checkpoint(frontier.size, *cp)
        for lv, first_leaf in _check_nodes(conn, county, completed):
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
        beyond = conn.execute(select(C.c.size).where(C.c.county_code == county, C.c.size > frontier.size)
                              .order_by(C.c.size).limit(1)).scalar()
        if beyond is not None:
            report.add(frontier.size, f"已签名的检查点 {beyond} 大于账本的 {frontier.size} 条，末尾条目被删除",
                       f"a signed checkpoint covers {beyond} entries but the log has {frontier.size}: "
                       "entries were dropped from the end")
        want_nodes = sum(frontier.size >> lv for lv in range(1, frontier.size.bit_length() + 1))
        have_nodes = conn.execute(select(func.count()).select_from(N).where(N.c.county_code == county)).scalar() or 0
        if have_nodes != want_nodes:
            report.add(frontier.size, f"树节点数 {have_nodes} 不应为 {want_nodes}",
                       f"the node table holds {have_nodes} nodes, a tree of this size has {want_nodes}")
        if stored_count != frontier.size:
            report.add(frontier.size, "条目数与序号不符", "entry count and numbering disagree")
        _check_witnesses(witnessed, witness_roots, schedule, log.origin, report)
    report.size = frontier.size
    report.root = frontier.root()
    return frontier.size


def _check_nodes(conn: Any, county: str, completed: list[tuple[int, int, bytes]]) -> list[tuple[int, int]]:
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
                select(N.c.idx, N.c.hash).where(N.c.county_code == county, N.c.level == lv, N.c.idx >= lo,
                                                N.c.idx <= hi)
            )
        }
        for i, h in items:
            if stored.get(i) != h:
                bad.append((lv, i << lv))
                break
    return bad


def _in_earlier_form(session: Session, table: str, id_: str, want: str) -> bool:
    """Whether the row, in the form its table's state had before it changed, is the one the entry recorded."""
    earlier = store.earlier_row_state(table)
    state = earlier(session, id_) if earlier is not None else None
    return state is not None and store.row_digest(state) == want


ROWS_AT_ONCE = 2000


def _check_rows(session: Session, latest: Stated, report: Report) -> None:
    """Every row an entry states, as the database holds it now, against the digest of its latest entry. Tables
    that can read many rows at once are read so, a few thousand rows at a time; problems are reported in the
    order of the entries that state the rows."""
    checks = store.row_checks()
    many = store.many_row_states()
    found: list[tuple[int, str, str]] = []

    def compare(table: str, id_: str, idx: int, want: str, state: Any) -> None:
        if state is None:
            found.append((idx, f"{table}#{id_} 已被删除，但账本条目 {idx} 记录了它",
                          f"{table} row {id_} was deleted after entry {idx} recorded it"))
        elif store.row_digest(state) != want and not _in_earlier_form(session, table, id_, want):
            found.append((idx, f"{table}#{id_} 在账本条目 {idx} 之后被改动，且未记账",
                          f"{table} row {id_} was edited after entry {idx} recorded it, without a new entry"))

    def check_part(table: str, part: list[tuple[str, bytes | tuple[int, str]]]) -> None:
        states = many.get(table)
        now = states(session, [id_ for id_, _ in part]) if states is not None else None
        for id_, value in part:
            idx, want = _stated(value)
            compare(table, id_, idx, want, now.get(id_) if now is not None else checks[table](session, id_))

    # The rows go out a few thousand of a table at a time as they are met, so no second copy of every stated row
    # is made (a province states millions).
    parts: dict[str, list[tuple[str, bytes | tuple[int, str]]]] = {}
    for (table, id_), value in latest.items():
        if table not in checks:
            report.rows_unchecked += 1
            continue
        report.rows_checked += 1
        part = parts.setdefault(table, [])
        part.append((id_, value))
        if len(part) >= ROWS_AT_ONCE:
            check_part(table, part)
            parts[table] = []
    for table, part in parts.items():
        if part:
            check_part(table, part)
    for idx, zh, en in sorted(found, key=lambda f: f[0]):
        report.add(idx, zh, en)


def _check_batches(session: Session, batches: list[tuple[int, str, dict[str, Any]]],
                   latest: Stated, report: Report) -> set[tuple[str, str]]:
    """Each batch's rows as the database holds them now against the digest its entry recorded. A batch with a
    row that a later entry recorded (a status change, a new member) has moved on legitimately: the later entries'
    own row facts check what they changed, and the batch's rows no later entry restated are checked against the
    batch's per-household digests. Returns every row the batches state."""
    checks = store.batch_checks()
    covered: set[tuple[str, str]] = set()
    # The rows stated after a batch, found by table and entry index: each batch's "later" rows are the tail of its
    # tables' lists past its index, not a walk over every row stated (a province states millions, and has
    # thousands of batches). Built once, when the first batch that moved on asks for it.
    index: dict[str, tuple[array[int], list[tuple[str, str]]]] = {}

    def later_than(idx: int, tables: frozenset[str] | None) -> set[tuple[str, str]]:
        if not index and latest:
            stated: dict[str, list[tuple[str, str]]] = {}
            for key in latest:
                stated.setdefault(key[0], []).append(key)
            for t, keys in stated.items():
                keys.sort(key=lambda k: _index_of(latest[k]))
                index[t] = (array("q", (_index_of(latest[k]) for k in keys)), keys)
        out: set[tuple[str, str]] = set()
        for t in index if tables is None else tables:
            found = index.get(t)
            if found is not None:
                out.update(found[1][bisect_right(found[0], idx):])
        return out

    for idx, type_, facts in batches:
        check = checks.get(type_)
        if check is None:
            report.add(idx, f"账本条目 {idx} 记录了一批行（{type_}），但本系统不知如何核对这类批次",
                       f"entry {idx} records a batch of rows ({type_}) that this system has no check for")
            continue
        if check.covers is not None:
            covered |= check.covers(session, facts)
        if check.digest_now(session, facts) == facts.get("digest"):
            report.rows_checked += check.size(facts)
            continue
        later = later_than(idx, check.tables)
        if later and check.touched(session, facts, later):
            part = check.untouched_ok(session, facts, later) if check.untouched_ok is not None else None
            if part is None:
                report.rows_unchecked += check.size(facts)
                continue
            checked, ok = part
            if ok:
                report.rows_checked += checked
                continue
            report.add(idx, f"账本条目 {idx} 记录的一批行（{type_}）中，之后无条目记载的行被改动或删除",
                       f"rows of the batch entry {idx} records ({type_}) that no later entry restated were edited "
                       "or deleted")
            continue
        report.add(idx, f"账本条目 {idx} 记录的一批行（{type_}）之后被改动或删除，且未记账",
                   f"rows of the batch entry {idx} records ({type_}) were edited or deleted after it, without a new "
                   "entry")
    return covered


def _check_coverage(session: Session, latest: Stated,
                    covered: set[tuple[str, str]], size: int, report: Report) -> None:
    """Every row of a covered table is stated by an entry or a batch: a row inserted behind the ledger is caught."""
    for table, ids in sorted(store.covered_tables().items()):
        for id_ in ids(session):
            key = (table, str(id_))
            if key not in latest and key not in covered:
                report.add(size, f"{table}#{id_} 没有任何账本条目记载（在账本之外插入）",
                           f"{table} row {id_} is stated by no ledger entry (inserted behind the ledger)")


def _check_witnesses(witnessed: list[store.Witness], roots: dict[int, bytes], schedule: KeySchedule, origin: str,
                     report: Report) -> None:
    """Each checkpoint seen outside must verify with the key of its time and be a root of this log: the log
    recomputed from its entries up to the witness's size has exactly the witnessed root (so the latest tree
    extends it: the recomputation is the consistency proof, done whole)."""
    for w in witnessed:
        report.witnesses += 1
        verifier = schedule.for_size(w.size)
        try:
            if verifier is None:
                raise note.NoteError("no trusted key")
            cp = note.open_checkpoint(w.note, verifier, origin=origin)
        except note.NoteError as exc:
            report.add(0, f"见证的检查点（{w.source}，大小 {w.size}）签名无效: {exc}",
                       f"the checkpoint witnessed at {w.source} (size {w.size}) does not verify: {exc}",
                       "checkpoint", max(w.size, 1))
            try:  # what it says still counts against the log
                cp = note.Checkpoint.parse(note.parse(w.note).text)
            except note.NoteError:
                continue
        got = roots.get(cp.size)
        if got is None:
            report.add(0, f"账本已不足 {cp.size} 条，与 {w.source} 见证的检查点矛盾",
                       f"the log no longer reaches size {cp.size}, contradicting the checkpoint witnessed at "
                       f"{w.source}", "checkpoint", max(cp.size, 1))
        elif got != cp.root or cp.root != w.root:
            report.add(0, f"账本在大小 {cp.size} 处的根与 {w.source} 见证的检查点不符，历史已被改写",
                       f"the log's root at size {cp.size} contradicts the checkpoint witnessed at {w.source}: its "
                       "history was rewritten", "checkpoint", max(cp.size, 1))


def report_json(report: Report) -> str:
    first = report.first_bad
    return json.dumps(
        {"ok": report.ok, "size": report.size, "root": report.root.hex(), "hash": report.hash_name,
         "checkpoints": report.checkpoints, "rows_checked": report.rows_checked, "witnesses": report.witnesses,
         "key_id": report.key_id,
         "first_bad_entry": None if first is None else first.index,
         "problems": [{"index": p.index, "kind": p.kind, "reason_zh": p.reason_zh, "reason_en": p.reason_en}
                      for p in sorted(report.problems, key=lambda p: p.index)]},
        ensure_ascii=False, indent=2)


def stated_rows(session: Session) -> tuple[Stated, set[tuple[str, str]]]:
    """Every row the entries state (their latest digest) and every row their batches state."""
    latest: Stated = {}
    batch_types = store.batch_checks()
    checks = store.batch_checks()
    covered: set[tuple[str, str]] = set()
    for idx, body, type_ in session.connection().execute(select(E.c.idx, E.c.body, E.c.type).order_by(E.c.county_code, E.c.idx)):
        try:
            data = store.body_json(bytes(body))
        except ValueError:
            continue
        for ref in _row_refs(data.get("facts")):
            _state(latest, ref, int(idx))
        check = checks.get(type_) if type_ in batch_types else None
        if check is not None and check.covers is not None and isinstance(data.get("facts"), dict):
            covered |= check.covers(session, data["facts"])
    return latest, covered


ADOPT_TYPE = "ledger.rows_adopted"


def adopt_unstated(session: Session, *, actor: str, at: Any, reason: str, per_entry: int = 500) -> list[int]:
    """State every row of a covered table that no entry states yet, as it is now, in `ledger.rows_adopted` entries
    (`per_entry` rows each): done once, deliberately, for rows that were there before their table was covered (an
    upgraded deployment's accounts, a migrated registry). Returns the new entries' indices."""
    latest, covered = stated_rows(session)
    checks = store.row_checks()
    facts: list[dict[str, str]] = []
    for table, ids in sorted(store.covered_tables().items()):
        state = checks[table]
        for id_ in ids(session):
            key = (table, str(id_))
            if key in latest or key in covered:
                continue
            now = state(session, str(id_))
            if now is not None:
                facts.append(store.row_fact(table, id_, now))
    items = [{"type": ADOPT_TYPE, "actor": actor, "region": "", "subject": "ledger:rows",
              "facts": {"reason": reason, "rows": facts[i:i + per_entry]}, "at": at}
             for i in range(0, len(facts), per_entry)]
    return store.append_many(session, items)
