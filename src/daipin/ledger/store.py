"""The database-backed log: append entries in the caller's transaction, issue signed checkpoints on commit, serve proofs.

Entry bodies
------------
An entry body is canonical JSON (`daipin.domain.canonical`) with exactly these keys::

    {"index": 17, "type": "contract.signed", "at": "2024-05-01T08:00:00Z",
     "actor": "village_cadre:42", "region": "231002001001", "subject": "contract:12",
     "facts": {...}}

`index` is the entry's own position, so a dropped, inserted or reordered entry is
named exactly; `facts` is the caller's dict, kept under its own key so it can never
overwrite the envelope. Personal data goes into facts only as `pii_digest(...)`.

Rows behind entries
-------------------
An entry that records the state of a business row carries
`facts["row"] = {"table": ..., "id": ..., "digest": ...}` (or a list of such dicts
under `facts["rows"]`; the verifier takes such a dict, or a list of them, under any
top-level key), built with `row_fact(table, id, state)` where `state` is a
JSON-able dict of the row's columns. An area registers how to read the current state
of its rows with `register_row_check(table, fn)` (or `register_model(Model)`), and
`daipin ledger verify` then checks that every such row still has the digest of the
latest entry about it: an edited row is named by that entry's index. An entry that
records many rows at once by one digest (an import batch) registers a `BatchCheck`
for its type: verify recomputes the digest from the rows, and names the entry when
they changed without a later entry recording any of them.

Transactions
------------
`append` takes the writer lock (SQLite: the `BEGIN IMMEDIATE` every transaction of
this project starts with; PostgreSQL: `pg_advisory_xact_lock`), assigns the next
index and writes the entry and the full-subtree nodes it completes, all in the
caller's transaction. When that transaction commits, a `before_commit` hook signs a
checkpoint for the new size and stores it in the same commit: a crash anywhere before
the commit leaves the log at the previous checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Dialect, Table, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerLog, LedgerNode, LedgerWitness
from daipin.domain import privacy
from daipin.domain.canonical import digest
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.ledger import clock as ledger_clock
from daipin.ledger import keys as keystore
from daipin.ledger import merkle, note

PG_LOCK_KEY = 0x6461697069_6E  # "daipin": one writer at a time, across processes
_STATE = "daipin.ledger.writer"
_DIRTY = "daipin.ledger.dirty"
_LOG = "daipin.ledger.log"
_EDGE = "daipin.ledger.edge"

E: Table = LedgerEntry.__table__  # type: ignore[assignment]
N: Table = LedgerNode.__table__  # type: ignore[assignment]
C: Table = LedgerCheckpoint.__table__  # type: ignore[assignment]
L: Table = LedgerLog.__table__  # type: ignore[assignment]
W: Table = LedgerWitness.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class LogInfo:
    origin: str
    hash_name: str
    verifier_key: str
    county_code: str

    @property
    def hasher(self) -> merkle.Hasher:
        return _hasher(self.hash_name)

    @property
    def verifier(self) -> note.Verifier:
        return note.Verifier.parse(self.verifier_key)


@dataclass(frozen=True)
class CheckpointRecord:
    size: int
    root: bytes
    note: str
    at: datetime


@dataclass
class _Writer:
    log: LogInfo
    hasher: merkle.Hasher
    frontier: merkle.Frontier
    start_size: int
    last_at: datetime | None = None
    nodes_written: int = field(default=0)
    raw: Any = None  # the DBAPI connection of this transaction
    sql: Any = None  # its _Sql
    db_key: str = ""
    signer: note.Signer | None = None


_hashers: dict[str, merkle.Hasher] = {}


def _hasher(name: str) -> merkle.Hasher:
    h = _hashers.get(name)
    if h is None:
        h = _hashers[name] = merkle.Hasher(name)  # fails closed when unavailable
    return h


# --------------------------------------------------------------------------- the log row


def _conn(session: Session) -> Connection:
    return session.connection()


def _lock(session: Session) -> None:
    conn = _conn(session)
    q = _sql(conn.dialect)
    if q.lock:
        cur = _raw(conn).cursor()
        try:
            _take_lock(cur, q)
        finally:
            cur.close()
    # SQLite: the transaction already began with BEGIN IMMEDIATE, which is the writer lock.


def _take_lock(cur: Any, q: _Sql) -> None:
    """The single-writer lock, held until the transaction ends, through each dialect's own mechanism.

    PostgreSQL: a transaction-level advisory lock. The MySQL-compatible engines (MariaDB, MySQL, OceanBase,
    TiDB): `GET_LOCK` would be held by the connection past the transaction (and OceanBase and TiDB treat it
    differently), so the writer locks the log's own row with `SELECT … FOR UPDATE`, which every one of them
    releases at commit or rollback. Before the log exists there is no row to lock: the first writers then
    race on inserting it, and the loser's duplicate key rolls it back."""
    if q.pg:
        cur.execute(q.lock, (PG_LOCK_KEY,))
    elif q.lock:
        cur.execute(q.lock)
        cur.fetchall()


