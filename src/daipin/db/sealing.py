"""Personal data sealed at rest: resident ID numbers, phones and bank accounts encrypted per field, with a keyed
blind index for exact search.

- **Cipher.** AES-256-GCM, or SM4-GCM for 密评 (`DAIPIN_CIPHER=sm4-gcm`; both authenticated, from
  `cryptography`). The cipher belongs to a data key and is named in its key file, so a database may hold
  values sealed under both while a rotation runs.
- **Format.** `v1:<kid>:<county>:<nonce>:<ciphertext>` (nonce and ciphertext with its tag in base64): the version,
  the key id (a digest of the key, never the key), and the county of the row it was sealed for. The associated
  data is `daipin|<table>|<column>|<county>`: a value moved to another column, table or county does not open.
- **Keys.** The data key and the index key come from files in `DAIPIN_KEYS_DIR` (`pii-data-<kid>.key`,
  `pii-index.key`, made 0600 on first use of an empty database) or from `DAIPIN_DATA_KEY` / `DAIPIN_INDEX_KEY`.
  Every data key found opens what it sealed; the one the database names active (`pii_keys`) seals.
- **Pins.** `pii_keys` keeps each key's check value (an HMAC of a constant under the key): a data or index key
  replaced on disk or in the environment stops every write with a clear error, as the personal-data salt does.
- **Blind index.** HMAC-SHA256 of the value under the index key, 16 bytes in hex, in its own indexed column
  (`people.id_number_bidx`, unique; `households.phone_bidx`): equality and uniqueness without the clear value.

The ORM seals on flush (`install`: the row's own county; the object keeps the clear value) and opens on load (the
column type `Sealed`); a clear value bound to a sealed column anywhere else is refused. Bulk writers (the import's
COPY, generators) call `seal_many` — the one function that seals a column's values and gives their blind index.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, attributes
from sqlalchemy.types import TypeDecorator

from daipin.config import settings
from daipin.domain.errors import Conflict

VERSION = "v1"
CIPHERS = ("aes-256-gcm", "sm4-gcm")
INDEX_FILE = "pii-index.key"
DATA_PREFIX = "pii-data-"
KEYS_ENV = "DAIPIN_KEYS_DIR"
_CHECK = b"daipin personal-data key check value"

# The sealed columns and the column holding each one's blind index (None: no exact search by it).
SEALED: dict[tuple[str, str], str | None] = {
    ("people", "id_number"): "id_number_bidx",
    ("households", "phone"): "phone_bidx",
    ("households", "bank_account"): None,
    ("entities", "bank_account"): None,
}
SEALED_LENGTH = 160  # the longest sealed value (a 30-digit account) is 103 characters


class SealingError(Conflict):
    """A key missing, replaced or unusable, or a value that does not open."""


@dataclass(frozen=True)
class DataKey:
    kid: str
    cipher: str
    key: bytes

    def check_value(self) -> str:
        return hmac.digest(self.key, _CHECK + self.cipher.encode(), "sha256").hex()[:32]


def kid_of(cipher: str, key: bytes) -> str:
    return hashlib.sha256(b"daipin data key id\x00" + cipher.encode() + b"\x00" + key).hexdigest()[:12]


def index_check_value(key: bytes) -> str:
    return hmac.digest(key, _CHECK + b" index", "sha256").hex()[:32]


def _parse_key(text: str, where: str) -> tuple[str, bytes]:
    """`<cipher>:<hex>` → (cipher, key)."""
    cipher, _, hexkey = text.strip().partition(":")
    try:
        key = bytes.fromhex(hexkey)
    except ValueError:
        key = b""
    size = 32 if cipher == "aes-256-gcm" else 16
    if cipher not in CIPHERS or len(key) != size:
        raise SealingError(f"个人信息数据密钥格式不对：{where}（应为 aes-256-gcm:<64 位十六进制> 或 sm4-gcm:<32 位十六进制>）",
                           f"the personal-data key is malformed: {where} (aes-256-gcm:<64 hex> or sm4-gcm:<32 hex>)",
                           field=KEYS_ENV, code="pii_key_malformed")
    return cipher, key


def new_key_text(cipher: str) -> str:
    return f"{cipher}:{secrets.token_hex(32 if cipher == 'aes-256-gcm' else 16)}"


@dataclass
class Keyring:
    data: dict[str, DataKey]
    index: bytes | None
    folder: Path

    def seal_key(self, kid: str, *, opening: bool = False) -> DataKey:
        found = self.data.get(kid)
        if found is None:
            zh, en = (("无法读取用它加密的个人信息", "what it sealed cannot be read") if opening
                      else ("已拒绝写入", "writes are refused"))
            raise SealingError(f"找不到个人信息数据密钥 {kid}（{self.folder} 或 DAIPIN_DATA_KEY）；{zh}",
                               f"the personal-data key {kid} is missing (from {self.folder} or DAIPIN_DATA_KEY); "
                               f"{en}", field=KEYS_ENV, code="pii_key_missing")
        return found


_ring_cache: dict[tuple[Any, ...], Keyring] = {}
_lock = threading.Lock()


def keys_folder() -> Path:
    return Path(settings().keys_dir or "var/keys")


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # never overwrites a key
    finally:
        tmp.unlink(missing_ok=True)


def keyring() -> Keyring:
    """Every data key found (files and `DAIPIN_DATA_KEY`) and the index key, read again when a file changes."""
    folder = keys_folder()
    s = settings()
    files = sorted(folder.glob(f"{DATA_PREFIX}*.key")) if folder.is_dir() else []
    index_file = folder / INDEX_FILE
    stamp: list[Any] = [str(folder), s.data_key.get_secret_value() if s.data_key else "",
                        s.index_key.get_secret_value() if s.index_key else ""]
    for f in [*files, index_file]:
        try:
            st = f.stat()
            stamp.append((f.name, st.st_ino, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            stamp.append((f.name, None))
    key = tuple(stamp)
    found = _ring_cache.get(key)
    if found is not None:
        return found
    data: dict[str, DataKey] = {}
    for f in files:
        cipher, raw = _parse_key(f.read_text(encoding="utf-8"), str(f))
        k = DataKey(kid_of(cipher, raw), cipher, raw)
        data[k.kid] = k
    if s.data_key:
        cipher, raw = _parse_key(s.data_key.get_secret_value(), "DAIPIN_DATA_KEY")
        k = DataKey(kid_of(cipher, raw), cipher, raw)
        data[k.kid] = k
    index: bytes | None = None
    if s.index_key:
        index = _index_key(s.index_key.get_secret_value(), "DAIPIN_INDEX_KEY")
    elif index_file.exists():
        index = _index_key(index_file.read_text(encoding="utf-8"), str(index_file))
    ring = Keyring(data, index, folder)
    _ring_cache.clear()
    _ring_cache[key] = ring
    return ring


def _index_key(text: str, where: str) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) < 32:
        raise SealingError(f"个人信息索引密钥格式不对：{where}（应为 64 位十六进制）",
                           f"the personal-data index key is malformed: {where} (64 hex digits)",
                           field=KEYS_ENV, code="pii_key_malformed")
    return raw


def add_data_key(cipher: str | None = None) -> DataKey:
    """A new data key written to the keys folder (0600); the caller makes it active."""
    text = new_key_text(cipher or settings().cipher)
    c, raw = _parse_key(text, "new")
    k = DataKey(kid_of(c, raw), c, raw)
    _write_new(keys_folder() / f"{DATA_PREFIX}{k.kid}.key", text)
    return k


# --------------------------------------------------------------------------- pins

_pinned: dict[tuple[Any, ...], tuple[str, float]] = {}
PIN_TTL = 30.0  # seconds a process trusts its reading of the pins (a rotation elsewhere changes the active key)


def _db_key(conn: Connection) -> str:
    return f"{conn.engine.url.render_as_string(hide_password=True)}#{id(conn.engine)}"


def active(conn: Connection) -> tuple[DataKey, bytes]:
    """The data key that seals and the index key, once both are known to be the ones the database is pinned to
    (`pii_keys`). An empty database pins the keys found, creating key files first when there are none."""
    from daipin.db.models.keys import PiiKey

    now = time.monotonic()
    # The database and the key folder: a process that is pointed at another folder (a test, a restore) reads it.
    db = f"{_db_key(conn)}|{keys_folder()}"
    fast = _recent.get(db)
    if fast is not None and now - fast[2] < RECHECK:
        return fast[0], fast[1]
    ring = keyring()
    cache_key = (db, tuple(sorted(ring.data)), ring.index)
    found = _pinned.get(cache_key)
    if found is None or now - found[1] > PIN_TTL:
        cols = select(PiiKey.kid, PiiKey.purpose, PiiKey.check_value, PiiKey.state)
        rows = conn.execute(cols).all()
        if not rows:
            with _lock:
                ring = _pin_first(conn, ring)
            rows = conn.execute(cols).all()
            cache_key = (_db_key(conn), tuple(sorted(ring.data)), ring.index)
        _check(ring, rows)
        kid = next(r.kid for r in rows if r.purpose == "data" and r.state == "active")
        found = _pinned[cache_key] = (kid, now)
    assert ring.index is not None
    _recent[db] = (ring.seal_key(found[0]), ring.index, now)
    return ring.seal_key(found[0]), ring.index


# The keys a database's writes used in the last `RECHECK` seconds: a flush of many rows reads the key folder once.
_recent: dict[str, tuple[DataKey, bytes, float]] = {}
RECHECK = 2.0


def forget_pins() -> None:
    """Read the pins again on the next write (after a rotation changed the active key)."""
    _pinned.clear()
    _recent.clear()


def _pin_first(conn: Connection, ring: Keyring) -> Keyring:
    from daipin.db.models.keys import PiiKey

    folder = ring.folder
    if not ring.data:
        add_data_key()
    if ring.index is None and not settings().index_key:
        _write_new(folder / INDEX_FILE, secrets.token_hex(32))
    ring = keyring()
    if len(ring.data) != 1:
        raise SealingError("密钥目录中有多个个人信息数据密钥，无法确定使用哪一个", "more than one personal-data key is "
                           "present and none is pinned yet", field=KEYS_ENV, code="pii_key_ambiguous")
    assert ring.index is not None
    (k,) = ring.data.values()
    conn.execute(insert(PiiKey), [
        {"kid": k.kid, "purpose": "data", "cipher": k.cipher, "check_value": k.check_value(), "state": "active"},
        {"kid": "index", "purpose": "index", "cipher": "hmac-sha256", "check_value": index_check_value(ring.index),
         "state": "active"}])
    return ring


def _check(ring: Keyring, rows: Sequence[Any]) -> None:
    for r in rows:
        if r.purpose == "index":
            if ring.index is None:
                raise SealingError("找不到个人信息索引密钥（pii-index.key 或 DAIPIN_INDEX_KEY）；已拒绝写入",
                                   "the personal-data index key is missing; writes are refused", field=KEYS_ENV,
                                   code="pii_key_missing")
            if index_check_value(ring.index) != r.check_value:
                raise SealingError("个人信息索引密钥不是本数据库使用的密钥（文件或变量被替换？），已拒绝写入；请恢复原密钥",
                                   "the personal-data index key is not the one this database uses (was it "
                                   "replaced?); writes are refused until the original key is restored",
                                   field=KEYS_ENV, code="pii_key_replaced")
        elif r.state in ("active", "old"):
            k = ring.data.get(r.kid)
            if k is None:
                raise SealingError(f"找不到个人信息数据密钥 {r.kid}（文件被删除或替换？），已拒绝写入；请恢复原密钥",
                                   f"the personal-data key {r.kid} is missing (was it removed or replaced?); writes "
                                   "are refused until it is restored", field=KEYS_ENV, code="pii_key_replaced")
            if k.check_value() != r.check_value:
                raise SealingError(f"个人信息数据密钥 {r.kid} 与数据库记录的校验值不符，已拒绝写入",
                                   f"the personal-data key {r.kid} does not match its check value; writes are "
                                   "refused", field=KEYS_ENV, code="pii_key_replaced")


# --------------------------------------------------------------------------- sealing


def _aad(table: str, column: str, county: str) -> bytes:
    return f"daipin|{table}|{column}|{county}".encode()


_aead_cache: dict[str, Any] = {}


def _encrypt(k: DataKey, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    if k.cipher == "aes-256-gcm":
        aead = _aead_cache.get(k.kid)
        if aead is None:
            aead = _aead_cache[k.kid] = AESGCM(k.key)
        out: bytes = aead.encrypt(nonce, data, aad)
        return out
    enc = Cipher(algorithms.SM4(k.key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(data) + enc.finalize()
    return body + enc.tag


def _decrypt(k: DataKey, nonce: bytes, body: bytes, aad: bytes) -> bytes:
    if k.cipher == "aes-256-gcm":
        aead = _aead_cache.get(k.kid)
        if aead is None:
            aead = _aead_cache[k.kid] = AESGCM(k.key)
        out: bytes = aead.decrypt(nonce, body, aad)
        return out
    dec = Cipher(algorithms.SM4(k.key), modes.GCM(nonce, body[-16:])).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(body[:-16]) + dec.finalize()


def seal(k: DataKey, table: str, column: str, county: str, value: str) -> str:
    nonce = os.urandom(12)
    body = _encrypt(k, nonce, value.encode(), _aad(table, column, county))
    return (f"{VERSION}:{k.kid}:{county}:{base64.b64encode(nonce).decode()}:"
            f"{base64.b64encode(body).decode()}")


def is_sealed(value: str) -> bool:
    return value.startswith(VERSION + ":") and value.count(":") == 4


def kid_in(value: str) -> str:
    return value.split(":", 2)[1]


def open_value(table: str, column: str, value: str, county: str | None = None, ring: Keyring | None = None) -> str:
    """The clear value of a sealed one; `county`, when given, must be the county it was sealed for."""
    try:
        version, kid, sealed_for, nonce, body = value.split(":")
        if version != VERSION:
            raise ValueError(version)
        raw_nonce, raw_body = base64.b64decode(nonce), base64.b64decode(body)
    except ValueError:
        raise SealingError(f"{table}.{column} 中的值不是加密格式", f"a value in {table}.{column} is not sealed",
                           field=column, code="pii_not_sealed") from None
    if county is not None and county != sealed_for:
        raise SealingError(f"{table}.{column} 中的密文不属于本行", f"a sealed value in {table}.{column} belongs to "
                           "another row's county", field=column, code="pii_moved")
    k = _opening.get(kid)
    if k is None:  # a key id names one key: once found, it opens without reading the folder again
        k = (ring or keyring()).seal_key(kid, opening=True)
        _opening[kid] = k
    try:
        return _decrypt(k, raw_nonce, raw_body, _aad(table, column, sealed_for)).decode()
    except InvalidTag:
        raise SealingError(f"{table}.{column} 中的密文无法验证（被移动或篡改）", f"a sealed value in {table}.{column} "
                           "does not verify (moved or altered)", field=column, code="pii_moved") from None


_opening: dict[str, DataKey] = {}


def blind_index(index_key: bytes, value: str) -> str:
    return hmac.digest(index_key, value.encode(), "sha256")[:16].hex()


def index_of(conn: Connection, value: str) -> str:
    """The blind index of a value under the database's pinned index key: what exact search compares."""
    return blind_index(active(conn)[1], value)


