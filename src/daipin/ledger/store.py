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

Counties
--------
A deployment holds one log per county (`ledger_log` keyed by `county_code`): each has its
own origin, signing key, hash, entries numbered from 0, nodes, checkpoints, witnesses and
writer lock. An entry goes to the log of its region's county (the first six digits of
`region`) when that county has a log, else to the deployment's home log (the county of
`DAIPIN_COUNTY` if it has a log, else the first log created): so a deployment with one
county behaves exactly as before, and a county's entries go to its own log from the moment
`ensure_log(county=C)` (`daipin ledger init --county C`) created it. `county=` on the
readers names a log; left out, they read the home log.

Transactions
------------
`append` takes its county's writer lock (SQLite: the `BEGIN IMMEDIATE` every transaction
of this project starts with, which is one lock for the whole file; PostgreSQL:
`pg_advisory_xact_lock(PG_LOCK_KEY, county)`, so two counties never wait on each other),
assigns the next index and writes the entry and the full-subtree nodes it completes, all
in the caller's transaction. When that transaction commits, a `before_commit` hook signs
a checkpoint for the new size of each county it appended to and stores it in the same
commit: a crash anywhere before the commit leaves every log at its previous checkpoint.
A transaction that appends to several counties takes their locks in county order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Dialect, Table, event, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from daipin.db.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerLog, LedgerNode, LedgerWitness
from daipin.domain import privacy
from daipin.domain.errors import Conflict, InputError, NotFound
from daipin.ledger import clock as ledger_clock
from daipin.ledger import keys as keystore
from daipin.ledger import merkle, note

PG_LOCK_KEY = 0x64616970  # "daip": with the county's code, one writer per county at a time, across processes
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


# --------------------------------------------------------------------------- the log rows


def _conn(session: Session) -> Connection:
    return session.connection()


def lock_county(dialect: Dialect, raw: Any, county: str) -> None:
    """Take `county`'s writer lock for the rest of the transaction on the DBAPI connection `raw`: the one place
    that knows each dialect's lock.

    PostgreSQL: a transaction-level advisory lock keyed by the county. The MySQL-compatible engines (MariaDB,
    MySQL, OceanBase, TiDB): `GET_LOCK` would be held by the connection past the transaction (and OceanBase and
    TiDB treat it differently), so the writer locks its county's log row with `SELECT … FOR UPDATE`, which every
    one of them releases at commit or rollback. Before the county's log exists there is no row to lock: the first
    writers then race on inserting it, and the loser's duplicate key rolls it back."""
    if dialect.name == "postgresql":
        cur = raw.cursor()
        try:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PG_LOCK_KEY, int(county)))
        finally:
            cur.close()
    elif dialect.name in ("mysql", "mariadb"):
        cur = raw.cursor()
        try:
            cur.execute("SELECT county_code FROM ledger_log WHERE county_code = %s FOR UPDATE", (county,))
            cur.fetchall()
        finally:
            cur.close()
    # SQLite: the transaction already began with BEGIN IMMEDIATE, which is the writer lock (for every county).


def _lock(session: Session, county: str) -> None:
    conn = _conn(session)
    lock_county(conn.dialect, _raw(conn), county)


def _check_county(county: str) -> str:
    if not (isinstance(county, str) and len(county) == 6 and county.isdigit()):
        raise InputError("县级区划代码应为6位数字", "county code must be 6 digits", field="county")
    return county


def _logs(session: Session, *, fresh: bool = False) -> dict[str, LogInfo]:
    """Every county's log, in the order they were created (cached for the session; logs are never removed)."""
    cached = session.info.get(_LOG)
    if cached is not None and not fresh:
        return cached  # type: ignore[no-any-return]
    rows = _conn(session).execute(select(L.c.origin, L.c.hash_name, L.c.verifier_key, L.c.county_code)
                                  .order_by(L.c.created_at, L.c.county_code))
    logs = {row[3]: LogInfo(*row) for row in rows}
    for info in logs.values():
        _hasher(info.hash_name)
    if logs:
        session.info[_LOG] = logs
    return logs


def counties(session: Session) -> list[str]:
    """The counties that have a log here, in the order their logs were created."""
    return list(_logs(session, fresh=True))


