"""The ledger's secrets on disk, outside the database: the Ed25519 signing key and the salt for personal-data digests.

The directory is `DAIPIN_KEYS_DIR` (default `./var/keys`). It holds
`ledger.key` (signer key in golang.org/x/mod/sumdb/note form, mode 0600),
`ledger.pub` (the published verifier key: what `daipin ledger verify` trusts, never the
key the database names), `ledger.anchor` (the verifier key the log was created with, fixed
then and never rewritten; a later key is trusted only through rotation entries signed by
the key before it) and `pii.salt` (32 random bytes, hex, mode 0600). The salt is kept here and never in the database, so a published log
does not let anyone brute-force ID numbers from their digests.

One deployment may hold several counties' logs (ledger/store.py): the first log created signs with the files above;
each later county has its own `ledger.key`, `ledger.pub` and `ledger.anchor` under `counties/<county code>/`. The salt
is the deployment's one `pii.salt`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from daipin.config import settings
from daipin.domain.errors import Conflict
from daipin.ledger.note import NoteError, Signer, Verifier

KEYS_DIR_ENV = "DAIPIN_KEYS_DIR"
COUNTY_ENV = "DAIPIN_COUNTY"
DEFAULT_KEYS_DIR = "var/keys"
DEFAULT_COUNTY = "231002"
SIGNER_FILE = "ledger.key"
VERIFIER_FILE = "ledger.pub"
ANCHOR_FILE = "ledger.anchor"
SALT_FILE = "pii.salt"
COUNTIES_DIR = "counties"
PROVINCE_DIR = "province"  # the province server's own keys: its witness key and its cross-county digest key
WITNESS_FILE = "witness.key"
PROVINCE_DIGEST_FILE = "id-digest.key"

_signers: dict[tuple[str, int, int, int], Signer] = {}
_salts: dict[tuple[str, int, int, int], bytes] = {}


def _file_key(f: str | Path) -> tuple[str, int, int, int]:
    """Cache key of a key file: where it is and which version (one stat, no path resolution: this runs per commit)."""
    st = os.stat(f)
    return (os.path.abspath(f), st.st_dev, st.st_ino, st.st_mtime_ns)


def keys_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or settings().keys_dir or DEFAULT_KEYS_DIR)


def default_county() -> str:
    return settings().county or DEFAULT_COUNTY


def default_origin(county: str | None = None) -> str:
    return f"daipin.{county or default_county()}/ledger"


def county_dir(county: str, path: str | os.PathLike[str] | None = None, *, first: bool) -> Path:
    """Where `county`'s signing key lives: the keys directory itself for the deployment's first log (`first`),
    `counties/<county>/` under it for every other county."""
    d = keys_dir(path)
    sub = d / COUNTIES_DIR / county
    if not first or (sub / SIGNER_FILE).is_file():
        return sub
    return d


def province_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return keys_dir(path) / PROVINCE_DIR


def province_witness(path: str | os.PathLike[str] | None = None, name: str = "daipin.province/witness") -> Signer:
    """The province's witness key (cosigns the county checkpoints it has proved consistent), created if missing."""
    d = province_dir(path)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    f = d / WITNESS_FILE
    if not f.exists():
        _write_new(f, str(Signer.generate(name)) + "\n", 0o600)
    return load_signer_file(f)


