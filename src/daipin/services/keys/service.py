"""Rotation of the personal-data key: a new data key seals every ID number, phone and bank account again, a batch
at a time, and the rotation can be stopped at any moment and run again.

- The new key is written to DAIPIN_KEYS_DIR (0600) and recorded in `pii_keys` as active in one transaction with the
  rotation's row (`pii_rotations`); from then on every write seals with it, and the old key (state `old`) still
  opens what it sealed.
- Each batch re-seals the rows after the last one done, in id order, and moves the rotation's marker forward in the
  same transaction; a value already under the new key is left as it is, so a rerun never seals twice.
- A last pass re-seals any value still under another key (a process that had not yet read the new pin), then the
  rotation ends: the old key is `retired`, and one ledger entry names both key ids (never key material) and the
  count. The old key file is left on disk for the backups made before the rotation; it seals nothing again.

This is a command-line job over the whole registry: it commits each batch itself (unlike the request services).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from daipin.config import settings
from daipin.db import sealing
from daipin.db.models.keys import PiiKey, PiiRotation
from daipin.domain.actors import SYSTEM_ACTOR
from daipin.services.shared import trace

# Every sealed column, by table, as sealing.SEALED names them: a column sealed later is rotated with the rest.
TABLES: dict[str, tuple[str, ...]] = {}
for _t, _c in sealing.SEALED:
    TABLES[_t] = (*TABLES.get(_t, ()), _c)


@dataclass(frozen=True)
class RotationResult:
    from_kid: str
    to_kid: str
    cipher: str
    resealed: int
    resumed: bool


def _table(name: str) -> sa.TableClause:
    cols: list[sa.ColumnClause[Any]] = [sa.column("id", sa.BigInteger), sa.column("county_code", sa.String)]
    return sa.table(name, *cols, *(sa.column(c, sa.String) for c in TABLES[name]))


def _start(conn: Connection, at: datetime, cipher: str | None) -> PiiRotation | None:
    """The running rotation, or a new one (its key made and pinned); None when there is none and none to start."""
    sealing.active(conn)  # the keys on disk are the pinned ones (and pinned on an empty database)
    running = conn.execute(sa.select(PiiRotation.__table__).where(PiiRotation.state == "running")).first()
    if running is not None:
        return PiiRotation(**running._mapping)
    old = conn.execute(sa.select(PiiKey.kid).where(PiiKey.purpose == "data", PiiKey.state == "active")).scalar_one()
    new = sealing.add_data_key(cipher)
    conn.execute(sa.update(PiiKey).where(PiiKey.kid == old).values(state="old"))
    conn.execute(sa.insert(PiiKey).values(kid=new.kid, purpose="data", cipher=new.cipher, check_value=new.check_value(),
                                      state="active"))
    row = {"from_kid": old, "to_kid": new.kid, "state": "running", "people_done": 0, "households_done": 0,
           "resealed": 0, "started_at": at}
    rid = conn.execute(sa.insert(PiiRotation).values(**row)).inserted_primary_key
    assert rid is not None
    return PiiRotation(id=rid[0], **row)


def _reseal(conn: Connection, name: str, rows: list[sa.Row[tuple[object, ...]]], to: sealing.DataKey) -> int:
    """Re-seal the values of `rows` not yet under `to`; how many were."""
    t = _table(name)
    ring = sealing.keyring()
    changes: list[dict[str, object]] = []
    count = 0
    for r in rows:
        m = r._mapping
        new: dict[str, object] = {}
        for c in TABLES[name]:
            v = m[c]
            if v is None or not isinstance(v, str) or not sealing.is_sealed(v) or sealing.kid_in(v) == to.kid:
                continue
            clear = sealing.open_value(name, c, v, county=str(m["county_code"]), ring=ring)
            new[c] = sealing.seal(to, name, c, str(m["county_code"]), clear)
        if new:
            count += len(new)
            changes.append({"_id": m["id"], **{f"_{c}": new.get(c, m[c]) for c in TABLES[name]}})
    if changes:
        conn.execute(t.update().where(t.c.id == sa.bindparam("_id"))
                     .values({c: sa.bindparam(f"_{c}") for c in TABLES[name]}), changes)
    return count


def rotate(engine: Engine, at: Callable[[], datetime], *, batch: int = 1000, cipher: str | None = None,
           progress: Callable[[str, int, int], None] | None = None) -> RotationResult:
    """Rotate the data key (or finish a rotation that was stopped); see the module's docstring."""
    with engine.begin() as conn:
        resumed = conn.execute(sa.select(PiiRotation.id).where(PiiRotation.state == "running")).first() is not None
        rot = _start(conn, at(), cipher)
    assert rot is not None
    sealing.forget_pins()
    to = sealing.keyring().seal_key(rot.to_kid)
    for name in TABLES:
        t = _table(name)
        marker = getattr(PiiRotation, f"{name}_done", None)
        if marker is None:  # a small table (the entities' accounts): re-sealed whole by the final pass below
            continue
        while True:
            with engine.begin() as conn:
                done = conn.execute(sa.select(marker).where(PiiRotation.id == rot.id)).scalar_one()
                rows = conn.execute(sa.select(t).where(t.c.id > done).order_by(t.c.id).limit(batch)).all()
                if not rows:
                    break
                n = _reseal(conn, name, list(rows), to)
                last = int(rows[-1]._mapping["id"])
                conn.execute(sa.update(PiiRotation).where(PiiRotation.id == rot.id)
                             .values({marker.key: last, "resealed": PiiRotation.resealed + n}))
            if progress is not None:
                progress(name, last, n)
    with Session(engine) as session, session.begin():
        conn = session.connection()
        # Values a process sealed under the old key after the pass went by, and the small tables the pass leaves here.
        for name in TABLES:
            t = _table(name)
            stale = sa.or_(*(sa.and_(t.c[c].is_not(None), t.c[c].not_like(f"{sealing.VERSION}:{to.kid}:%"))
                             for c in TABLES[name]))
            extra = _reseal(conn, name, list(conn.execute(sa.select(t).where(stale)).all()), to)
            if extra:
                conn.execute(sa.update(PiiRotation).where(PiiRotation.id == rot.id)
                             .values(resealed=PiiRotation.resealed + extra))
        total = conn.execute(sa.select(PiiRotation.resealed).where(PiiRotation.id == rot.id)).scalar_one()
        when = at()
        conn.execute(sa.update(PiiRotation).where(PiiRotation.id == rot.id)
                     .values(state="done", finished_at=when))
        conn.execute(sa.update(PiiKey).where(PiiKey.kid == rot.from_kid).values(state="retired"))
        trace.record(session, actor=SYSTEM_ACTOR, type="keys.rotate", subject=f"pii-key:{to.kid}",
                     region=settings().county,
                     facts={"from_kid": rot.from_kid, "to_kid": to.kid, "cipher": to.cipher, "resealed": int(total)},
                     at=when)
    sealing.forget_pins()
    return RotationResult(rot.from_kid, to.kid, to.cipher, int(total), resumed)


def status(engine: Engine) -> dict[str, object]:
    """The pinned keys (ids, ciphers and states, never keys) and the last rotation."""
    with engine.connect() as conn:
        keys = [dict(r._mapping) for r in conn.execute(sa.select(PiiKey.kid, PiiKey.purpose, PiiKey.cipher,
                                                                 PiiKey.state).order_by(PiiKey.purpose, PiiKey.kid))]
        last = conn.execute(sa.select(PiiRotation.__table__).order_by(PiiRotation.id.desc()).limit(1)).first()
    return {"keys": keys, "rotation": dict(last._mapping) if last is not None else None}