def indexes_of(conn: Connection, values: Sequence[str]) -> list[str]:
    key = active(conn)[1]
    return [hmac.digest(key, v.encode(), "sha256")[:16].hex() for v in values]


def seal_many(keys: Connection | tuple[DataKey, bytes], table: str, column: str, values: Sequence[str | None],
              counties: Sequence[str] | str) -> tuple[list[str | None], list[str | None] | None]:
    """THE bulk function: each value sealed for its row's county (one county for all, or one per value), and
    its blind index (None for a column without one); None stays None. Bulk writers (the import's COPY, data
    generators) put both into the row: `SEALED[(table, column)]` names the blind-index column.

    `keys`: the connection (the pinned keys are read through it), or what `active(conn)` returned before — a
    writer whose connection is busy with a COPY must pass the latter."""
    k, index_key = keys if isinstance(keys, tuple) else active(keys)
    aad_of: dict[str, bytes] = {}
    urandom, b64 = os.urandom, base64.b64encode
    head = f"{VERSION}:{k.kid}:"
    if k.cipher == "aes-256-gcm":
        aead = _aead_cache.get(k.kid) or _aead_cache.setdefault(k.kid, AESGCM(k.key))
        enc = aead.encrypt
    else:
        def enc(nonce: bytes, data: bytes, aad: bytes) -> bytes:
            return _encrypt(k, nonce, data, aad)
    one = counties if isinstance(counties, str) else None
    out: list[str | None] = []
    append = out.append
    # 12-byte nonces: 4 random bytes drawn per value would cost a system call each; a random 8-byte prefix per
    # call and a counter give distinct nonces (the prefix is fresh for every call).
    prefix = urandom(8)
    for i, v in enumerate(values):
        if v is None:
            append(None)
            continue
        c = one if one is not None else counties[i]
        aad = aad_of.get(c)
        if aad is None:
            aad = aad_of[c] = _aad(table, column, c)
        nonce = prefix + i.to_bytes(4, "big")
        append(f"{head}{c}:{b64(nonce).decode()}:{b64(enc(nonce, v.encode(), aad)).decode()}")
    if len(values) >= 1 << 32:
        raise ValueError("too many values for one call")
    if SEALED.get((table, column)) is None:
        return out, None
    digest = hmac.digest
    return out, [None if v is None else digest(index_key, v.encode(), "sha256")[:16].hex() for v in values]