def home_county(session: Session) -> str:
    """The county whose log the readers use when not told one: `DAIPIN_COUNTY`'s if it has a log, else the first
    log created (else `DAIPIN_COUNTY`, for the log not yet created)."""
    logs = _logs(session)
    county = keystore.default_county()
    if county in logs or not logs:
        return county
    return next(iter(logs))


def _county_of(session: Session, county: str | None) -> str:
    return home_county(session) if county is None else _check_county(county)


def log_info(session: Session, county: str | None = None) -> LogInfo | None:
    county = _county_of(session, county)
    logs = _logs(session)
    info = logs.get(county)
    if info is None:
        info = _logs(session, fresh=True).get(county)  # created since (by another process?)
    return info


def require_log(session: Session, county: str | None = None) -> LogInfo:
    info = log_info(session, county)
    if info is None:
        if county is not None and _logs(session):
            raise NotFound(f"县 {county} 的账本尚未建立，请先运行 `daipin ledger init --county {county}`",
                           f"county {county} has no ledger yet; run `daipin ledger init --county {county}`",
                           field="county")
        raise Conflict("账本尚未建立，请先运行 `daipin init`", "the ledger does not exist yet; run `daipin init`",
                       code="ledger_not_initialised")
    return info


def route(session: Session, region: str) -> str:
    """The county whose log takes an entry of `region`: its own county's when that has a log, else the home log."""
    county = region[:6]
    if county and county in _logs(session):
        return county
    if county and len(county) == 6 and log_info(session, county) is not None:
        return county
    return home_county(session)


def ensure_log(
    session: Session,
    *,
    keys_dir: str | None = None,
    hash_name: str | None = None,
    origin: str | None = None,
    county: str | None = None,
    at: datetime | None = None,
) -> LogInfo:
    """Create `county`'s log (and its keys, if missing) unless it exists; idempotent.

    The hash is fixed here for the life of the log. `at` is the creation time for the
    record (now, when not given). A signed checkpoint of the empty tree is stored. The
    first log of a deployment signs with the keys directory's own key; each later county
    with a key of its own (`keys.county_dir`).
    """
    county = _check_county(county or home_county(session))
    _lock(session, county)
    logs = _logs(session, fresh=True)
    existing = logs.get(county)
    if existing is not None:
        if hash_name is not None and hash_name != existing.hash_name:
            raise Conflict(f"账本已使用 {existing.hash_name} 哈希，不能改为 {hash_name}",
                           f"the ledger already uses {existing.hash_name}; its hash cannot change to {hash_name}",
                           field="hash")
        kd = keystore.county_dir(county, keys_dir, first=next(iter(logs)) == county)
        signer = keystore.load_signer(kd) if keystore.have_signer(kd) else None
        if signer is not None and str(signer.verifier()) != existing.verifier_key:
            raise Conflict("密钥目录中的签名密钥与账本不符", "the signing key in the keys directory is not this ledger's key",
                           field=keystore.KEYS_DIR_ENV)
        return existing
    origin = origin or keystore.default_origin(county)
    hasher = _hasher(hash_name or merkle.DEFAULT_HASH)
    kd = keystore.county_dir(county, keys_dir, first=not logs)
    signer, _ = keystore.init_keys(kd, origin, salt=not logs)
    at = min(_utc_naive(at or datetime.now(UTC)), _utc_naive(ledger_clock.system_time()))  # never ahead of the clock
    conn = _conn(session)
    empty = note.Checkpoint(origin, 0, hasher.empty_root)
    try:
        with conn.begin_nested():
            conn.execute(insert(L), {"origin": origin, "hash_name": hasher.name,
                                     "verifier_key": str(signer.verifier()), "county_code": county, "created_at": at,
                                     "salt_id": keystore.salt_id(keystore.load_salt(keys_dir))})
            conn.execute(insert(C), {"county_code": county, "size": 0, "root": empty.root,
                                     "note": note.sign_checkpoint(empty, signer), "at": at})
    except IntegrityError:
        # Another writer created this county's log meanwhile: on the MySQL-compatible engines there is no row to
        # lock before the log exists (`lock_county`), so two first writers race on inserting it. The winner's log is
        # the log: taken under its row's lock now, and checked as any existing log is. (The keys are the same
        # files: `init_keys` writes each only if it is missing.)
        if _logs(session, fresh=True).get(county) is None:
            raise
        return ensure_log(session, keys_dir=keys_dir, hash_name=hash_name, origin=origin, county=county, at=at)
    info = LogInfo(origin, hasher.name, str(signer.verifier()), county)
    session.info[_LOG] = {**logs, county: info}
    return info