def log_info(session: Session) -> LogInfo | None:
    cached = session.info.get(_LOG)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    row = _conn(session).execute(select(L.c.origin, L.c.hash_name, L.c.verifier_key, L.c.county_code)).first()
    if row is None:
        return None
    info = LogInfo(*row)
    _hasher(info.hash_name)
    session.info[_LOG] = info
    return info


def require_log(session: Session) -> LogInfo:
    info = log_info(session)
    if info is None:
        raise Conflict("账本尚未建立，请先运行 `daipin init`", "the ledger does not exist yet; run `daipin init`",
                       code="ledger_not_initialised")
    return info


def ensure_log(
    session: Session,
    *,
    keys_dir: str | None = None,
    hash_name: str | None = None,
    origin: str | None = None,
    county: str | None = None,
    at: datetime | None = None,
) -> LogInfo:
    """Create the log (and the keys, if missing) unless it exists; idempotent.

    The hash is fixed here for the life of the log. `at` is the creation time for the
    record (now, when not given). A signed checkpoint of the empty tree is stored.
    """
    _lock(session)
    existing = log_info(session)
    if existing is not None:
        if hash_name is not None and hash_name != existing.hash_name:
            raise Conflict(f"账本已使用 {existing.hash_name} 哈希，不能改为 {hash_name}",
                           f"the ledger already uses {existing.hash_name}; its hash cannot change to {hash_name}",
                           field="hash")
        signer = keystore.load_signer(keys_dir) if keystore.have_keys(keys_dir) else None
        if signer is not None and str(signer.verifier()) != existing.verifier_key:
            raise Conflict("密钥目录中的签名密钥与账本不符", "the signing key in the keys directory is not this ledger's key",
                           field=keystore.KEYS_DIR_ENV)
        return existing
    county = county or keystore.default_county()
    if not (len(county) == 6 and county.isdigit()):
        raise InputError("县级区划代码应为6位数字", "county code must be 6 digits", field="county")
    origin = origin or keystore.default_origin(county)
    hasher = _hasher(hash_name or merkle.DEFAULT_HASH)
    signer, _ = keystore.init_keys(keys_dir, origin)
    at = min(_utc_naive(at or datetime.now(UTC)), _utc_naive(ledger_clock.system_time()))  # never ahead of the clock
    conn = _conn(session)
    conn.execute(insert(L), {"id": 1, "origin": origin, "hash_name": hasher.name,
                             "verifier_key": str(signer.verifier()), "county_code": county, "created_at": at,
                             "salt_id": keystore.salt_id(keystore.load_salt(keys_dir))})
    empty = note.Checkpoint(origin, 0, hasher.empty_root)
    conn.execute(insert(C), {"size": 0, "root": empty.root, "note": note.sign_checkpoint(empty, signer), "at": at})
    info = LogInfo(origin, hasher.name, str(signer.verifier()), county)
    session.info[_LOG] = info
    return info


def _signer_for(info: LogInfo) -> note.Signer:
    signer = keystore.load_signer()  # cached per key file version
    if str(signer.verifier()) != info.verifier_key:
        raise Conflict("密钥目录中的签名密钥与账本不符，无法签发检查点",
                       "the signing key in the keys directory is not this ledger's key; refusing to sign a checkpoint",
                       field=keystore.KEYS_DIR_ENV)
    return signer


# --------------------------------------------------------------------------- nodes


def tree_size(session: Session) -> int:
    """Entries stored (committed or in this transaction)."""
    top = _conn(session).execute(select(func.max(E.c.idx))).scalar()
    return 0 if top is None else int(top) + 1