def open_many(table: str, column: str, values: Sequence[str | None]) -> list[str | None]:
    ring = keyring()
    return [None if v is None else open_value(table, column, v, ring=ring) for v in values]


def open_loaded(table: str, column: str, values: Sequence[str | None]) -> list[str | None]:
    """What loading `values` of a sealed column gives (`Sealed.process_result_value`: a sealed value opened, a clear
    one as it is, None as None), for many rows at once: a bank file's 100,000 accounts. Each value's key and
    associated data are looked up once per key and county; a value that does not open raises as `open_value` does."""
    b64d = base64.b64decode
    prefix = VERSION + ":"
    openers: dict[tuple[str, str], Any] = {}  # (kid, county) -> a function of (nonce, body) giving the clear bytes
    out: list[str | None] = []
    append = out.append
    for v in values:
        if v is None or not v.startswith(prefix) or v.count(":") != 4:
            append(v)
            continue
        _version, kid, county, nonce, body = v.split(":")
        fn = openers.get((kid, county))
        if fn is None:
            k = _opening.get(kid)
            if k is None or k.cipher != "aes-256-gcm":
                append(open_value(table, column, v))  # the general path: finds the key, SM4, its errors
                continue
            aead = _aead_cache.get(kid) or _aead_cache.setdefault(kid, AESGCM(k.key))
            aad = _aad(table, column, county)

            def fn(nonce: bytes, body: bytes, dec: Any = aead.decrypt, aad: bytes = aad) -> bytes:
                return dec(nonce, body, aad)  # type: ignore[no-any-return]

            openers[(kid, county)] = fn
        try:
            append(fn(b64d(nonce), b64d(body)).decode())
        except (ValueError, InvalidTag):
            append(open_value(table, column, v))  # raises the named error
    return out