def _signer_for(session: Session, info: LogInfo) -> note.Signer:
    logs = _logs(session)
    first = not logs or next(iter(logs)) == info.county_code
    signer = keystore.load_signer(keystore.county_dir(info.county_code, first=first))  # cached per key file version
    if str(signer.verifier()) != info.verifier_key:
        raise Conflict("密钥目录中的签名密钥与账本不符，无法签发检查点",
                       "the signing key in the keys directory is not this ledger's key; refusing to sign a checkpoint",
                       field=keystore.KEYS_DIR_ENV)
    return signer


# --------------------------------------------------------------------------- nodes


def tree_size(session: Session, county: str | None = None) -> int:
    """Entries stored in `county`'s log (committed or in this transaction)."""
    county = _county_of(session, county)
    top = _conn(session).execute(select(func.max(E.c.idx)).where(E.c.county_code == county)).scalar()
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
        self.insert_nodes = f"INSERT INTO ledger_node (county_code, level, idx, hash) VALUES ({ph}, {ph}, {ph}, {ph})"
        self.insert_checkpoint = (f"INSERT INTO ledger_checkpoint (county_code, size, root, note, at)"
                                  f" VALUES ({ph}, {ph}, {ph}, {ph}, {ph})")
        # One county's stored size and latest signed checkpoint, in one round trip.
        self.state = (f"SELECT (SELECT max(idx) FROM ledger_entry WHERE county_code = {ph}), c.size, c.root"
                      " FROM (SELECT 1 AS one) o LEFT JOIN (SELECT size, root FROM ledger_checkpoint"
                      f" WHERE county_code = {ph} ORDER BY size DESC LIMIT 1) c ON 1 = 1")
        self.max_checkpoint = f"SELECT max(size) FROM ledger_checkpoint WHERE county_code = {ph}"
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
        self.pg_nodes = ("SELECT 0, idx, leaf_hash FROM ledger_entry WHERE county_code = %s AND idx = ANY(%s::bigint[])"
                         " UNION ALL SELECT n.level, n.idx, n.hash FROM ledger_node AS n"
                         " JOIN unnest(%s::int[], %s::bigint[]) AS w(level, idx)"
                         " ON n.county_code = %s AND n.level = w.level AND n.idx = w.idx")

    def nodes_query(self, county: str, leaves: list[int], inner: list[merkle.NodeRef]) -> tuple[str, list[Any]]:
        """One statement that returns (level, idx, hash) for the leaves and the inner nodes."""
        key = (len(leaves), len(inner))
        sql = self._node_sql.get(key)
        if sql is None:
            # One primary-key probe per node, glued with UNION ALL: both databases run these
            # faster than an OR of pairs (no de-duplication pass) or a join to an array; the
            # text depends only on the counts, so the driver keeps it compiled (SQLite's
            # statement cache, psycopg's prepared statements).
            ph = self.ph
            parts = [f"SELECT 0, idx, leaf_hash FROM ledger_entry WHERE county_code = {ph} AND idx = {ph}"] * len(leaves)
            parts += [f"SELECT level, idx, hash FROM ledger_node WHERE county_code = {ph} AND level = {ph} AND idx = {ph}"
                      ] * len(inner)
            sql = self._node_sql[key] = " UNION ALL ".join(parts)
        params: list[Any] = []
        for i in leaves:
            params += (county, i)
        for lv, i in inner:
            params += (county, lv, i)
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


