"""The ledger's secrets on disk, outside the database: the Ed25519 signing key and the salt for personal-data digests.

The directory is `DAIPIN_KEYS_DIR` (default `./var/keys`). It holds
`ledger.key` (signer key in golang.org/x/mod/sumdb/note form, mode 0600),
`ledger.pub` (the published verifier key: what `daipin ledger verify` trusts, never the
key the database names), `ledger.anchor` (the verifier key the log was created with, fixed
then and never rewritten; a later key is trusted only through rotation entries signed by
the key before it) and `pii.salt` (32 random bytes, hex, mode 0600). The salt is kept here and never in the database, so a published log
does not let anyone brute-force ID numbers from their digests.
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


def init_keys(path: str | os.PathLike[str] | None = None, name: str | None = None) -> tuple[Signer, bool]:
    """Create the signing key and salt if missing (idempotent). Returns the signer and whether it was created."""
    d = keys_dir(path)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = False
    if not (d / SIGNER_FILE).exists():
        signer = Signer.generate(name or default_origin())
        created = _write_new(d / SIGNER_FILE, str(signer) + "\n", 0o600)
    if not (d / SALT_FILE).exists():
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