# --------------------------------------------------------------------------- the column type and the ORM


class Sealed(TypeDecorator[str]):
    """A sealed column: opened on load; a value bound must be sealed already (the ORM seals on flush)."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def __init__(self, table: str, column: str) -> None:
        super().__init__()
        self.table = table
        self.column = column

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None or (isinstance(value, str) and is_sealed(value)):
            return value
        raise SealingError(f"{self.table}.{self.column} 只能写入加密后的值", f"{self.table}.{self.column} takes sealed "
                           "values only (search by its blind index; bulk writers call sealing.seal_many)",
                           field=self.column, code="pii_clear_bind")

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None or not is_sealed(value):
            return value
        return open_value(self.table, self.column, value)


_CLEAR = "_daipin_clear"


def _seal_target(mapper: Mapper[Any], connection: Connection, target: Any, insert: bool) -> None:
    table = mapper.local_table.name  # type: ignore[attr-defined]
    state = inspect(target)
    county_changed = not insert and state.attrs.county_code.history.has_changes()
    clear: dict[str, Any] = {}
    for (t, column), bidx in SEALED.items():
        if t != table:
            continue
        value = getattr(target, column)
        if not insert and not county_changed and not state.attrs[column].history.has_changes():
            continue
        if value is not None and is_sealed(value):
            continue
        clear[column] = value
        if value is None:
            if bidx:
                setattr(target, bidx, None)
            continue
        k, index_key = active(connection)
        setattr(target, column, seal(k, table, column, target.county_code, value))
        if bidx:
            setattr(target, bidx, blind_index(index_key, value))
    if clear:
        target.__dict__[_CLEAR] = clear


def _restore_clear(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    clear = target.__dict__.pop(_CLEAR, None)
    for column, value in (clear or {}).items():
        attributes.set_committed_value(target, column, value)


def install(*models: Any) -> None:
    """Seal the models' sealed columns on flush, keeping the clear value on the object (idempotent)."""
    for model in models:
        if getattr(model, "_daipin_sealing", False):
            continue
        model._daipin_sealing = True
        event.listen(model, "before_insert", lambda m, c, t: _seal_target(m, c, t, True))
        event.listen(model, "before_update", lambda m, c, t: _seal_target(m, c, t, False))
        event.listen(model, "after_insert", _restore_clear)
        event.listen(model, "after_update", _restore_clear)