def _fetch(raw: Any, q: _Sql, county: str, refs: Iterable[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
    wanted = set(refs)
    leaves = [i for lv, i in wanted if lv == 0]
    inner = [ref for ref in wanted if ref[0] > 0]
    out: dict[merkle.NodeRef, bytes] = {}
    cur = raw.cursor()
    try:
        if q.pg:
            cur.execute(q.pg_nodes, (county, leaves, [lv for lv, _ in inner], [i for _, i in inner], county),
                        prepare=True)
            rows = cur.fetchall()
        else:
            # A proof names at most a few dozen nodes: one statement. The chunks only keep a
            # pathological request under SQLite's limit of 500 terms in a compound SELECT.
            rows = []
            for start in range(0, len(leaves) + len(inner), _MAX_TERMS):
                stop = start + _MAX_TERMS
                sql, params = q.nodes_query(county, leaves[start:stop],
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


def fetch_nodes(conn: Connection, refs: Iterable[merkle.NodeRef], county: str | None = None
                ) -> dict[merkle.NodeRef, bytes]:
    """Hashes of `county`'s full nodes (the home log's by default) in one query: leaves from the entries, higher
    levels from the node table."""
    if county is None:
        have = [c for (c,) in conn.execute(select(L.c.county_code).order_by(L.c.created_at, L.c.county_code))]
        county = keystore.default_county() if keystore.default_county() in have or not have else have[0]
    return _fetch(_raw(conn), _sql(conn.dialect), county, refs)


_READER = "daipin.ledger.reader"


def _session_nodes(session: Session, county: str, refs: Iterable[merkle.NodeRef]) -> dict[merkle.NodeRef, bytes]:
    """`fetch_nodes` on the session's connection, remembered for the session's current transaction
    (asking the session for its connection costs more than a proof's query on SQLite)."""
    tx = session.get_transaction()
    cached = session.info.get(_READER)
    if tx is None or cached is None or cached[0] is not tx:
        conn = _conn(session)
        cached = session.info[_READER] = (session.get_transaction(), _raw(conn), _sql(conn.dialect))
    return _fetch(cached[1], cached[2], county, refs)


# The right edge after this process's last commit, per database: the next transaction
# checks it against the stored size and the latest signed root in one query instead of
# rereading nodes. Equal size and root mean the same tree (the root commits to every
# leaf), so a stale edge (another writer, a rollback) can never pass the check.
_edges: dict[tuple[str, str], tuple[int, bytes, list[bytes]]] = {}


def _db_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def _load_writer(session: Session, at: datetime | None, county: str | None = None) -> _Writer:
    # Always ask the session for its connection: that is what begins a pending savepoint
    # (`begin_nested`) before anything is written, so rolling it back takes our rows too.
    conn = _conn(session)
    states: dict[str, _Writer] | None = session.info.get(_STATE)
    if states is None:
        states = session.info[_STATE] = {}
    if county is None:
        county = home_county(session)
    st = states.get(county)
    if st is not None:
        return st
    q = _sql(conn.dialect)
    raw = _raw(conn)
    lock_county(conn.dialect, raw, county)
    info = log_info(session, county)
    if info is None:
        if not keystore.have_keys() or _logs(session):
            require_log(session, county if _logs(session) else None)  # raises the "run daipin init" error
        info = ensure_log(session, at=at, county=county)
    cur = raw.cursor()
    try:
        cur.execute(q.state, (county, county))
        top, cp_size, cp_root = cur.fetchone()
    finally:
        cur.close()
    hasher = info.hasher
    size = 0 if top is None else int(top) + 1
    key = _db_key(conn)
    cached = _edges.get((key, county))
    if cached is not None and cached[0] == size and cp_size == size and cp_root is not None \
            and bytes(cp_root) == cached[1] and len(cached[2]) == bin(size).count("1"):
        frontier = merkle.Frontier(hasher, size, cached[2])
    else:
        refs = merkle.frontier_refs(size)
        nodes = _fetch(raw, q, county, refs)
        frontier = merkle.Frontier(hasher, size, [nodes[r] for r in refs])
    st = _Writer(info, hasher, frontier, size, raw=raw, sql=q, db_key=key)
    states[county] = st
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


def _prepare(item: Mapping[str, Any]) -> tuple[dict[str, Any], datetime]:
    """Validate one entry; returns (envelope for the body, naive UTC time)."""
    type_ = _text_field(item.get("type"), "type", 64)
    actor = _text_field(item.get("actor"), "actor", 200)
    subject = _text_field(item.get("subject"), "subject", 200)
    region = _text_field(item.get("region", ""), "region", 12, allow_empty=True)
    if region and not (region.isdigit() and len(region) in (2, 6, 9, 12)):  # 2: a province-level row (an account)
        raise InputError("区划代码应为2、6、9或12位数字", "region must be a 2, 6, 9 or 12 digit code", field="region")
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
    return envelope, at


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
    county: str | None = None,
) -> int:
    """Append one entry in the caller's transaction; returns its index in its county's log."""
    return append_many(
        session, [{"type": type, "actor": actor, "region": region, "subject": subject, "facts": facts, "at": at}],
        county=county,
    )[0]


def append_many(session: Session, items: Iterable[Mapping[str, Any]], *, county: str | None = None) -> list[int]:
    """Append several entries (each a mapping with append's keywords) in one go; returns their indices, each in
    its county's log.

    Each entry goes to the log of its region's county (`route`), or to `county`'s log for every entry when given.
    Every item is validated before anything is written: one bad item writes nothing.
    """
    items = list(items)
    if not items:
        return []
    prepared = [_prepare(it) for it in items]
    first_at = prepared[0][1]
    if county is not None:
        _check_county(county)
        if not _logs(session):
            _load_writer(session, first_at)  # a deployment's first log, as before (needs the keys)
        groups = {county: list(range(len(prepared)))}
    else:
        if not _logs(session):
            _load_writer(session, first_at)  # creates the home log when the keys exist, else asks for `daipin init`
        groups = {}
        routes: dict[str, str] = {}
        for i, (envelope, _) in enumerate(prepared):
            region = envelope["region"]
            c = routes.get(region[:6])
            if c is None:
                c = routes[region[:6]] = route(session, region)
            groups.setdefault(c, []).append(i)
    if len(groups) == 1:
        c, _ = groups.popitem()
        return _append_county(session, c, prepared)
    out = [0] * len(prepared)
    for c in sorted(groups):  # locks in county order: two such transactions never wait on each other in a circle
        for i, idx in zip(groups[c], _append_county(session, c, [prepared[i] for i in groups[c]]), strict=True):
            out[i] = idx
    return out


def _append_county(session: Session, county: str, prepared: list[tuple[dict[str, Any], datetime]]) -> list[int]:
    st = _load_writer(session, prepared[0][1], county)
    frontier = st.frontier.copy()
    append_leaf = frontier.append
    new_hash = st.hasher.new
    q: _Sql = st.sql
    bind_at = q.bind_at
    rows: list[tuple[Any, ...]] = []
    nodes: list[tuple[str, int, int, bytes]] = []
    last_at = st.last_at
    first = frontier.size
    for idx, (envelope, at) in enumerate(prepared, first):
        envelope["index"] = idx
        body = _body(envelope)
        h = new_hash()
        h.update(b"\x00" + body)
        lh = h.digest()
        done = append_leaf(lh)
        if done:
            nodes.extend((county, lv, i, nh) for lv, i, nh in done)
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
    dirty = session.info.get(_DIRTY)
    if dirty is None:
        dirty = session.info[_DIRTY] = set()
    dirty.add(county)
    return list(range(first, first + len(rows)))


def issue_checkpoint(session: Session, at: datetime | None = None, county: str | None = None
                     ) -> CheckpointRecord | None:
    """Sign and store a checkpoint for `county`'s current size unless one exists; called on commit."""
    county = _county_of(session, county)
    st = _load_writer(session, at, county)
    size = st.frontier.size
    q: _Sql = st.sql
    cur = st.raw.cursor()
    try:
        if size == st.start_size:  # nothing appended through this state: maybe someone else checkpointed already
            cur.execute(q.max_checkpoint, (county,))
            latest = cur.fetchone()[0]
            if latest is not None and int(latest) >= size:
                return None
        when = at or st.last_at
        if when is None and size:
            # Read through SQLAlchemy: the column type turns the stored value back into a datetime.
            when = _conn(session).execute(select(E.c.at).where(E.c.county_code == county,
                                                               E.c.idx == size - 1)).scalar()
        when = _utc_naive(when) if when is not None else datetime(1970, 1, 1)
        if when > _utc_naive(ledger_clock.system_time()):
            # Dated by the clock: never after the real time (plus a training database's recorded offset).
            when = min(when, ledger_clock.latest_checkpoint_time(session))
        root = st.frontier.root()
        if st.signer is None:
            st.signer = _signer_for(session, st.log)
        signed = note.sign_checkpoint(note.Checkpoint(st.log.origin, size, root), st.signer)
        cur.execute(q.insert_checkpoint, (county, size, root, signed,
                                          q.bind_at(when) if q.bind_at is not None else when))
    finally:
        cur.close()
    st.start_size = size
    edges = session.info.get(_EDGE)
    if edges is None:
        edges = session.info[_EDGE] = {}
    edges[(st.db_key, county)] = (size, root, list(st.frontier.hashes))
    return CheckpointRecord(size, root, signed, when)


@event.listens_for(Session, "before_commit")
def _checkpoint_on_commit(session: Session) -> None:
    dirty = session.info.get(_DIRTY)
    if dirty:
        for county in sorted(dirty):
            issue_checkpoint(session, county=county)
        session.info.pop(_DIRTY, None)


@event.listens_for(Session, "after_commit")
def _remember_edge(session: Session) -> None:
    edges = session.info.pop(_EDGE, None)
    if edges:
        _edges.update(edges)


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


def latest_checkpoint(session: Session, county: str | None = None) -> CheckpointRecord | None:
    county = _county_of(session, county)
    row = _conn(session).execute(
        select(C.c.size, C.c.root, C.c.note, C.c.at).where(C.c.county_code == county)
        .order_by(C.c.size.desc()).limit(1)
    ).first()
    return None if row is None else CheckpointRecord(int(row[0]), bytes(row[1]), row[2], row[3])


def checkpoint_at(session: Session, size: int, county: str | None = None) -> CheckpointRecord | None:
    county = _county_of(session, county)
    row = _conn(session).execute(select(C.c.size, C.c.root, C.c.note, C.c.at)
                                 .where(C.c.county_code == county, C.c.size == size)).first()
    return None if row is None else CheckpointRecord(int(row[0]), bytes(row[1]), row[2], row[3])


def _default_size(session: Session, size: int | None, county: str) -> int:
    if size is not None:
        return size
    cp = latest_checkpoint(session, county)
    if cp is None:
        require_log(session, county)
        return 0
    return cp.size


def entry_body(session: Session, index: int, county: str | None = None) -> bytes:
    """Entry `index`'s body in `county`'s log, exactly the bytes that were hashed."""
    county = _county_of(session, county)
    body = _conn(session).execute(select(E.c.body).where(E.c.county_code == county, E.c.idx == index)).scalar()
    if body is None:
        raise NotFound(f"账本条目 {index} 不存在", f"ledger entry {index} does not exist", field="index")
    return bytes(body)


def root_at(session: Session, size: int, county: str | None = None) -> bytes:
    info = require_log(session, county)
    return merkle.root_at(info.hasher, size, lambda refs: _session_nodes(session, info.county_code, refs))


def inclusion_proof(session: Session, index: int, size: int | None = None, county: str | None = None
                    ) -> dict[str, Any]:
    """`{"index", "size", "leaf_hash", "path": [hex…], "root"}` (RFC 9162), at the latest checkpoint by default."""
    info = require_log(session, county)
    size = _default_size(session, size, info.county_code)
    if size <= 0:
        raise InputError("空账本没有包含证明", "an empty tree has no inclusion proofs", field="size")
    if not 0 <= index < size:
        raise InputError(f"条目序号 {index} 超出树大小 {size}", f"index {index} is outside a tree of size {size}",
                         field="index")
    hasher = info.hasher
    need = merkle.inclusion_nodes(index, size)
    nodes = _session_nodes(session, info.county_code, need.refs())
    path, root = need.path_and_root(hasher, nodes)
    return {"index": index, "size": size, "leaf_hash": nodes[(0, index)].hex(), "path": [p.hex() for p in path],
            "root": root.hex()}


def consistency_proof(session: Session, first: int, second: int | None = None, county: str | None = None
                      ) -> dict[str, Any]:
    """`{"from", "to", "path": [hex…], "root_from", "root_to"}` (RFC 9162), to the latest checkpoint by default."""
    info = require_log(session, county)
    second = _default_size(session, second, info.county_code)
    if not 0 < first <= second:
        raise InputError(f"一致性证明需要 0 < from ≤ to (from={first}, to={second})",
                         f"a consistency proof needs 0 < from <= to (from={first}, to={second})", field="from")
    hasher = info.hasher
    plan = merkle.consistency_plan(first, second)
    top1, top2 = merkle.frontier_refs(first), merkle.frontier_refs(second)
    nodes = _session_nodes(session, info.county_code, merkle.plan_nodes(plan) | set(top1) | set(top2))
    return {"from": first, "to": second, "path": [p.hex() for p in merkle.fold_plan(hasher, plan, nodes)],
            "root_from": merkle.fold(hasher, [nodes[r] for r in top1]).hex(),
            "root_to": merkle.fold(hasher, [nodes[r] for r in top2]).hex()}


def info(session: Session, county: str | None = None) -> dict[str, Any]:
    """Hash name, size and root of `county`'s latest checkpoint, and who signs it."""
    log = require_log(session, county)
    county = log.county_code
    cp = latest_checkpoint(session, county)
    v = log.verifier
    return {"county": county, "hash": log.hash_name, "origin": log.origin, "size": cp.size if cp else 0,
            "root": (cp.root if cp else log.hasher.empty_root).hex(), "entries": tree_size(session, county),
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
    # One salt for the deployment: every county's log pins it (a county created later takes the pinned one).
    pinned_ids = {p for (p,) in conn.execute(select(L.c.salt_id).distinct())}
    if None in pinned_ids:
        conn.execute(L.update().where(L.c.salt_id.is_(None)).values(salt_id=sid))
        pinned_ids = {p for (p,) in conn.execute(select(L.c.salt_id).distinct())}
    if pinned_ids - {sid}:
        raise Conflict("密钥目录中的个人信息摘要盐值不是本账本使用的盐值（文件被替换？），已拒绝写入；请恢复原盐值文件",
                       "the personal-data salt in the keys directory is not the one this ledger uses (was the file "
                       "replaced?); writes are refused until the original salt is restored",
                       field=keystore.KEYS_DIR_ENV, code="salt_replaced")
    if pinned_ids == {sid}:
        _pinned[key] = True
    return salt


def pii_digest(session: Session, value: str) -> str:
    """Salted digest of a piece of personal data for ledger bodies; the salt lives beside the signing key and is
    pinned to the ledger (`pinned_salt`)."""
    return privacy.salted_digest(pinned_salt(session), value)


# --------------------------------------------------------------------------- rows behind entries

RowState = Callable[[Session, str], Mapping[str, Any] | None]
RowStates = Callable[[Session, Sequence[str]], Mapping[str, Mapping[str, Any]]]
RowIds = Callable[[Session], Iterable[Any]]
_row_checks: dict[str, RowState] = {}
_row_states: dict[str, RowStates] = {}
_row_ids: dict[str, RowIds] = {}


def _jsonable(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value  # the common case first: a row digest is taken of every row a bulk load writes
    if t is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
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
    """SHA-256 hex of the canonical JSON of a row's state (dates ISO, decimals as strings).

    `_jsonable` leaves no float and no key that is not text, so the canonical form's check for them
    (`canonical.canonical_json`) is skipped here: the bytes are the same, and a bulk load digests every row."""
    return hashlib.sha256(json.dumps(_jsonable(state), ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                     allow_nan=False).encode("utf-8")).hexdigest()


def row_fact(table: str, id: Any, state: Mapping[str, Any]) -> dict[str, str]:
    """The `facts["row"]` value for an entry describing `table` row `id` in `state`."""
    return {"table": table, "id": str(id), "digest": row_digest(state)}


def register_row_check(table: str, state: RowState, ids: RowIds | None = None,
                       earlier: RowState | None = None, many: RowStates | None = None) -> None:
    """Let `verify` read the current state of `table` rows: `state(session, id)` returns the dict or None.

    With `ids(session)` (every row id the table holds now) the table is covered whole: a row no entry states
    (inserted behind the ledger) is caught as well as an edited one. `earlier(session, id)`, when a table's state
    changed form (a column now kept masked with its digest), gives the row in the form entries written before the
    change digested: such an entry still matches the row it recorded, and an edited row matches neither form."""
    _row_checks[table] = state
    if many is not None:  # `many(session, ids)`: the states of many rows at once (a row not there is left out)
        _row_states[table] = many
    else:
        _row_states.pop(table, None)
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


def many_row_states() -> Mapping[str, RowStates]:
    """The tables whose rows `verify` reads many at a time (see `register_row_check`)."""
    return dict(_row_states)


def pii_digester(session: Session) -> Callable[[str], str]:
    """`pii_digest` for many values: the salt read and its pin checked once."""
    salt: list[bytes] = []  # read at the first value (a table without personal data never needs the salt)

    def digest(value: str) -> str:
        if not salt:
            salt.append(pinned_salt(session))
        return privacy.salted_digest(salt[0], value)

    return digest


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
    # The tables whose rows can be the batch's (None: any): `touched` and `untouched_ok` are given the later row
    # facts of these tables only, not every row a province's later entries state.
    tables: frozenset[str] | None = None


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


def next_index(session: Session, county: str | None = None) -> int:
    """The index the next `append` to `county`'s log in this transaction will get (takes the writer lock, so it
    holds)."""
    return _load_writer(session, None, county).frontier.size


def rotate_key(session: Session, new: note.Signer, *, actor: str, at: datetime, county: str | None = None) -> int:
    """Hand `county`'s log to a new key: an entry carrying the new key, signed by the old one, and a checkpoint
    signed by the new key. The caller installs the new key files after the commit (`keys.install_rotated`)."""
    info = require_log(session, county)
    county = info.county_code
    old = _signer_for(session, info)
    new_key = str(new.verifier())
    if new_key == info.verifier_key:
        raise InputError("新密钥与当前密钥相同", "the new key is the current key", field="key")
    if new.verifier().name != info.verifier.name:
        raise InputError("新密钥应沿用账本名称", f"the new key must keep the name {info.verifier.name}", field="key")
    import base64

    signature = base64.b64encode(old.sign(rotation_message(info.origin, info.verifier_key, new_key))).decode()
    idx = append(session, type=ROTATION_TYPE, actor=actor, region=info.county_code, subject="ledger:key",
                 facts={"old_key": info.verifier_key, "new_key": new_key, "signature": signature}, at=at,
                 county=county)
    _conn(session).execute(update(L).where(L.c.county_code == county).values(verifier_key=new_key))
    rotated = LogInfo(info.origin, info.hash_name, new_key, info.county_code)
    session.info[_LOG] = {**_logs(session), county: rotated}
    st = _load_writer(session, at, county)
    st.log, st.signer = rotated, new
    issue_checkpoint(session, at, county)
    return idx


@dataclass(frozen=True)
class Witness:
    size: int
    root: bytes
    note: str
    source: str
    at: datetime


def record_witness(session: Session, signed_note: str, source: str, at: datetime, county: str | None = None
                   ) -> Witness:
    """Record a checkpoint seen outside the database (a notice, a dossier, an auditor's copy); `verify` proves the
    log consistent with it. The note must name `county`'s log; its signature is checked by `verify` with the key of
    its time."""
    info = require_log(session, county)
    county = info.county_code
    try:
        cp = note.Checkpoint.parse(note.parse(signed_note).text)
    except note.NoteError as exc:
        raise InputError(f"不是检查点: {exc}", f"not a checkpoint: {exc}", field="note") from exc
    if cp.origin != info.origin:
        raise InputError(f"检查点属于另一账本 {cp.origin}", f"the checkpoint is of another log ({cp.origin})", field="note")
    w = Witness(cp.size, cp.root, signed_note, source[:200], _utc_naive(at))
    seen = _conn(session).execute(select(W.c.id).where(W.c.county_code == county, W.c.size == w.size,
                                                       W.c.root == w.root, W.c.source == w.source).limit(1)).first()
    if seen is None:
        _conn(session).execute(insert(W), {"county_code": county, "size": w.size, "root": w.root, "note": w.note, "source": w.source,
                                           "at": w.at})
    return w


def witnesses(session: Session, county: str | None = None) -> list[Witness]:
    county = _county_of(session, county)
    rows = _conn(session).execute(select(W.c.size, W.c.root, W.c.note, W.c.source, W.c.at)
                                  .where(W.c.county_code == county).order_by(W.c.size, W.c.id))
    return [Witness(int(size), bytes(root), text, source, at) for size, root, text, source, at in rows]
