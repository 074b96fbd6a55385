"""Personal data sealed at rest (db/sealing.py): resident ID numbers, phones and bank accounts written by the
registry service and by the import are not readable in the database file or its raw columns; a value moved to
another column or county does not open; replaced keys stop writes; SM4 works; a rotation killed midway resumes."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from daipin.db import sealing
from daipin.db.models.registry import Entity, Household, Person
from daipin.db.session import make_engine
from daipin.ledger import store
from daipin.services.imports import service as imports
from daipin.services.insurance import service as insurance
from daipin.services.registry import service as reg
from tests.integration import registry_support as support
from tests.integration.registry_support import ACTOR, AT, TOWN, VILLAGE, person_id

PHONE = "13912345678"
BANK = "6217000012345678901"
ENTITY_BANK = "6228480012345678"
HEADERS = ["序号", "所属乡镇", "所属村", "户编号", "户主姓名", "姓名", "身份证号", "家庭关系", "劳动能力", "户类型",
           "脱贫年度", "联系电话", "银行账号"]


@pytest.fixture
def keys_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "keys"
    monkeypatch.setenv("DAIPIN_KEYS_DIR", str(d))
    sealing.forget_pins()
    return d


@pytest.fixture
def engine(fresh_db_url: str, keys_dir: Path) -> Iterator[Engine]:
    e = make_engine(fresh_db_url)
    yield e
    e.dispose()


def _district(session: Session) -> None:
    store.ensure_log(session, county="231002", at=AT)
    reg.create_region(session, ACTOR, code="231002", name="东安区", level="district", at=AT)
    reg.create_region(session, ACTOR, code=TOWN, name="兴隆镇", level="township", at=AT)
    reg.create_region(session, ACTOR, code=VILLAGE, name="兴隆村", level="village", poor_village=True, at=AT)


def _household(session: Session, n: int, phone: str | None = PHONE, bank: str | None = BANK) -> Household:
    return reg.register_household(
        session, ACTOR, household_no=f"H-{n:04d}", village_code=VILLAGE, status="poor", phone=phone,
        bank_account=bank, at=AT,
        members=[{"name": "王一", "id_number": person_id(n), "relation": "户主", "labor": "full"}])


def _import_file(path: Path, first: int, count: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for i in range(count):
            n = first + i
            w.writerow([str(i + 1), "兴隆镇", "兴隆村", f"I-{n:04d}", "张三", "张三", person_id(n), "户主", "有劳动能力",
                        "贫困户", "", f"1380000{n:04d}", f"62280000000{n:04d}"])
    return path


def test_personal_data_is_not_readable_in_the_database_file_or_its_raw_columns(engine: Engine,
                                                                                tmp_path: Path) -> None:
    with Session(engine) as s, s.begin():
        _district(s)
        _household(s, 1)
        imports.import_households(s, ACTOR, _import_file(tmp_path / "in.csv", 100, 30), AT)
    clear = [person_id(1), PHONE, BANK] + [v for n in range(100, 130)
                                           for v in (person_id(n), f"1380000{n:04d}", f"62280000000{n:04d}")]
    with engine.connect() as conn:
        people = conn.execute(text("SELECT id_number, id_number_bidx FROM people")).all()
        households = conn.execute(text("SELECT phone, bank_account, phone_bidx FROM households")).all()
    assert len(people) == 31 and len(households) == 31
    raw = [v for row in [*people, *households] for v in row if v is not None]
    assert all(v.startswith("v1:") for r in people for v in r[:1]) and all(
        v.startswith("v1:") for r in households for v in r[:2])
    assert not [c for c in clear if any(c in v for v in raw)]
    if engine.dialect.name == "sqlite":
        engine.dispose()
        db = Path(engine.url.database or "")
        data = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
        assert not [c for c in clear if c.encode() in data]
    # ... and the service reads them back in clear, and finds a person by number through the blind index.
    with Session(engine) as s:
        assert s.scalar(select(Household.phone).where(Household.household_no == "I-0105")) == "13800000105"
        assert s.scalar(select(Person.name).where(
            Person.id_number_bidx == sealing.index_of(s.connection(), person_id(1)))) == "王一"


def test_a_duplicate_id_number_is_found_through_the_blind_index(session: Session, keys_dir: Path) -> None:
    _district(session)
    _household(session, 1)
    with pytest.raises(Exception, match="身份证号|ID number"):
        reg.register_household(
            session, ACTOR, household_no="H-0009", village_code=VILLAGE, status="poor", at=AT,
            members=[{"name": "李四", "id_number": person_id(1), "relation": "户主", "labor": "full"}])


def test_a_sealed_value_moved_to_another_column_or_county_does_not_open(session: Session, keys_dir: Path) -> None:
    _district(session)
    hh = _household(session, 1)
    session.flush()
    conn = session.connection()
    sealed = conn.execute(text("SELECT id_number FROM people WHERE household_id = :h"), {"h": hh.id}).scalar_one()
    assert sealing.open_value("people", "id_number", sealed, county="231002") == person_id(1)
    with pytest.raises(sealing.SealingError) as err:
        sealing.open_value("households", "phone", sealed)
    assert err.value.code == "pii_moved"
    with pytest.raises(sealing.SealingError):
        sealing.open_value("people", "id_number", sealed, county="231003")
    forged = sealed.replace(":231002:", ":231003:")
    with pytest.raises(sealing.SealingError):
        sealing.open_value("people", "id_number", forged)
    # A clear value bound to a sealed column is refused rather than stored.
    with pytest.raises(Exception, match="sealed values only"):
        session.execute(select(Person.id).where(Person.id_number == person_id(1))).all()


def test_replaced_data_or_index_keys_stop_writes_until_the_originals_are_back(session: Session,
                                                                               keys_dir: Path) -> None:
    _district(session)
    _household(session, 1)
    session.flush()
    data_file = next(keys_dir.glob("pii-data-*.key"))
    index_file = keys_dir / sealing.INDEX_FILE
    assert oct(data_file.stat().st_mode & 0o777) == "0o600" and oct(index_file.stat().st_mode & 0o777) == "0o600"
    original_data, original_index = data_file.read_text(), index_file.read_text()
    assert original_data.strip()[-64:] not in str(session.execute(text("SELECT * FROM pii_keys")).all())
    for f, replacement in ((data_file, sealing.new_key_text("aes-256-gcm")), (index_file, "cd" * 32)):
        f.write_text(replacement + "\n")
        sealing.forget_pins()
        with pytest.raises(sealing.SealingError) as err:
            _household(session, 2)
        assert err.value.code in ("pii_key_replaced", "pii_key_missing") and err.value.field == "DAIPIN_KEYS_DIR"
        assert session.scalar(select(Household.id).where(Household.household_no == "H-0002")) is None
        f.write_text(original_data if f == data_file else original_index)
        sealing.forget_pins()
    _household(session, 3)
    session.flush()


def test_sm4_gcm_seals_and_opens(session: Session, keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIPIN_CIPHER", "sm4-gcm")
    _district(session)
    hh = _household(session, 1)
    session.flush()
    assert next(keys_dir.glob("pii-data-*.key")).read_text().startswith("sm4-gcm:")
    assert session.execute(text("SELECT cipher FROM pii_keys WHERE purpose = 'data'")).scalar_one() == "sm4-gcm"
    session.expire_all()
    assert session.get(Household, hh.id).bank_account == BANK  # type: ignore[union-attr]


def test_bulk_rows_sealed_by_seal_many_open_with_their_county(session: Session, keys_dir: Path) -> None:
    _district(session)
    conn = session.connection()
    values, index = sealing.seal_many(conn, "people", "id_number", [person_id(1), None, person_id(2)],
                                      ["231002", "231002", "231003"])
    assert values[1] is None and index is not None and index[1] is None
    assert index[0] == sealing.index_of(conn, person_id(1))
    assert sealing.open_many("people", "id_number", values) == [person_id(1), None, person_id(2)]
    assert values[0] is not None and values[2] is not None
    with pytest.raises(sealing.SealingError):
        sealing.open_value("people", "id_number", values[2], county="231002")


def _daipin(url: str, keys: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DAIPIN_DATABASE_URL": url, "DAIPIN_KEYS_DIR": str(keys), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "daipin", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_rotation_killed_midway_continues_when_run_again_and_seals_nothing_twice(
        engine: Engine, fresh_db_url: str, keys_dir: Path) -> None:
    with Session(engine) as s, s.begin():
        _district(s)
        for n in range(1, 121):
            _household(s, n, bank=None if n % 3 == 0 else BANK)
        # An entity's account (premium subsidies are paid into it) is sealed too, and rotated with the rest.
        firm = insurance.set_entity_account(s, ACTOR, support.entity(s).id, bank_account=ENTITY_BANK, at=AT)
        firm_id = firm.id
    with engine.connect() as conn:
        before = {r[0]: r[1] for r in conn.execute(select(Person.id, Person.id_number))}
        old_kid = conn.execute(text("SELECT kid FROM pii_keys WHERE purpose = 'data'")).scalar_one()
    expected = 120 + 120 + 80 + 1  # ID numbers, phones, bank accounts, the entity's account
    first = _daipin(fresh_db_url, keys_dir, "keys", "rotate", "--batch", "2")
    assert first.stdout is not None
    lines = [first.stdout.readline() for _ in range(5)]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert all("people" in line for line in lines), lines
    with engine.connect() as conn:
        rot = conn.execute(text("SELECT state, people_done, resealed, to_kid FROM pii_rotations")).one()
        assert rot.state == "running" and 0 < rot.people_done < max(before)
        states = dict(conn.execute(text("SELECT kid, state FROM pii_keys WHERE purpose = 'data'")).all())
        assert states == {old_kid: "old", rot.to_kid: "active"}
    # Writes during the stop seal with the new key, once a process reads the pins again (this one read them moments
    # ago, before the rotation: it would trust that reading for up to PIN_TTL seconds; the final pass covers that).
    sealing.forget_pins()
    with Session(engine) as s, s.begin():
        _household(s, 500, bank=None)
    with engine.connect() as conn:
        during = conn.execute(text("SELECT phone FROM households WHERE phone IS NOT NULL ORDER BY id DESC")).first()
        assert during is not None and sealing.kid_in(during[0]) == rot.to_kid
    second = _daipin(fresh_db_url, keys_dir, "keys", "rotate", "--batch", "50")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "resumed" in out and rot.to_kid in out
    sealing.forget_pins()
    with engine.connect() as conn:
        sealed = [v for row in conn.execute(text("SELECT id_number FROM people UNION ALL SELECT phone FROM households "
                                                 "UNION ALL SELECT bank_account FROM households "
                                                 "UNION ALL SELECT bank_account FROM entities")) for v in row
                  if v is not None]
        assert sealed and all(sealing.kid_in(v) == rot.to_kid for v in sealed)
        final = conn.execute(text("SELECT state, resealed FROM pii_rotations")).one()
        assert final.state == "done" and final.resealed == expected  # each old value re-sealed exactly once
        assert dict(conn.execute(text("SELECT kid, state FROM pii_keys WHERE purpose = 'data'")).all()) == {
            old_kid: "retired", rot.to_kid: "active"}
        after = {r[0]: r[1] for r in conn.execute(select(Person.id, Person.id_number))}
        entries = conn.execute(text("SELECT body FROM ledger_entry WHERE type = 'keys.rotate'")).all()
    assert {k: after[k] for k in before} == before
    with Session(engine) as s:
        assert s.get(Entity, firm_id).bank_account == ENTITY_BANK  # type: ignore[union-attr]
    assert len(entries) == 1 and rot.to_kid.encode() in bytes(entries[0][0])
    verify = _daipin(fresh_db_url, keys_dir, "ledger", "verify")
    v_out, v_err = verify.communicate(timeout=300)
    assert verify.returncode == 0, v_out + v_err


def test_ledger_verify_without_the_personal_data_key_says_so_in_one_line(
        engine: Engine, fresh_db_url: str, keys_dir: Path, tmp_path: Path) -> None:
    """A fresh process asked to verify a ledger whose rows hold sealed data, with the data key gone from the key
    folder, exits 2 with one line naming the variable and the missing key: no traceback."""
    with Session(engine) as s, s.begin():
        _district(s)
        _household(s, 1)
    data_keys = list(keys_dir.glob("pii-data-*.key"))
    assert len(data_keys) == 1
    kid = data_keys[0].name.removeprefix("pii-data-").removesuffix(".key")
    moved = tmp_path / data_keys[0].name
    data_keys[0].rename(moved)
    proc = _daipin(fresh_db_url, keys_dir, "ledger", "verify")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("错误 / error: DAIPIN_KEYS_DIR:") and kid in err and "cannot be read" in err, err
    moved.rename(data_keys[0])  # with the key back, the same ledger verifies
    again = _daipin(fresh_db_url, keys_dir, "ledger", "verify")
    a_out, a_err = again.communicate(timeout=300)
    assert again.returncode == 0, a_out + a_err


def test_migration_0022_seals_the_rows_already_there(fresh_db_url: str, keys_dir: Path) -> None:
    """Rows written in clear before 0022 are sealed by it (with blind indexes), read back in clear, and found
    by number; downgrading opens them again."""
    from daipin.db import migrate

    engine = make_engine(fresh_db_url)
    try:
        migrate.downgrade(engine, "0021_salt_pin")
        with engine.begin() as c:
            for n in range(1, 8):
                c.execute(text("INSERT INTO households (id, household_no, village_code, county_code, status, labor, "
                               "phone, bank_account, life_state) VALUES (:i, :no, :v, '231002', 'poor', 'full', :p, "
                               ":b, 'alive')"),
                          {"i": n, "no": f"H-{n}", "v": VILLAGE, "p": f"1390000{n:04d}" if n % 2 else None,
                           "b": f"62170000000{n:04d}"})
                c.execute(text("INSERT INTO people (id, household_id, county_code, name, name_initials, id_number, "
                               "relation, labor, life_state) VALUES (:i, :i, '231002', '王一', 'wy', :n, '户主', "
                               "'full', 'alive')"), {"i": n, "n": person_id(n)})
        migrate.upgrade(engine)
        migrate.check(engine)
        with engine.connect() as c:
            raw = c.execute(text("SELECT p.id_number, p.id_number_bidx, h.phone, h.bank_account FROM people p "
                                 "JOIN households h ON h.id = p.household_id ORDER BY p.id")).all()
            assert all(r[0].startswith("v1:") and len(r[1]) == 32 and r[3].startswith("v1:") for r in raw)
            assert [r[2] is None for r in raw] == [n % 2 == 0 for n in range(1, 8)]
        with Session(engine) as s:
            assert [p.id_number for p in s.scalars(select(Person).order_by(Person.id))] == [
                person_id(n) for n in range(1, 8)]
            assert s.scalar(select(Household.phone).where(Household.id == 3)) == "13900000003"
            assert s.scalar(select(Person.id).where(
                Person.id_number_bidx == sealing.index_of(s.connection(), person_id(5)))) == 5
        migrate.downgrade(engine, "0021_salt_pin")
        with engine.connect() as c:
            assert c.execute(text("SELECT id_number FROM people WHERE id = 2")).scalar_one() == person_id(2)
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_the_keys_backup_carries_the_personal_data_keys(session: Session, keys_dir: Path, tmp_path: Path) -> None:
    from daipin.services.backups import service as backups

    _district(session)
    _household(session, 1)
    session.flush()
    sealed = session.execute(text("SELECT bank_account FROM households")).scalar_one()
    backups.export_keys(keys_dir, tmp_path / "keys.enc", "a long passphrase here")
    restored = tmp_path / "restored"
    backups.import_keys(tmp_path / "keys.enc", restored, "a long passphrase here")
    names = {p.name for p in restored.iterdir()}
    assert sealing.INDEX_FILE in names and any(n.startswith(sealing.DATA_PREFIX) for n in names)
    sealing._opening.clear()
    with pytest.MonkeyPatch.context() as m:
        m.setenv("DAIPIN_KEYS_DIR", str(restored))
        assert sealing.open_value("households", "bank_account", sealed) == BANK