class _Sql:
    """The ledger's hot statements for one driver, written for the DBAPI cursor directly.

    Appends and proofs are the ledger's hot paths: going to the driver (same connection,
    same transaction as the session) skips statement compilation and result processing,
    and `executemany` sends a batch in one call. Values are converted exactly as the
    ORM columns would convert them (`bind_at`), so reads through SQLAlchemy see the same data.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.pg = dialect.name == "postgresql"
        ph = "?" if dialect.paramstyle == "qmark" else "%s"
        self.ph = ph
        cols = ("idx", "body", "leaf_hash", "type", "subject", "region", "county_code", "at")
        self.insert_entries = f"INSERT INTO ledger_entry ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
        self.insert_nodes = f"INSERT INTO ledger_node (level, idx, hash) VALUES ({ph}, {ph}, {ph})"
        self.insert_checkpoint = f"INSERT INTO ledger_checkpoint (size, root, note, at) VALUES ({ph}, {ph}, {ph}, {ph})"
        self.mysql = dialect.name in ("mysql", "mariadb")
        self.lock = f"SELECT pg_advisory_xact_lock({ph})" if self.pg else (
            "SELECT id FROM ledger_log WHERE id = 1 FOR UPDATE" if self.mysql else "")
        # Stored size and the latest signed checkpoint, in one round trip.
        self.state = ("SELECT (SELECT max(idx) FROM ledger_entry), c.size, c.root FROM (SELECT 1 AS one) o"
                      " LEFT JOIN (SELECT size, root FROM ledger_checkpoint ORDER BY size DESC LIMIT 1) c ON 1 = 1")
        self.max_checkpoint = "SELECT max(size) FROM ledger_checkpoint"
        at_type = E.c.at.type.dialect_impl(dialect)
        self.bind_at: Callable[[Any], Any] | None = at_type.bind_processor(dialect)
        if self.bind_at is not None:
            # SQLite keeps DATETIME as text; when the column's own processor writes exactly
            # what isoformat does, use isoformat (C) instead of its per-field formatting.
            fast = _isoformat_micro
            samples = (datetime(2024, 1, 2, 3, 4, 5, 6), datetime(2024, 12, 31, 23, 59, 59), datetime(1999, 1, 1))
            if all(self.bind_at(d) == fast(d) for d in samples):
                self.bind_at = fast
        self._node_sql: dict[tuple[int, int], str] = {}
        # PostgreSQL: one statement text for every proof, the wanted nodes passed as arrays and joined
        # through unnest(). Its text and parameter types never change, so it is prepared once per connection;
        # the UNION ALL form below varies with the node counts and psycopg binds each small int as the
        # narrowest integer type, so its statements were rarely reused (measured at 1,000,000 entries:
        # ~1,000 proofs/s that way, ~5,000 this way).
        self.pg_nodes = ("SELECT 0, idx, leaf_hash FROM ledger_entry WHERE idx = ANY(%s::bigint[]) UNION ALL "
                         "SELECT n.level, n.idx, n.hash FROM ledger_node AS n "
                         "JOIN unnest(%s::int[], %s::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx")

    def nodes_query(self, leaves: list[int], inner: list[merkle.NodeRef]) -> tuple[str, list[int]]:
        """One statement that returns (level, idx, hash) for the leaves and the inner nodes."""
        key = (len(leaves), len(inner))
        sql = self._node_sql.get(key)
        if sql is None:
            # One primary-key probe per node, glued with UNION ALL: both databases run these
            # faster than an OR of pairs (no de-duplication pass) or a join to an array; the
            # text depends only on the counts, so the driver keeps it compiled (SQLite's
            # statement cache, psycopg's prepared statements).
            ph = self.ph
            parts = [f"SELECT 0, idx, leaf_hash FROM ledger_entry WHERE idx = {ph}"] * len(leaves)
            parts += [f"SELECT level, idx, hash FROM ledger_node WHERE level = {ph} AND idx = {ph}"] * len(inner)
            sql = self._node_sql[key] = " UNION ALL ".join(parts)
        params = leaves[:]
        for ref in inner:
            params += ref
        return sql, params


def _isoformat_micro(at: datetime) -> str:
    return at.isoformat(" ", "microseconds")


_sqls: dict[str, _Sql] = {}


def _sql(dialect: Dialect) -> _Sql:
    q = _sqls.get(dialect.name)
    if q is None:
        q = _sqls[dialect.name] = _Sql(dialect)
    return q


def _raw(conn: Connection) -> Any:
    """The DBAPI connection under `conn`: same connection, same transaction."""
    return conn.connection.driver_connection


_MAX_TERMS = 400


def _fetch(raw: Any, q: _Sql, refs: Iterable[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
    wanted = set(refs)
    leaves = [i for lv, i in wanted if lv == 0]
    inner = [ref for ref in wanted if ref[0] > 0]
    out: dict[merkle.NodeRef, bytes] = {}
    cur = raw.cursor()
    try:
        if q.pg:
            cur.execute(q.pg_nodes, (leaves, [lv for lv, _ in inner], [i for _, i in inner]), prepare=True)
            rows = cur.fetchall()
        else:
            # A proof names at most a few dozen nodes: one statement. The chunks only keep a
            # pathological request under SQLite's limit of 500 terms in a compound SELECT.
            rows = []
            for start in range(0, len(leaves) + len(inner), _MAX_TERMS):
                stop = start + _MAX_TERMS
                sql, params = q.nodes_query(leaves[start:stop],
                                            inner[max(0, start - len(leaves)):max(0, stop - len(leaves))])
                cur.execute(sql, params)
                rows += cur.fetchall()
        for lv, idx, h in rows:
            out[(lv, idx)] = bytes(h)
    finally:
        cur.close()
    if len(out) != len(wanted):
        missing = sorted(wanted - set(out))
        raise NotFound(f"账本缺少树节点 {missing[:3]}", f"the log has no tree node {missing[:3]} (size beyond the log?)",
                       field="size")
    return out


def fetch_nodes(conn: Connection, refs: Iterable[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
    """Hashes of full nodes in one query: leaves from the entries, higher levels from the node table."""
    return _fetch(_raw(conn), _sql(conn.dialect), refs)


_READER = "daipin.ledger.reader"


def _session_nodes(session: Session, refs: Iterable[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
    """`fetch_nodes` on the session's connection, remembered for the session's current transaction
    (asking the session for its connection costs more than a proof's query on SQLite)."""
    tx = session.get_transaction()
    cached = session.info.get(_READER)
    if tx is None or cached is None or cached[0] is not tx:
        conn = _conn(session)
        cached = session.info[_READER] = (session.get_transaction(), _raw(conn), _sql(conn.dialect))
    return _fetch(cached[1], cached[2], refs)


# The right edge after this process's last commit, per database: the next transaction
# checks it against the stored size and the latest signed root in one query instead of
# rereading nodes. Equal size and root mean the same tree (the root commits to every
# leaf), so a stale edge (another writer, a rollback) can never pass the check.
_edges: dict[str, tuple[int, bytes, list[bytes]]] = {}


def _db_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def _load_writer(session: Session, at: datetime | None) -> _Writer:
    # Always ask the session for its connection: that is what begins a pending savepoint
    # (`begin_nested`) before anything is written, so rolling it back takes our rows too.
    conn = _conn(session)
    st: _Writer | None = session.info.get(_STATE)
    if st is not None:
        return st
    q = _sql(conn.dialect)
    raw = _raw(conn)
    cur = raw.cursor()
    try:
        _take_lock(cur, q)
        # SQLite: the transaction already began with BEGIN IMMEDIATE, which is the writer lock.
        info = log_info(session)
        if info is None:
            if not keystore.have_keys():
                require_log(session)  # raises the "run daipin init" error
            info = ensure_log(session, at=at)
        cur.execute(q.state)
        top, cp_size, cp_root = cur.fetchone()
    finally:
        cur.close()
    hasher = info.hasher
    size = 0 if top is None else int(top) + 1
    key = _db_key(conn)
    cached = _edges.get(key)
    if cached is not None and cached[0] == size and cp_size == size and cp_root is not None \
            and bytes(cp_root) == cached[1] and len(cached[2]) == bin(size).count("1"):
        frontier = merkle.Frontier(hasher, size, cached[2])
    else:
        refs = merkle.frontier_refs(size)
        nodes = _fetch(raw, q, refs)
        frontier = merkle.Frontier(hasher, size, [nodes[r] for r in refs])
    st = _Writer(info, hasher, frontier, size, raw=raw, sql=q, db_key=key)
    session.info[_STATE] = st
    return st


# --------------------------------------------------------------------------- appending


def _utc_naive(at: datetime) -> datetime:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at


def _iso_z(at: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z` of a naive UTC time (what `strftime` gives, several times faster)."""
    if at.year < 1000:  # strftime does not pad such years; keep its exact bytes
        s = at.strftime("%Y-%m-%dT%H:%M:%S")
        if at.microsecond:
            s += f".{at.microsecond:06d}"
        return s + "Z"
    return at.isoformat() + "Z"


def _text_field(value: Any, name: str, max_len: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty) or len(value) > max_len:
        raise InputError(f"账本条目的 {name} 应为不超过{max_len}字的文本", f"ledger entry {name} must be text of at most "
                         f"{max_len} characters", field=name)
    return value


def _prepare(item: Mapping[str, Any], county: str) -> tuple[dict[str, Any], datetime, str]:
    """Validate one entry; returns (envelope for the body, naive UTC time, county code)."""
    type_ = _text_field(item.get("type"), "type", 64)
    actor = _text_field(item.get("actor"), "actor", 200)
    subject = _text_field(item.get("subject"), "subject", 200)
    region = _text_field(item.get("region", ""), "region", 12, allow_empty=True)
    if region and not (region.isdigit() and len(region) in (6, 9, 12)):
        raise InputError("区划代码应为6、9或12位数字", "region must be a 6, 9 or 12 digit code", field="region")
    facts = item.get("facts", {})
    if type(facts) is not dict and not isinstance(facts, Mapping):
        raise InputError("facts 应为字典", "facts must be a mapping", field="facts")
    at = item.get("at")
    if not isinstance(at, datetime):
        raise InputError("at 应为时间 (datetime)", "at must be a datetime", field="at")
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    facts = dict(facts)
    _refuse_floats(facts)
    envelope = {"type": type_, "at": _iso_z(at), "actor": actor, "region": region, "subject": subject,
                "facts": facts}
    return envelope, at, region[:6] if region else county


_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _refuse_floats(facts: Any) -> None:
    """The check `canonical_json` makes, iteratively: appends are the ledger's hot path."""
    stack = [facts]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            continue
        if t is dict:
            for k in v:
                if type(k) is not str:
                    raise InputError(f"facts 的键应为文本: {k!r}", f"facts keys must be text: {k!r}", field="facts")
            stack.extend(v.values())
        elif t is list or t is tuple:
            stack.extend(v)
        elif isinstance(v, float):
            raise InputError("facts 中不能有二进制浮点数，请写成十进制字符串",
                             "facts may not hold binary floats; write them as decimal strings", field="facts")
        elif isinstance(v, Mapping):
            stack.append(dict(v))
        elif not isinstance(v, (str, int)):
            raise InputError(f"facts 含有无法写入JSON的值 {type(v).__name__}",
                             f"facts hold a value JSON cannot carry: {type(v).__name__}", field="facts")


def _body(envelope: dict[str, Any]) -> bytes:
    """Canonical JSON, byte for byte what `daipin.domain.canonical.canonical_json` gives."""
    try:
        return _encode(envelope).encode("utf-8")
    except (ValueError, TypeError) as exc:
        raise InputError(f"facts 无法规范化为JSON: {exc}", f"facts are not canonical JSON: {exc}", field="facts") from exc


def append(
    session: Session,
    *,
    type: str,
    actor: str,
    region: str,
    subject: str,
    facts: Mapping[str, Any],
    at: datetime,
) -> int:
    """Append one entry in the caller's transaction; returns its index."""
    return append_many(
        session, [{"type": type, "actor": actor, "region": region, "subject": subject, "facts": facts, "at": at}]
    )[0]


def append_many(session: Session, items: Iterable[Mapping[str, Any]]) -> list[int]:
    """Append several entries (each a mapping with append's keywords) in one go; returns their indices.

    Every item is validated before anything is written: one bad item writes nothing.
    """
    items = list(items)
    if not items:
        return []
    first_at = items[0].get("at")
    st = _load_writer(session, first_at if isinstance(first_at, datetime) else None)
    prepared = [_prepare(it, st.log.county_code) for it in items]
    frontier = st.frontier.copy()
    append_leaf = frontier.append
    new_hash = st.hasher.new
    q: _Sql = st.sql
    bind_at = q.bind_at
    rows: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, int, bytes]] = []
    last_at = st.last_at
    first = frontier.size
    for idx, (envelope, at, county) in enumerate(prepared, first):
        envelope["index"] = idx
        body = _body(envelope)
        h = new_hash()
        h.update(b"\x00" + body)
        lh = h.digest()
        done = append_leaf(lh)
        if done:
            nodes.extend(done)
        rows.append((idx, body, lh, envelope["type"], envelope["subject"], envelope["region"], county,
                     bind_at(at) if bind_at is not None else at))
        if last_at is None or at > last_at:
            last_at = at
    cur = st.raw.cursor()
    try:
        if len(rows) == 1:
            cur.execute(q.insert_entries, rows[0])
        else:
            cur.executemany(q.insert_entries, rows)
        if len(nodes) == 1:
            cur.execute(q.insert_nodes, nodes[0])
        elif nodes:
            cur.executemany(q.insert_nodes, nodes)
    except BaseException:
        session.info.pop(_STATE, None)
        raise
    finally:
        cur.close()
    st.frontier = frontier
    st.last_at = last_at
    session.info[_DIRTY] = True
    return list(range(first, first + len(rows)))


def issue_checkpoint(session: Session, at: datetime | None = None) -> CheckpointRecord | None:
    """Sign and store a checkpoint for the current size unless one exists; called on commit."""
    st = _load_writer(session, at)
    size = st.frontier.size
    q: _Sql = st.sql
    cur = st.raw.cursor()
    try:
        if size == st.start_size:  # nothing appended through this state: maybe someone else checkpointed already
            cur.execute(q.max_checkpoint)
            latest = cur.fetchone()[0]
            if latest is not None and int(latest) >= size:
                return None
        when = at or st.last_at
        if when is None and size:
            # Read through SQLAlchemy: the column type turns the stored value back into a datetime.
            when = _conn(session).execute(select(E.c.at).where(E.c.idx == size - 1)).scalar()
        when = _utc_naive(when) if when is not None else datetime(1970, 1, 1)
        if when > _utc_naive(ledger_clock.system_time()):
            # Dated by the clock: never after the real time (plus a training database's recorded offset).
            when = min(when, ledger_clock.latest_checkpoint_time(session))
        root = st.frontier.root()
        if st.signer is None:
            st.signer = _signer_for(st.log)
        signed = note.sign_checkpoint(note.Checkpoint(st.log.origin, size, root), st.signer)
        cur.execute(q.insert_checkpoint, (size, root, signed, q.bind_at(when) if q.bind_at is not None else when))
    finally:
        cur.close()
    st.start_size = size
    session.info[_EDGE] = (st.db_key, size, root, list(st.frontier.hashes))
    return CheckpointRecord(size, root, signed, when)


@event.listens_for(Session, "before_commit")
def _checkpoint_on_commit(session: Session) -> None:
    if session.info.get(_DIRTY):
        issue_checkpoint(session)
        session.info.pop(_DIRTY, None)


@event.listens_for(Session, "after_commit")
def _remember_edge(session: Session) -> None:
    edge = session.info.pop(_EDGE, None)
    if edge is not None:
        _edges[edge[0]] = (edge[1], edge[2], edge[3])


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    # The cached frontier is only good inside the transaction that built it; a savepoint
    # that ends may have rolled entries back, so drop it and reread on the next append.
    session.info.pop(_STATE, None)
    session.info.pop(_READER, None)
    if transaction.parent is None:
        session.info.pop(_DIRTY, None)


@event.listens_for(Session, "after_rollback")
def _forget_log_on_rollback(session: Session) -> None:
    session.info.pop(_EDGE, None)
    session.info.pop(_LOG, None)  # the log row itself may have been created in the rolled-back transaction


# --------------------------------------------------------------------------- reading


def latest_checkpoint(session: Session) -> CheckpointRecord | None:
    row = _conn(session).execute(
        select(C.c.size, C.c.root, C.c.note, C.c.at).order_by(C.c.size.desc()).limit(1)
    ).first()
    return None if row is None else CheckpointRecord(int(row[0]), bytes(row[1]), row[2], row[3])


def checkpoint_at(session: Session, size: int) -> CheckpointRecord | None:
    row = _conn(session).execute(select(C.c.size, C.c.root, C.c.note, C.c.at).where(C.c.size == size)).first()
    return None if row is None else CheckpointRecord(int(row[0]), bytes(row[1]), row[2], row[3])


def _default_size(session: Session, size: int | None) -> int:
    if size is not None:
        return size
    cp = latest_checkpoint(session)
    if cp is None:
        require_log(session)
        return 0
    return cp.size


def entry_body(session: Session, index: int) -> bytes:
    """Entry `index`'s body, exactly the bytes that were hashed."""
    body = _conn(session).execute(select(E.c.body).where(E.c.idx == index)).scalar()
    if body is None:
        raise NotFound(f"账本条目 {index} 不存在", f"ledger entry {index} does not exist", field="index")
    return bytes(body)


def root_at(session: Session, size: int) -> bytes:
    info = require_log(session)
    return merkle.root_at(info.hasher, size, lambda refs: _session_nodes(session, refs))


def inclusion_proof(session: Session, index: int, size: int | None = None) -> dict[str, Any]:
    """`{"index", "size", "leaf_hash", "path": [hex…], "root"}` (RFC 9162), at the latest checkpoint by default."""
    info = require_log(session)
    size = _default_size(session, size)
    if size <= 0:
        raise InputError("空账本没有包含证明", "an empty tree has no inclusion proofs", field="size")
    if not 0 <= index < size:
        raise InputError(f"条目序号 {index} 超出树大小 {size}", f"index {index} is outside a tree of size {size}",
                         field="index")
    hasher = info.hasher
    need = merkle.inclusion_nodes(index, size)
    nodes = _session_nodes(session, need.refs())
    path, root = need.path_and_root(hasher, nodes)
    return {"index": index, "size": size, "leaf_hash": nodes[(0, index)].hex(), "path": [p.hex() for p in path],
            "root": root.hex()}


def consistency_proof(session: Session, first: int, second: int | None = None) -> dict[str, Any]:
    """`{"from", "to", "path": [hex…], "root_from", "root_to"}` (RFC 9162), to the latest checkpoint by default."""
    info = require_log(session)
    second = _default_size(session, second)
    if not 0 < first <= second:
        raise InputError(f"一致性证明需要 0 < from ≤ to (from={first}, to={second})",
                         f"a consistency proof needs 0 < from <= to (from={first}, to={second})", field="from")
    hasher = info.hasher
    plan = merkle.consistency_plan(first, second)
    top1, top2 = merkle.frontier_refs(first), merkle.frontier_refs(second)
    nodes = _session_nodes(session, merkle.plan_nodes(plan) | set(top1) | set(top2))
    return {"from": first, "to": second, "path": [p.hex() for p in merkle.fold_plan(hasher, plan, nodes)],
            "root_from": merkle.fold(hasher, [nodes[r] for r in top1]).hex(),
            "root_to": merkle.fold(hasher, [nodes[r] for r in top2]).hex()}


def info(session: Session) -> dict[str, Any]:
    """Hash name, size and root of the latest checkpoint, and who signs it."""
    log = require_log(session)
    cp = latest_checkpoint(session)
    v = log.verifier
    return {"hash": log.hash_name, "origin": log.origin, "size": cp.size if cp else 0,
            "root": (cp.root if cp else log.hasher.empty_root).hex(), "entries": tree_size(session),
            "key": log.verifier_key, "key_id": v.key_id}


# --------------------------------------------------------------------------- personal data


_pinned: dict[tuple[str, str], bool] = {}


def pinned_salt(session: Session) -> bytes:
    """The personal-data salt from DAIPIN_KEYS_DIR, once it is known to be the one this ledger's digests were made
    with (`ledger_log.salt_id`, pinned by the first write that needs it). Another salt — a replaced or mixed-up
    file — is refused: digests made with it would never match the earlier ones."""
    salt = keystore.load_salt()
    sid = keystore.salt_id(salt)
    conn = _conn(session)
    key = (_db_key(conn), sid)
    if key in _pinned:
        return salt
    pinned = conn.execute(select(L.c.salt_id).where(L.c.id == 1)).scalar()
    if pinned is None:
        conn.execute(L.update().where(L.c.id == 1, L.c.salt_id.is_(None)).values(salt_id=sid))
        pinned = conn.execute(select(L.c.salt_id).where(L.c.id == 1)).scalar()
    if pinned is not None and pinned != sid:
        raise Conflict("密钥目录中的个人信息摘要盐值不是本账本使用的盐值（文件被替换？），已拒绝写入；请恢复原盐值文件",
                       "the personal-data salt in the keys directory is not the one this ledger uses (was the file "
                       "replaced?); writes are refused until the original salt is restored",
                       field=keystore.KEYS_DIR_ENV, code="salt_replaced")
    if pinned == sid:
        _pinned[key] = True
    return salt


def pii_digest(session: Session, value: str) -> str:
    """Salted digest of a piece of personal data for ledger bodies; the salt lives beside the signing key and is
    pinned to the ledger (`pinned_salt`)."""
    return privacy.salted_digest(pinned_salt(session), value)


# --------------------------------------------------------------------------- rows behind entries

RowState = Callable[[Session, str], Mapping[str, Any] | None]
RowIds = Callable[[Session], Iterable[Any]]
_row_checks: dict[str, RowState] = {}
_row_ids: dict[str, RowIds] = {}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso_z(_utc_naive(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (str, int, bool)):  # enums
        return _jsonable(value.value)
    return value


def row_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of a row's state (dates ISO, decimals as strings)."""
    return digest(_jsonable(state), "sha256")


def row_fact(table: str, id: Any, state: Mapping[str, Any]) -> dict[str, str]:
    """The `facts["row"]` value for an entry describing `table` row `id` in `state`."""
    return {"table": table, "id": str(id), "digest": row_digest(state)}


def register_row_check(table: str, state: RowState, ids: RowIds | None = None,
                       earlier: RowState | None = None) -> None:
    """Let `verify` read the current state of `table` rows: `state(session, id)` returns the dict or None.

    With `ids(session)` (every row id the table holds now) the table is covered whole: a row no entry states
    (inserted behind the ledger) is caught as well as an edited one. `earlier(session, id)`, when a table's state
    changed form (a column now kept masked with its digest), gives the row in the form entries written before the
    change digested: such an entry still matches the row it recorded, and an edited row matches neither form."""
    _row_checks[table] = state
    if ids is not None:
        _row_ids[table] = ids
    if earlier is not None:
        _row_earlier[table] = earlier
    else:
        _row_earlier.pop(table, None)


_row_earlier: dict[str, RowState] = {}


def earlier_row_state(table: str) -> RowState | None:
    """The earlier form of `table`'s row state, if its form changed (see `register_row_check`)."""
    return _row_earlier.get(table)


def covered_tables() -> Mapping[str, RowIds]:
    """Every table checked whole: its row ids as the database holds them now."""
    if not _wired:
        raise NotWired("ledger row checks are not wired: call daipin.bootstrap.configure() first")
    return dict(_row_ids)


_wired = False


class NotWired(RuntimeError):
    """The process asked the ledger to check rows before its composition root told it how (`daipin.bootstrap`)."""


def mark_wired() -> None:
    """Called once by the composition root after every feature registered its checks."""
    global _wired
    _wired = True


def row_checks() -> Mapping[str, RowState]:
    """Every table's row check. Refuses before the process is wired: a verification that silently checked no
    rows would read as a clean ledger."""
    if not _wired:
        raise NotWired("ledger row checks are not wired: call daipin.bootstrap.configure() first")
    return dict(_row_checks)


@dataclass(frozen=True)
class BatchCheck:
    """How `verify` checks the rows an entry of one type records as a batch (a digest over many rows rather
    than one row fact each): `digest_now(session, facts)` is the batch's digest as the database holds it now,
    `touched(session, facts, refs)` whether any of the row facts `refs` ((table, id) recorded by later entries)
    is one of the batch's rows, and `size(facts)` how many rows it covers."""

    digest_now: Callable[[Session, Mapping[str, Any]], str]
    touched: Callable[[Session, Mapping[str, Any], set[tuple[str, str]]], bool]
    size: Callable[[Mapping[str, Any]], int]
    # The (table, id) of every row the batch states, as the database holds them now (so rows of a covered table
    # that neither an entry nor a batch states are caught), and, for a batch some of whose rows later entries
    # restated, which of its rows no later entry restated still hold what the batch recorded: `untouched_ok(session,
    # facts, later)` returns (rows checked, True if they match) or None when the batch cannot tell them apart.
    covers: Callable[[Session, Mapping[str, Any]], set[tuple[str, str]]] | None = None
    untouched_ok: Callable[[Session, Mapping[str, Any], set[tuple[str, str]]], tuple[int, bool] | None] | None = None


_batch_checks: dict[str, BatchCheck] = {}


def register_batch_check(entry_type: str, check: BatchCheck) -> None:
    """Let `verify` check the batches entries of `entry_type` record (`facts["digest"]` against `digest_now`)."""
    _batch_checks[entry_type] = check


def batch_checks() -> Mapping[str, BatchCheck]:
    if not _wired:
        raise NotWired("ledger batch checks are not wired: call daipin.bootstrap.configure() first")
    return dict(_batch_checks)


def model_state(obj: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Column values of an ORM object, by column key (what `register_model` digests)."""
    skip = set(exclude)
    mapper = inspect(type(obj))
    return {c.key: getattr(obj, c.key) for c in mapper.column_attrs if c.key not in skip}


def register_model(model: type, exclude: Iterable[str] = ()) -> None:
    """Register a row check for an ORM model with a single primary key, digesting every column but `exclude`."""
    skip = tuple(exclude)
    table = model.__tablename__  # type: ignore[attr-defined]
    pk: Any = inspect(model).primary_key[0]

    def state(session: Session, id: str) -> Mapping[str, Any] | None:
        key: Any = int(id) if pk.type.python_type is int else id
        obj = session.get(model, key)
        return None if obj is None else model_state(obj, skip)

    register_row_check(table, state)


def model_fact(obj: Any, exclude: Iterable[str] = ()) -> dict[str, str]:
    """`row_fact` for an ORM object, matching what `register_model` will check."""
    mapper = inspect(type(obj))
    pk = mapper.primary_key[0]
    return row_fact(type(obj).__tablename__, getattr(obj, pk.key), model_state(obj, exclude))


def body_json(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("entry body is not a JSON object")
    return data


# --------------------------------------------------------------------------- trust: keys and witnesses

ROTATION_TYPE = "ledger.key_rotated"


def rotation_message(origin: str, old_key: str, new_key: str) -> bytes:
    """What the old key signs to hand the log over to the new one."""
    return f"daipin ledger key rotation\n{origin}\n{old_key}\n{new_key}\n".encode()


def next_index(session: Session) -> int:
    """The index the next `append` in this transaction will get (takes the writer lock, so it holds)."""
    return _load_writer(session, None).frontier.size


def rotate_key(session: Session, new: note.Signer, *, actor: str, at: datetime) -> int:
    """Hand the log to a new key: an entry carrying the new key, signed by the old one, and a checkpoint signed by
    the new key. The caller installs the new key files after the commit (`keys.install_rotated`)."""
    info = require_log(session)
    old = _signer_for(info)
    new_key = str(new.verifier())
    if new_key == info.verifier_key:
        raise InputError("新密钥与当前密钥相同", "the new key is the current key", field="key")
    if new.verifier().name != info.verifier.name:
        raise InputError("新密钥应沿用账本名称", f"the new key must keep the name {info.verifier.name}", field="key")
    import base64

    signature = base64.b64encode(old.sign(rotation_message(info.origin, info.verifier_key, new_key))).decode()
    idx = append(session, type=ROTATION_TYPE, actor=actor, region=info.county_code, subject="ledger:key",
                 facts={"old_key": info.verifier_key, "new_key": new_key, "signature": signature}, at=at)
    _conn(session).execute(update(L).where(L.c.id == 1).values(verifier_key=new_key))
    rotated = LogInfo(info.origin, info.hash_name, new_key, info.county_code)
    session.info[_LOG] = rotated
    st = _load_writer(session, at)
    st.log, st.signer = rotated, new
    issue_checkpoint(session, at)
    return idx


@dataclass(frozen=True)
class Witness:
    size: int
    root: bytes
    note: str
    source: str
    at: datetime


def record_witness(session: Session, signed_note: str, source: str, at: datetime) -> Witness:
    """Record a checkpoint seen outside the database (a notice, a dossier, an auditor's copy); `verify` proves the
    log consistent with it. The note must name this log; its signature is checked by `verify` with the key of its
    time."""
    info = require_log(session)
    try:
        cp = note.Checkpoint.parse(note.parse(signed_note).text)
    except note.NoteError as exc:
        raise InputError(f"不是检查点: {exc}", f"not a checkpoint: {exc}", field="note") from exc
    if cp.origin != info.origin:
        raise InputError(f"检查点属于另一账本 {cp.origin}", f"the checkpoint is of another log ({cp.origin})", field="note")
    w = Witness(cp.size, cp.root, signed_note, source[:200], _utc_naive(at))
    seen = _conn(session).execute(select(W.c.id).where(W.c.size == w.size, W.c.root == w.root,
                                                       W.c.source == w.source).limit(1)).first()
    if seen is None:
        _conn(session).execute(insert(W), {"size": w.size, "root": w.root, "note": w.note, "source": w.source,
                                           "at": w.at})
    return w


def witnesses(session: Session) -> list[Witness]:
    rows = _conn(session).execute(select(W.c.size, W.c.root, W.c.note, W.c.source, W.c.at).order_by(W.c.size, W.c.id))
    return [Witness(int(size), bytes(root), text, source, at) for size, root, text, source, at in rows]
