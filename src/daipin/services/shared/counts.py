"""Lists' totals kept while the registry stands still.

A list page shows how many rows its filter matches, counted by a bounded walk of an index (`COUNT_CAP` rows):
10-35 ms of the database's CPU on a 300,000-household county, where the page's own rows take 1-3 ms, and asked
again for every page a cadre turns. Every change to what a list counts commits with its ledger entry in the
same transaction (LEDGER.md: no row without its entry), so a county's ledger head, its size and last leaf hash,
names the state a count was taken in: a count kept under the heads it was taken at is the count while they
stay, and any write since moves a head and misses it.

Only read-only requests keep counts (their sessions carry `info["read_only"]`, see `server.create_app`): a
session that writes may count rows it has not committed and later rolls back. A kept count is also dropped
after `MAX_AGE` seconds, so that a change made outside the services (a restore, a repair by hand) shows within
a minute.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from daipin.db.models.ledger import LedgerEntry, LedgerLog

MAX_AGE = 60.0
MAX_KEPT = 4096

_kept: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
_lock = threading.Lock()
_E = LedgerEntry.__table__
_L = LedgerLog.__table__


@cache
def _heads_statement(one_county: bool) -> Any:
    def last(column: Any) -> Any:  # the county's last entry, by its primary key (a look-up on every engine)
        return (select(column).where(_E.c.county_code == _L.c.county_code).order_by(_E.c.idx.desc()).limit(1)
                .scalar_subquery())

    stmt = select(_L.c.county_code, last(_E.c.idx), last(_E.c.leaf_hash)).order_by(_L.c.county_code)
    return stmt.where(_L.c.county_code == bindparam("county")) if one_county else stmt


def heads(session: Session, county: str | None) -> tuple[Any, ...]:
    """(county, size, last leaf hash) of `county`'s ledger, or of every county's when None: one statement."""
    rows = session.execute(_heads_statement(county is not None), {"county": county} if county else {})
    return tuple((str(c), None if i is None else int(i), bytes(h) if h is not None else None) for c, i, h in rows)


def county_of(prefix: str) -> str | None:
    """The county a reach's region prefix lies in, or None for a reach wider than a county (a province's)."""
    return prefix[:6] if len(prefix) >= 6 else None


def statement_key(stmt: Any) -> Hashable:
    """A statement's identity as a count's key: its shape (SQLAlchemy's cache key) and its bound values."""
    ck = stmt._generate_cache_key()
    return (ck.key, repr([b.effective_value for b in ck.bindparams]))


def count(session: Session, key: Hashable, county: str | None, compute: Callable[[], int]) -> int:
    """`compute()` (a list's bounded count), or the value it gave for the same `key` (the statement's shape and
    its bound values) while the ledger heads of `county` (None: every county) have not moved."""
    if not session.info.get("read_only"):
        return compute()
    bind: Any = session.get_bind()
    full = (str(bind.url), id(bind), key, county, heads(session, county))
    now = time.monotonic()
    with _lock:
        got = _kept.get(full)
        if got is not None and now - got[0] < MAX_AGE:
            _kept.move_to_end(full)
            return got[1]
    value = compute()
    with _lock:
        _kept[full] = (now, value)
        _kept.move_to_end(full)
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return value


def forget() -> None:
    """Drop every kept count (tests; a restore in the same process)."""
    with _lock:
        _kept.clear()
