"""Signed notes and checkpoints match golang.org/x/mod/sumdb/note byte for byte, and tampering is caught."""

from __future__ import annotations

import base64

import pytest

from daipin.ledger import note

# The reference example of golang.org/x/mod/sumdb/note (its documentation and note_test.go).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_the_go_example_reproduces_the_go_note_exactly() -> None:
    signer = note.Signer.parse(GO_SKEY)
    assert str(signer) == GO_SKEY
    assert str(signer.verifier()) == GO_VKEY
    assert note.sign(GO_TEXT, signer) == GO_NOTE


def test_the_go_note_opens_with_the_go_verifier_key() -> None:
    opened = note.open_note(GO_NOTE, note.Verifier.parse(GO_VKEY))
    assert opened.text == GO_TEXT
    assert opened.signatures[0].name == "PeterNeumann"
    assert opened.signatures[0].hash == 0xC74F20A3


def test_a_changed_text_byte_breaks_the_signature() -> None:
    v = note.Verifier.parse(GO_VKEY)
    with pytest.raises(note.NoteError):
        note.open_note(GO_NOTE.replace("cryptography", "cryptographY"), v)


def test_every_flipped_signature_bit_is_rejected() -> None:
    v = note.Verifier.parse(GO_VKEY)
    head, sig_line = GO_NOTE.rsplit("\n\n", 1)
    prefix, b64 = sig_line.rstrip("\n").rsplit(" ", 1)
    blob = base64.b64decode(b64)
    for byte in range(4, len(blob), 7):
        for bit in (0, 5):
            bad = bytearray(blob)
            bad[byte] ^= 1 << bit
            tampered = f"{head}\n\n{prefix} {base64.b64encode(bytes(bad)).decode()}\n"
            with pytest.raises(note.NoteError):
                note.open_note(tampered, v)


def test_a_note_signed_only_by_an_unknown_key_is_not_accepted() -> None:
    other = note.Signer.generate("PeterNeumann")
    with pytest.raises(note.NoteError, match="no signature by a known key"):
        note.open_note(note.sign(GO_TEXT, other), note.Verifier.parse(GO_VKEY))


@pytest.mark.parametrize(
    "bad",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),
        GO_VKEY.replace("PeterNeumann", "PeterNeuman"),
        GO_VKEY[:-2],
        "PeterNeumann+c74f20a3",
        GO_VKEY.replace("+ARpc", "+AhRpc"),
    ],
)
def test_mangled_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.Verifier.parse(bad)


@pytest.mark.parametrize(
    "bad",
    [
        GO_TEXT,  # no signature block
        GO_NOTE.replace("— ", "- "),
        GO_NOTE.rstrip("\n"),
        GO_NOTE.replace("\n", "\r\n"),
        GO_TEXT + "\n— PeterNeumann AAAA\n",
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.open_note(bad, note.Verifier.parse(GO_VKEY))


def test_a_checkpoint_round_trips_through_its_signed_note() -> None:
    signer = note.Signer.generate("daipin.231002/ledger")
    cp = note.Checkpoint("daipin.231002/ledger", 12345, bytes(range(32)))
    signed = note.sign_checkpoint(cp, signer)
    lines = signed.split("\n")
    assert lines[:3] == ["daipin.231002/ledger", "12345", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3] == ""
    assert lines[4].startswith("— daipin.231002/ledger ")
    assert note.open_checkpoint(signed, signer.verifier(), origin="daipin.231002/ledger") == cp


def test_a_checkpoint_with_a_changed_size_or_origin_is_refused() -> None:
    signer = note.Signer.generate("daipin.231002/ledger")
    signed = note.sign_checkpoint(note.Checkpoint("daipin.231002/ledger", 7, bytes(32)), signer)
    with pytest.raises(note.NoteError):
        note.open_checkpoint(signed.replace("\n7\n", "\n8\n", 1), signer.verifier())
    with pytest.raises(note.NoteError, match="origin"):
        note.open_checkpoint(signed, signer.verifier(), origin="daipin.231003/ledger")


@pytest.mark.parametrize("text", ["o\n", "o\n-1\nAAAA\n", "o\n01\nAAAA\n", "o\n1\n!!\n", "\n1\nAAAA\n"])
def test_malformed_checkpoint_texts_are_refused(text: str) -> None:
    with pytest.raises(note.NoteError):
        note.Checkpoint.parse(text)
