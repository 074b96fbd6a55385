"""The personal-data salt is pinned to the ledger: a replaced salt file stops every write that needs it, with the
reason named, until the original is back; a ledger from before the pin is pinned by its next such write."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from daipin.domain.errors import Conflict
from daipin.ledger import keys, store


def test_a_replaced_salt_stops_writes_until_the_original_is_back(session: Session, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "keys"
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(d))
    store.ensure_log(session)
    pinned = session.execute(text("SELECT salt_id FROM ledger_log")).scalar()
    assert pinned == keys.salt_id(keys.load_salt())
    first = store.pii_digest(session, "231002199305211234")
    salt_file = d / keys.SALT_FILE
    original = salt_file.read_text()
    salt_file.write_text("ab" * 32 + "\n")  # another salt, as a mixed-up restore or a hand edit would leave
    with pytest.raises(Conflict) as err:
        store.pii_digest(session, "231002199305211234")
    assert err.value.code == "salt_replaced" and err.value.field == "DAIPIN_KEYS_DIR"
    salt_file.write_text(original)
    assert store.pii_digest(session, "231002199305211234") == first


def test_a_ledger_from_before_the_pin_is_pinned_by_its_next_write(session: Session, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(tmp_path / "keys"))
    store.ensure_log(session)
    session.execute(text("UPDATE ledger_log SET salt_id = NULL"))  # as migration 0021 leaves an existing ledger
    store.pii_digest(session, "13912345678")
    assert session.execute(text("SELECT salt_id FROM ledger_log")).scalar() == keys.salt_id(keys.load_salt())