def province_digest_key(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> bytes:
    """The province's key for digests of resident ID numbers across counties (32 random bytes, hex, mode 0600).
    It lives only in the province server's keys directory: no county database or county server holds it."""
    d = province_dir(path)
    f = d / PROVINCE_DIGEST_FILE
    if create and not f.exists():
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_new(f, secrets.token_hex(32) + "\n", 0o600)
    try:
        key = bytes.fromhex(f.read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        raise Conflict(f"省级比对密钥不存在于 {d}", f"the province digest key is missing from {d}",
                       field=KEYS_DIR_ENV, code="province_key_missing") from None
    except ValueError as exc:
        raise Conflict(f"省级比对密钥文件损坏: {f}", f"the province digest key file is damaged: {f}",
                       field=KEYS_DIR_ENV) from exc
    if len(key) < 32:
        raise Conflict(f"省级比对密钥太短: {f}", f"the province digest key is too short: {f}", field=KEYS_DIR_ENV)
    return key


def load_signer_file(f: Path) -> Signer:
    try:
        return Signer.parse(f.read_text(encoding="utf-8"))
    except NoteError as exc:
        raise Conflict(f"签名密钥文件损坏: {f}", f"signing key file is damaged: {f} ({exc})", field=KEYS_DIR_ENV) from exc


def have_signer(path: str | os.PathLike[str] | None = None) -> bool:
    return (keys_dir(path) / SIGNER_FILE).is_file()


def _write_new(path: Path, data: str, mode: int) -> bool:
    """Create `path` atomically with `data`; False if it already exists (another process won)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if present: never overwrite a key
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def init_keys(path: str | os.PathLike[str] | None = None, name: str | None = None, *, salt: bool = True
              ) -> tuple[Signer, bool]:
    """Create the signing key and (with `salt`) the salt if missing (idempotent). Returns the signer and whether it
    was created."""
    d = keys_dir(path)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = False
    if not (d / SIGNER_FILE).exists():
        signer = Signer.generate(name or default_origin())
        created = _write_new(d / SIGNER_FILE, str(signer) + "\n", 0o600)
    if salt and not (d / SALT_FILE).exists():
        _write_new(d / SALT_FILE, secrets.token_hex(32) + "\n", 0o600)
    signer = load_signer(d)
    if not (d / VERIFIER_FILE).exists():
        _write_new(d / VERIFIER_FILE, str(signer.verifier()) + "\n", 0o644)
    if not (d / ANCHOR_FILE).exists():
        _write_new(d / ANCHOR_FILE, (d / VERIFIER_FILE).read_text(encoding="utf-8").strip() + "\n", 0o644)
    return signer, created


def published_key(path: str | os.PathLike[str] | None = None) -> str | None:
    """The published verifier key (`ledger.pub`), or None when this machine has none."""
    f = keys_dir(path) / VERIFIER_FILE
    return f.read_text(encoding="utf-8").strip() if f.is_file() else None


def anchor_key(path: str | os.PathLike[str] | None = None) -> str | None:
    """The verifier key fixed when the log was created (`ledger.anchor`), or None when this machine has none."""
    f = keys_dir(path) / ANCHOR_FILE
    return f.read_text(encoding="utf-8").strip() if f.is_file() else None


def install_rotated(new: Signer, path: str | os.PathLike[str] | None = None) -> None:
    """Make `new` the signing and published key; the old signing key is kept as `ledger.key.<key id>.old`."""
    d = keys_dir(path)
    old = d / SIGNER_FILE
    if old.exists():
        try:
            keep = d / f"{SIGNER_FILE}.{load_signer(d).verifier().key_id}.old"
            if not keep.exists():
                os.link(old, keep)
        except (Conflict, OSError):
            pass
    for name, data, mode in ((SIGNER_FILE, str(new) + "\n", 0o600), (VERIFIER_FILE, str(new.verifier()) + "\n", 0o644)):
        tmp = d / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, d / name)


def have_keys(path: str | os.PathLike[str] | None = None) -> bool:
    d = keys_dir(path)
    return (d / SIGNER_FILE).is_file() and (d / SALT_FILE).is_file()


def _missing(d: Path, what: str) -> Conflict:
    return Conflict(
        f"账本{what}不存在于 {d}，请先运行 `daipin init`",
        f"the ledger {what} is missing from {d}; run `daipin init` first",
        field=KEYS_DIR_ENV,
        code="ledger_not_initialised",
    )


def load_signer(path: str | os.PathLike[str] | None = None) -> Signer:
    # Runs on every commit that appended entries: string paths and one stat on the cached path.
    d = os.fspath(path) if path else settings().keys_dir or DEFAULT_KEYS_DIR
    f = os.path.join(d, SIGNER_FILE)
    try:
        key = _file_key(f)
    except FileNotFoundError:
        raise _missing(Path(d), "签名密钥 signing key") from None
    signer = _signers.get(key)
    if signer is None:
        try:
            signer = Signer.parse(Path(f).read_text(encoding="utf-8"))
        except NoteError as exc:
            raise Conflict(f"签名密钥文件损坏: {f}", f"signing key file is damaged: {f} ({exc})", field=KEYS_DIR_ENV) from exc
        _signers[key] = signer
    return signer


def load_verifier(path: str | os.PathLike[str] | None = None) -> Verifier:
    return load_signer(path).verifier()


def salt_id(salt: bytes) -> str:
    """A check value naming a salt without revealing it (the salt's digest under a fixed tag)."""
    import hashlib

    return hashlib.sha256(b"daipin personal-data salt id\x00" + salt).hexdigest()[:32]


def load_salt(path: str | os.PathLike[str] | None = None) -> bytes:
    d = keys_dir(path)
    f = d / SALT_FILE
    try:
        key = _file_key(f)
    except FileNotFoundError:
        raise _missing(d, "盐值 salt") from None
    salt = _salts.get(key)
    if salt is None:
        try:
            salt = bytes.fromhex(f.read_text(encoding="utf-8").strip())
        except ValueError as exc:
            raise Conflict(f"盐值文件损坏: {f}", f"salt file is damaged: {f}", field=KEYS_DIR_ENV) from exc
        if len(salt) < 16:
            raise Conflict(f"盐值太短: {f}", f"salt is too short: {f}", field=KEYS_DIR_ENV)
        _salts[key] = salt
    return salt
