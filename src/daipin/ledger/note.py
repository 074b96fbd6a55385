"""Signed notes and checkpoints exactly as golang.org/x/mod/sumdb/note and C2SP tlog-checkpoint write them (Ed25519).

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(4-byte key hash ‖ signature)>`. The key hash is the first four
bytes (big-endian) of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key); the signature is Ed25519
over the text bytes. Keys are written as in that package:
verifier `<name>+<8 hex key hash>+<base64(0x01 ‖ public key)>`,
signer `PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 ‖ private seed)>`.
A checkpoint's text is `<origin>\\n<size>\\n<base64 root>\\n`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, PublicFormat
from cryptography.hazmat.primitives.serialization import NoEncryption as _NoEncryption

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash and a space, as the Go package writes it
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, key or checkpoint is malformed, or its signature does not verify."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and name.isprintable()


def key_hash(name: str, key: bytes) -> int:
    """The 32-bit key hash of `name` and `key` (algorithm byte included)."""
    h = hashlib.sha256(name.encode("utf-8") + b"\n" + key).digest()
    value: int = struct.unpack(">I", h[:4])[0]
    return value


@dataclass(frozen=True)
class Verifier:
    name: str
    hash: int
    public_key: bytes  # 32 raw bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3:
            raise NoteError("verifier key must read <name>+<hash>+<key>")
        name, hash_hex, key_b64 = parts
        if not _valid_name(name) or len(hash_hex) != 8:
            raise NoteError("verifier key has a bad name or key hash")
        try:
            h = int(hash_hex, 16)
            key = base64.b64decode(key_b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("verifier key is not hex/base64") from exc
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        if key_hash(name, key) != h:
            raise NoteError("verifier key hash does not match its name and key")
        return cls(name, h, key[1:])

    def __str__(self) -> str:
        key = bytes([ALG_ED25519]) + self.public_key
        return f"{self.name}+{self.hash:08x}+{base64.b64encode(key).decode()}"

    @property
    def key_id(self) -> str:
        """Short key id printed on notices: the 8 hex digits of the key hash."""
        return f"{self.hash:08x}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    hash: int
    seed: bytes  # 32-byte Ed25519 private seed

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not _valid_name(name):
            raise NoteError(f"key name {name!r} must be non-empty, without '+' or spaces")
        seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, _NoEncryption())
        return cls.from_seed(name, seed)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(name, key_hash(name, bytes([ALG_ED25519]) + pub), seed)

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("signer key must read PRIVATE+KEY+<name>+<hash>+<key>")
        name, hash_hex, key_b64 = parts[2:]
        if not _valid_name(name) or len(hash_hex) != 8:
            raise NoteError("signer key has a bad name or key hash")
        try:
            h = int(hash_hex, 16)
            key = base64.b64decode(key_b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("signer key is not hex/base64") from exc
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls.from_seed(name, key[1:])
        if signer.hash != h:
            raise NoteError("signer key hash does not match its public key")
        return signer

    def __str__(self) -> str:
        key = bytes([ALG_ED25519]) + self.seed
        return f"PRIVATE+KEY+{self.name}+{self.hash:08x}+{base64.b64encode(key).decode()}"

    @cached_property
    def _private_key(self) -> Ed25519PrivateKey:
        # Built once per signer: a checkpoint is signed on every commit.
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @cached_property
    def _verifier(self) -> Verifier:
        pub = self._private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.hash, pub)

    def verifier(self) -> Verifier:
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)


@dataclass(frozen=True)
class Signature:
    name: str
    hash: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]


def sign(text: str, *signers: Signer) -> str:
    """The signed note: text, blank line, one signature line per signer."""
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must not contain a blank line")
    msg = text.encode("utf-8")
    lines = []
    for s in signers:
        blob = struct.pack(">I", s.hash) + s.sign(msg)
        lines.append(f"{SIG_PREFIX}{s.name} {base64.b64encode(blob).decode()}\n")
    return text + "\n" + "".join(lines)


def parse(note: str) -> Note:
    """Split a signed note into its text and signatures; no signature is checked here."""
    if "\r" in note:
        raise NoteError("note contains a carriage return")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block.endswith("\n"):
        raise NoteError("signature block must end in a newline")
    sigs: list[Signature] = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed signature line")
        fields = line[len(SIG_PREFIX) :].split(" ")
        if len(fields) != 2 or not _valid_name(fields[0]):
            raise NoteError("malformed signature line")
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except binascii.Error as exc:
            raise NoteError("signature is not base64") from exc
        if len(blob) < 5:
            raise NoteError("signature too short")
        sigs.append(Signature(fields[0], struct.unpack(">I", blob[:4])[0], blob[4:]))
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    if not sigs:
        raise NoteError("note has no signatures")
    return Note(text, tuple(sigs))


def open_note(note: str, *verifiers: Verifier) -> Note:
    """Parse and verify: every signature by a known key must verify, and at least one must be known."""
    parsed = parse(note)
    known = {(v.name, v.hash): v for v in verifiers}
    msg = parsed.text.encode("utf-8")
    verified = 0
    for sig in parsed.signatures:
        v = known.get((sig.name, sig.hash))
        if v is None:
            continue
        if not v.verify(msg, sig.signature):
            raise NoteError(f"signature by {sig.name} does not verify")
        verified += 1
    if not verified:
        raise NoteError("no signature by a known key")
    return parsed


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint needs origin, size and root lines")
        origin, size_s, root_s = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")) or not size_s.isascii():
            raise NoteError("checkpoint size is not a decimal number")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error as exc:
            raise NoteError("checkpoint root is not base64") from exc
        return cls(origin, int(size_s), root)


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    return sign(cp.text(), signer)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and return it; the origin must match when given."""
    cp = Checkpoint.parse(open_note(note, verifier).text)
    if origin is not None and cp.origin != origin:
        raise NoteError(f"checkpoint origin {cp.origin!r} is not {origin!r}")
    return cp


def from_paper(typed: str) -> str:
    """A signed note as typed or scanned from paper, back in its exact form: line ends and blank lines may be
    lost or doubled and spaces added around lines; a signature line may start with "--" or "-" for the em dash.
    The text is the first three lines (origin, size, root); every later line is a signature. Nothing is
    corrected inside a line: a wrong character still fails the signature."""
    lines = [" ".join(line.split()) for line in typed.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if len(lines) < 4:
        raise NoteError("a checkpoint note has an origin, a size, a root and at least one signature line")
    sigs = []
    for line in lines[3:]:
        for dash in (SIG_PREFIX.strip(), "--", "-", "\u2015", "\u2013"):
            if line.startswith(dash):
                line = line[len(dash):].strip()
                break
        else:
            raise NoteError("a signature line starts with an em dash (—)")
        sigs.append(f"{SIG_PREFIX}{line}\n")
    return "\n".join(lines[:3]) + "\n\n" + "".join(sigs)
