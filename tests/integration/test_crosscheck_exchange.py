"""The cross-county digest exchange as files, on the command line (docs/scale.md 跨县比对): the province makes its
key and public value, a county blinds its residents, the province answers, the county unblinds into the digest file
the province compares. No file that leaves the county holds an ID number, the county's digests are exactly the
province digests of its residents, and a bad or foreign file is refused whole."""

from __future__ import annotations

import csv
import re
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from daipin.db.models.registry import Person
from daipin.db.session import make_engine
from daipin.services.crosscheck import views
from tests.integration.api_support import cli

COUNTY = "231002"
PROVINCE_AS = "province:p1@23"
ID_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _residents(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with Session(engine) as s:
        out = {f"person:{pid}": idn for pid, idn in s.execute(
            select(Person.id, Person.id_number).where(Person.county_code == COUNTY))}
    engine.dispose()
    return out


def _exchange(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Steps 1-4: returns the province's keys folder, the county's folder and its digest file."""
    province, county = tmp_path / "province", tmp_path / "county"
    y_file = tmp_path / "y.txt"
    cli("crosscheck", "key", "--keys-dir", str(province), "--public-value", str(y_file))
    cli("crosscheck", "blind", "--county", COUNTY, "--out", str(county))
    cli("crosscheck", "evaluate", str(county / "blinded.csv"), "--out", str(tmp_path / "answers.csv"),
        "--as", PROVINCE_AS, "--keys-dir", str(province))
    digests = county / "digests.csv"
    cli("crosscheck", "finish", str(tmp_path / "answers.csv"), "--keep", str(county / "keep.csv"),
        "--public-value", str(y_file), "--out", str(digests))
    return province, county, digests


def test_a_county_hands_in_the_province_digests_of_its_residents_and_no_id_number(
        cli_db: str, tmp_path: Path) -> None:
    residents = _residents(cli_db)
    assert len(residents) >= 6
    province, county, digests = _exchange(tmp_path)
    rows = _rows(digests)
    assert rows[0] == ["区县代码", "编号", "摘要"]
    got = {ref: d for c, ref, d in rows[1:] if c == COUNTY}
    # Exactly the digest the province computes where its key is, for every resident, and only for them.
    assert got == {ref: views.province_digest(idn, str(province)) for ref, idn in residents.items()}
    # Nothing that crosses the county's boundary holds an ID number; what stays is readable by its owner only.
    for sent in (county / "blinded.csv", tmp_path / "answers.csv", digests):
        text = sent.read_text(encoding="utf-8")
        assert not ID_RE.search(text)
        assert not any(idn in text for idn in residents.values())
    assert stat.S_IMODE((county / "keep.csv").stat().st_mode) == 0o600
    # The county holds no province key: it could not have made the digests itself.
    assert not (county / "province").exists()


def test_the_province_finds_one_person_in_two_counties_from_the_digest_files(cli_db: str, tmp_path: Path) -> None:
    province, _, digests = _exchange(tmp_path)
    residents = _residents(cli_db)
    ref, idn = sorted(residents.items())[0]
    # County 231005's own server, holding the same person under its own reference, hands in the same digest
    # (the exchange gives the province digest of the ID, as the first test shows, whatever county runs it).
    other = tmp_path / "231005.csv"
    other.write_text("区县代码,编号,摘要\n231005,person:77,{}\n231005,person:78,{}\n".format(
        views.province_digest(idn, str(province)), "0" * 64), encoding="utf-8")
    out = cli("crosscheck", "duplicates", str(digests), str(other), "--as", PROVINCE_AS).output
    assert "跨县重复 1 人" in out
    assert f"{COUNTY}" in out and ref in out and "231005" in out and "person:77" in out
    assert idn not in out
    # A province account of another province may not compare these counties.
    refused = cli("crosscheck", "duplicates", str(digests), str(other), "--as", "province:p2@11", code=2).output
    assert "231002" in refused or "county" in refused


def test_bad_or_foreign_exchange_files_are_refused_whole(cli_db: str, tmp_path: Path) -> None:
    province, county = tmp_path / "province", tmp_path / "county"
    y_file = tmp_path / "y.txt"
    cli("crosscheck", "key", "--keys-dir", str(province), "--public-value", str(y_file))
    cli("crosscheck", "blind", "--county", COUNTY, "--out", str(county))
    # Blinding again into the same folder never overwrites what the county keeps.
    again = cli("crosscheck", "blind", "--county", COUNTY, "--out", str(county), code=2).output
    assert "不会覆盖" in again
    # Another province's account may not answer this county's values; nothing is written.
    answers = tmp_path / "answers.csv"
    foreign = cli("crosscheck", "evaluate", str(county / "blinded.csv"), "--out", str(answers),
                  "--as", "province:p2@11", "--keys-dir", str(province), code=2).output
    assert "county" in foreign and not answers.exists()
    # An edited blinded file: every bad row named, nothing answered.
    rows = _rows(county / "blinded.csv")
    rows[1][2] = "not-hex"
    rows[2][1] = "110101199003074518"  # an ID number where the reference belongs
    edited = tmp_path / "edited.csv"
    with edited.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    bad = cli("crosscheck", "evaluate", str(edited), "--out", str(answers), "--as", PROVINCE_AS,
              "--keys-dir", str(province), code=2).output
    assert "第2行“盲化值”" in bad and "第3行“编号”" in bad and not answers.exists()
    assert "110101199003074518" not in bad
    # A value outside the group (1) is refused, not answered.
    rows = _rows(county / "blinded.csv")
    rows[1][2] = "1"
    with edited.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    assert "群中的元素" in cli("crosscheck", "evaluate", str(edited), "--out", str(answers), "--as", PROVINCE_AS,
                                "--keys-dir", str(province), code=2).output
    # Answers for a reference the county never blinded are refused when unblinding.
    cli("crosscheck", "evaluate", str(county / "blinded.csv"), "--out", str(answers), "--as", PROVINCE_AS,
        "--keys-dir", str(province))
    rows = _rows(answers)
    rows[1][1] = "person:999999"
    with answers.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    out = cli("crosscheck", "finish", str(answers), "--keep", str(county / "keep.csv"), "--public-value",
              str(y_file), "--out", str(county / "digests.csv"), code=2).output
    assert "person:999999" in out and not (county / "digests.csv").exists()
    # A county code that is not 6 digits is named.
    assert "county" in cli("crosscheck", "blind", "--county", "23", "--out", str(tmp_path / "x"), code=2).output
