"""The household import's columnar path: a large, clean csv roster checked and turned into COPY text with polars.

`plan(raw, ...)` reads the file's bytes and either returns the new households and people exactly as the
row-by-row path (`imports._check_rows`, `imports._household_checks`, `imports._write_new`) would write them,
or None. None means "not certain": the caller then takes the row-by-row path, which reports every error by
row, column and reason. So this path decides nothing on its own: it only accepts a file the row-by-row path
accepts without a single error, and it never has to word an error. Tests import the same files both ways and
compare every row and ledger entry.

`plan` is four steps the import also runs one at a time: `prepare` (the households from their heads' rows:
what writing their first status needs), `form` (the households' members and labour summary: what writing
the households and people needs), `people` and `verify` (every other check). The import sends rows to the
database as soon as they are formed, before `form` and `verify` have answered, inside a savepoint: a file
either refuses (or whose rows the database refuses before then) is rolled back and left to the row-by-row
path.

It gives up (None) on anything it does not handle exactly as the row-by-row path does:
- quotes, tabs, backslashes, NUL bytes or a carriage return outside a CRLF line end (the csv module's and
  COPY's escaping), text that is not UTF-8, and lines with more cells than the header;
- whitespace at either end of a cell the import reads, so that the row-by-row path's `str.strip` would change
  nothing (and none inside a resident ID number, phone or bank account, from which it removes spaces);
- a resident ID number not already in canonical form (17 ASCII digits and a digit or upper-case X), a wrong
  check digit, a birth date or region code that `imports.check_resident_id_fast` refuses, or one number twice;
- an empty household number or name, a relation, labour value, status, village, exit year, phone or bank
  account the row-by-row checks would refuse (the same functions decide, once per distinct value; phone and
  bank account are matched with ASCII-only patterns stricter than the registry's);
- a household number, name or poverty cause longer than its column (the registry's limits), or a household
  number in scientific notation (a spreadsheet rewrote it);
- a household without exactly one head, with members in two villages, exited without an exit year, or with a
  户主姓名 other than its head's name.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from daipin.db import sealing
from daipin.services.registry import service as reg

# What `str.strip` removes: every character `str.isspace` calls whitespace (29 of them), read off Python itself.
_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_ID_FORM = r"^[0-9]{17}[0-9X]$"
# ASCII-digit forms of registry.PHONE_RE and registry.BANK_RE (whose \d also takes other scripts' digits).
_PHONE = r"^(1[0-9]{10}|0[0-9]{2,3}-?[0-9]{7,8})$"
_BANK = r"^[0-9]{12,30}$"
_CHECK_VALUE = {str(d): d for d in range(10)} | {"X": 10}


@dataclass
class Plan:
    """New households in village and household-number order and their people, each household's members in file
    order."""

    rows: int  # data lines read (blank ones included), as `ImportResult.rows` counts them
    households: pl.DataFrame  # hno, vcode, status, exit_year, cause, summary, phone, bank
    people: pl.DataFrame  # hidx, name, number, relation, labor, initials (sorted by hidx, file order kept)


@dataclass
class Prepared:
    """A file read and its households formed from their heads' rows. Not yet verified."""

    raw: bytes
    rows: int  # data lines read (blank ones included), as `ImportResult.rows` counts them
    table: pl.DataFrame  # one row per person, in file order (r), cells as written
    # hidx, hno, town, village (the head's cells as written), hr (the head's row in `table`), vcode, status,
    # exit_year, cause, phone, bank, in village and household-number order; `form` adds heads (how many), full and
    # weak (labour)
    households: pl.DataFrame
    villages: dict[tuple[str, str], str]
    check_id: Any
    exit_year: Any
    labor_values: dict[str, str]
    status_values: dict[str, str]
    relations: frozenset[str]
    # set by `form`:
    members: pl.DataFrame | None = None  # hidx, r: the people in writing order (by household, then file order)
    labor: dict[str, str] | None = None  # labour cell → value, for every cell of the file

    @property
    def household_numbers(self) -> list[str]:
        return list(self.households["hno"])

    @property
    def id_numbers(self) -> list[str]:
        return list(self.table["number"])


def plan(raw: bytes, headers: list[str], index: dict[str, int], villages: dict[tuple[str, str], str],
         check_id: Any, exit_year: Any, labor_values: dict[str, str], status_values: dict[str, str],
         relations: frozenset[str]) -> Plan | None:
    """See the module's docstring. `raw` is the whole file, its first line the header (already mapped to
    `index`); the look-ups and checks are the row-by-row path's own, passed in."""
    p = prepare(raw, headers, index, villages, check_id, exit_year, labor_values, status_values, relations)
    if p is None or not form(p) or not verify(p):
        return None
    return Plan(rows=p.rows, households=household_rows(p), people=people(p))


def prepare(raw: bytes, headers: list[str], index: dict[str, int], villages: dict[tuple[str, str], str],
            check_id: Any, exit_year: Any, labor_values: dict[str, str], status_values: dict[str, str],
            relations: frozenset[str]) -> Prepared | None:
    """Read the file and form its households from their heads' rows, as little as writing their first status
    needs: status, village and exit year. None if that much cannot be done (not UTF-8, more cells than the
    header, or a head's status, village or exit year the row-by-row path would refuse); everything else is
    left to `form` and `verify`."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        df = pl.read_csv(raw, has_header=False, skip_rows=1, quote_char=None, empty_string_is_null=False,
                         schema={f"c{i}": pl.String for i in range(len(headers))})
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if df.height == 0:
        return None
    rows = df.height  # (`verify` checks that it is the number of lines)
    # A line of empty cells is skipped, as `not any(row)` skips it (such a line has no household number).
    if (df[f"c{index['household_no']}"] == "").any():
        df = df.filter(pl.any_horizontal(pl.all() != ""))
    c = {key: pl.col(f"c{i}") for key, i in index.items()}
    empty = pl.lit("")
    t = df.select(
        hno=c["household_no"], name=c["name"], number=c["id_number"], relation=c["relation"],
        labor=c["labor"], status=c["status"], town=c.get("township", empty), village=c["village"],
        exit=c.get("exit_year", empty), phone=c.get("phone", empty), bank=c.get("bank_account", empty),
        cause=c.get("poverty_cause", empty), head=c.get("head_name", empty),
    ).with_row_index("r")
    del df
    if t.height == 0:
        return None
    # Cells are decided by the row-by-row path's own look-ups, once per distinct value. A household with two
    # heads is here twice: `form` refuses the file (more heads than households) unless one without a head makes
    # up for it, and then `verify` does (two heads); the rows sent meanwhile are rolled back.
    heads = t.filter(pl.col("relation") == "户主").select(
        "hno", "r", "town", "village", "status", "exit", "cause", "phone", "bank")
    status = _mapping(heads["status"], status_values.get)
    vcode = _village_codes(heads, villages)
    years = _exit_years(heads, exit_year)
    if status is None or vcode is None or years is None:
        return None
    households = heads.select(
        "hno", "town", "village", hr="r", status=pl.col("status").replace_strict(status), vcode=_village_code(vcode),
        exit_year=pl.col("exit").replace_strict(years, return_dtype=pl.Int32), cause="cause", phone="phone",
        bank="bank")
    # Village codes all have 12 digits: sorting by code and number is sorting by the two joined.
    households = households.sort(pl.col("vcode") + pl.col("hno")).with_row_index("hidx")  # the row path's order
    return Prepared(raw, rows, t, households, villages, check_id, exit_year, labor_values, status_values,
                    relations)


def form(p: Prepared) -> bool:
    """Each household's members (`p.members`), head count and labour summary (`p.households`' heads, full,
    weak); False if a labour cell is one the row-by-row path refuses or a household has no head."""
    t = p.table
    labor = _mapping(t["labor"], p.labor_values.get)
    if labor is None:
        return False
    head = pl.col("relation") == "户主"
    groups = t.group_by("hno").agg(
        members=pl.col("r"), heads=head.sum(),
        full=pl.col("labor").is_in([k for k, v in labor.items() if v == "full"]).any(),
        weak=pl.col("labor").is_in([k for k, v in labor.items() if v == "weak"]).any())
    # The heads' household numbers are some of the file's: as many means the same.
    if groups.height != p.households.height:
        return False
    groups = p.households.select("hno").join(groups, on="hno", how="left", maintain_order="left")
    p.households = p.households.with_columns(groups.select("heads", "full", "weak"))
    p.members = pl.concat([p.households.select("hidx"), groups.select(r="members")], how="horizontal").explode("r")
    p.labor = labor
    return True


def _village_codes(t: pl.DataFrame, villages: dict[tuple[str, str], str]) -> dict[str, str] | None:
    """Township and village cells (joined by `_village_code`) → village code; None if one is unknown (a village
    given with a township is looked up in that township alone)."""
    out = {}
    for town, village in t.select("town", "village").unique().iter_rows():
        code = villages.get((town, village)) or (None if town else villages.get(("", village)))
        if code is None:
            return None
        out[f"{town}\x1f{village}"] = code
    return out


def _village_code(codes: dict[str, str]) -> pl.Expr:
    return (pl.col("town") + "\x1f" + pl.col("village")).replace_strict(codes, return_dtype=pl.String).alias("vcode")


def _exit_years(t: pl.DataFrame, exit_year: Any) -> dict[str, int | None] | None:
    """Exit-year cell → year ('' → None); None if a cell is not one."""
    years = {v: exit_year(v) if v else None for v in t["exit"].unique()}
    return None if any(y is None for v, y in years.items() if v) else years


def verify(p: Prepared) -> bool:
    """Every check `prepare` left: whether the row-by-row path would find no error at all."""
    raw = p.raw
    ends = _plain_line_ends(raw)
    if ends is None:  # the csv module's quoting and line ends, COPY's escapes: not this path's
        return False
    if p.rows != (ends - 1 if raw.endswith(b"\n") else ends):  # a line polars read otherwise (the header is one)
        return False
    t = p.table
    number = pl.col("number")
    checks = t.select(
        # Free text only: every other cell is looked up as it stands (a space makes it unknown, so None).
        space=pl.any_horizontal((pl.col(k).str.strip_chars(_SPACE).str.len_bytes() != pl.col(k).str.len_bytes()).any()
                                for k in ("hno", "name", "cause")),
        empty=(pl.col("hno") == "").any() | (pl.col("name") == "").any(),
        form=number.str.contains(_ID_FORM).all(),
        phone=((pl.col("phone") == "") | pl.col("phone").str.contains(_PHONE)).all(),
        bank=((pl.col("bank") == "") | pl.col("bank").str.contains(_BANK)).all(),
        # Longer than its column (the registry's limits), on any row.
        # A household number in scientific notation (a spreadsheet rewrote it): the row path reports it.
        rewritten=pl.col("hno").str.contains(reg.SCIENTIFIC).any(),
        long=(pl.col("hno").str.len_chars() > reg.HOUSEHOLD_NO_MAX).any()
        | (pl.col("name").str.len_chars() > reg.NAME_MAX).any()
        | (pl.col("cause").str.len_chars() > reg.POVERTY_CAUSE_MAX).any(),
    ).row(0, named=True)
    if (checks["space"] or checks["empty"] or not checks["form"] or not checks["phone"] or not checks["bank"]
            or checks["long"] or checks["rewritten"]):
        return False
    # int(first17, 13) is below 2^63 and, mod 11, the weighted digit sum; distinct numbers (the check digit is
    # fixed by the first 17) have distinct values.
    ids = t.select(body=number.str.slice(0, 17).str.to_integer(base=13),
                   last=number.str.slice(17, 1).replace_strict(_CHECK_VALUE, return_dtype=pl.Int64))
    body = pl.col("body")
    if not ids.select(((1 + 2 * (11 - body % 11)) % 11 == pl.col("last")).all() & (body.n_unique() == pl.len())).item():
        return False
    # Past the check digit, `check_id` looks at the birth date (characters 7-14) and then at the region code (1-6)
    # in the birth year (7-10) only: one full check per distinct birth date and one per distinct region and
    # year cover every number (a number passes if its date's and its region and year's representatives do).
    keys = pl.concat([ids.select(date=body // 13 ** 3 % 13 ** 8, place=body // 13 ** 7), t.select("number")],
                     how="horizontal")
    for key in ("date", "place"):
        for first in keys.group_by(key).agg(number.first())["number"]:
            if p.check_id(first)[1] is not None:
                return False
    # Every row's relation, status, village and exit year (`prepare` decided the heads' only).
    if not set(t["relation"].unique()) <= p.relations or _mapping(t["status"], p.status_values.get) is None:
        return False
    vcode = _village_codes(t, p.villages)
    if vcode is None or _exit_years(t, p.exit_year) is None:
        return False
    hh = p.households
    if hh.select((pl.col("heads") != 1).any()).item():  # one head per household
        return False
    # Each row's household (hidx) and its head's row, in file order.
    assert p.members is not None, "form first"
    row_hidx = pl.zeros(t.height, pl.UInt32, eager=True).scatter(p.members["r"], p.members["hidx"])
    head_row = hh["hr"].gather(row_hidx)
    # All of a household's members in its head's village: the same cells as written (then surely), else the
    # same village code.
    other = (t["town"] != t["town"].gather(head_row)) | (t["village"] != t["village"].gather(head_row))
    if other.any() and (t.filter(other).select(_village_code(vcode))["vcode"]
                        != hh["vcode"].gather(row_hidx.filter(other))).any():
        return False
    # A 户主姓名 given is the head's own name (as written: a space around it only sends the file away).
    if ((t["head"] != "") & (t["head"] != t["name"].gather(head_row))).any():
        return False
    # An exited household has its exit year.
    return not hh.select(((pl.col("status") == "exited") & pl.col("exit_year").is_null()).any()).item()


_PIECE = 1 << 20  # bytes of the file searched at a time by `_plain_line_ends`


def _plain_line_ends(raw: bytes) -> int | None:
    """How many line ends `raw` holds; None if it holds a double quote, tab, backslash, NUL or a carriage return
    not followed by a line end. Searched a piece at a time, counted by numpy (which compares without the GIL):
    the import's COPY thread, which keeps the server fed, would otherwise wait for the GIL for a tenth of a
    second on a 100 MB file."""
    ends = 0
    for start in range(0, len(raw), _PIECE):
        end = start + _PIECE
        if (raw.find(b'"', start, end) >= 0 or raw.find(b"\t", start, end) >= 0 or raw.find(b"\\", start, end) >= 0
                or raw.find(b"\0", start, end) >= 0):
            return None
        # The piece and the byte after it (none after the file's last piece).
        ext = np.frombuffer(raw, dtype=np.uint8, count=min(_PIECE + 1, len(raw) - start), offset=start)
        piece = ext[:_PIECE]
        ends += int(np.count_nonzero(piece == 10))
        if raw.find(b"\r", start, end) >= 0:
            after = ext[1:] if len(ext) > len(piece) else np.append(ext[1:], np.uint8(0))
            if np.any((piece == 13) & (after != 10)):
                return None
    return ends


def household_rows(p: Prepared) -> pl.DataFrame:
    """hidx, hno, vcode, status, exit_year, cause, summary, phone, bank: one row per household, in order."""
    return p.households.select(
        "hidx", "hno", "vcode", "status", "exit_year",
        _none_if_empty("cause"),
        pl.when(pl.col("full")).then(pl.lit("full")).when(pl.col("weak")).then(pl.lit("weak"))
        .otherwise(pl.lit("none")).alias("summary"),
        _none_if_empty("phone"), _none_if_empty("bank"),
    )


def people(p: Prepared, start: int = 0, stop: int | None = None) -> pl.DataFrame:
    """hidx, name, number, relation, labor, initials: the people, by household, each household's in file order
    (those from `start` to `stop` in that order)."""
    assert p.members is not None and p.labor is not None, "form first"
    members = p.members.slice(start, None if stop is None else stop - start)
    r = members["r"]
    out = p.table.select(pl.col("name", "number", "relation").gather(r),
                         labor=pl.col("labor").gather(r).replace_strict(p.labor)).insert_column(0, members["hidx"])
    return out.with_columns(initials=initials(out["name"]))


def _none_if_empty(name: str) -> pl.Expr:
    return pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name)


def initials(names: pl.Series) -> pl.Series:
    """`registry.name_initials` of each name (stripped, not empty, without a line break): every character through
    the registry's table, what the table does not know dropped, and the surname's own reading for the first
    character. `_NAMES` names at a time as one array of code points (UTF-32), each looked up in `_initial_bytes`."""
    if names.len() == 0:
        return names.clone()
    letters, first = _initial_bytes()
    parts = []
    # A slice at a time: the joined text's conversions hold the GIL, which the import's COPY thread needs.
    for start in range(0, names.len(), _NAMES):
        codes = np.frombuffer(("\n" + names.slice(start, _NAMES).str.join("\n").item()).encode("utf-32-le"),
                              dtype=np.uint32)
        out = letters[codes]
        starts = np.flatnonzero(codes[:-1] == 10) + 1  # each name's first character (a line break is kept)
        out[starts] = first[codes[starts]]
        parts.append(pl.Series(names.name, [out[out != 0].tobytes().decode("ascii")[1:]]).str.split("\n").explode())
    found = pl.concat(parts)
    if found.len() != names.len():
        raise ValueError("a name holds a line break")
    return found


_NAMES = 1 << 16  # names looked up at a time by `initials`


@lru_cache(maxsize=1)
def _initial_bytes() -> tuple[np.ndarray[Any, np.dtype[np.uint8]], np.ndarray[Any, np.dtype[np.uint8]]]:
    """Code point → the ASCII byte of its initial in the registry's table, 0 where it has none (dropped); a line
    break (10) → itself. The second array is the same with the surname readings (`registry.SURNAME_INITIALS`),
    for a name's first character."""
    letters = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    for code, letter in reg._initials_table().items():
        if letter:
            letters[code] = ord(letter)
    letters[10] = 10
    first = letters.copy()
    for ch, letter in reg.SURNAME_INITIALS.items():
        first[ord(ch)] = ord(letter)
    return letters, first


def _mapping(cells: pl.Series, decide: Any) -> dict[str, str] | None:
    """Each distinct cell → what `decide` makes of it; None if it refuses one."""
    out = {}
    for v in cells.unique():
        d = decide(v)
        if d is None:
            return None
        out[v] = d
    return out


def status_copy(households: pl.DataFrame, household_ids: range, status_ids: range, today: str,
                reason: str) -> pl.DataFrame:
    """The households' first status as the row-by-row path formats it for COPY, led by its ids:
    `imports.STATUS_COLUMNS`. `households` as `prepare` forms them."""
    n = households.height
    return households.select(
        id=pl.int_range(status_ids.start, status_ids.start + n, dtype=pl.Int64),
        household_id=pl.int_range(household_ids.start, household_ids.start + n, dtype=pl.Int64),
        county_code=pl.col("vcode").str.slice(0, 6), status="status", from_date=pl.lit(today), reason=pl.lit(reason))


def household_copy(households: pl.DataFrame, household_ids: range, today: str) -> pl.DataFrame:
    """The households as the row-by-row path formats them for COPY: `imports.HOUSEHOLD_COLUMNS`. `households`
    as `household_rows` gives them."""
    n = households.height
    return households.select(
        id=pl.int_range(household_ids.start, household_ids.start + n, dtype=pl.Int64), household_no="hno",
        village_code="vcode", county_code=pl.col("vcode").str.slice(0, 6), status="status",
        status_since=pl.lit(today), exit_year="exit_year", poverty_cause="cause", labor="summary",
        phone="phone", bank_account="bank", life_state=pl.lit("alive"), life_state_date=pl.lit(None, pl.String))


def people_copy(people: pl.DataFrame, households: pl.DataFrame, person_ids: range) -> pl.DataFrame:
    """The people as the row-by-row path formats them for COPY (`imports.PERSON_COLUMNS` led by their ids, drawn
    from `person_ids` in order; `households` as `household_copy` gives them)."""
    number = pl.col("number")
    hidx = people["hidx"]
    return people.select(
        id=pl.int_range(person_ids.start, person_ids.start + people.height, dtype=pl.Int64),
        household_id=households["id"].gather(hidx), county_code=households["county_code"].gather(hidx),
        name="name", id_number="number",
        birth_date=pl.concat_str([number.str.slice(6, 4), number.str.slice(10, 2), number.str.slice(12, 2)],
                                 separator="-"),
        sex=pl.when(number.str.slice(16, 1).is_in(["1", "3", "5", "7", "9"])).then(pl.lit("M")).otherwise(pl.lit("F")),
        relation="relation", labor="labor", life_state=pl.lit("alive"), life_state_date=pl.lit(None, pl.String),
        health_note=pl.lit(None, pl.String), name_initials="initials")


def people_batches(p: Prepared, households: pl.DataFrame, person_ids: range, batch: int) -> Iterator[pl.DataFrame]:
    """`people_copy` of the people of each `batch` households in turn (`households` as `household_copy` gives
    them). They are formed a few batches at a time, one first, then twice as many each time, so the first
    are ready soon and the rest with little overhead."""
    assert p.members is not None, "form first"
    n = households.height
    bounds = pl.Series(range(0, n + batch, batch), dtype=pl.UInt32).clip(upper_bound=n)
    starts = p.members["hidx"].search_sorted(bounds, "left").to_list()
    b, step = 0, 1
    while b < len(starts) - 1:
        end = min(b + step, len(starts) - 1)
        lo, hi = starts[b], starts[end]
        frame = people_copy(people(p, lo, hi), households, range(person_ids.start + lo, person_ids.start + hi))
        for k in range(b, end):
            yield frame.slice(starts[k] - lo, starts[k + 1] - starts[k])
        b, step = end, step * 2


def sealed(keys: Any, frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """`household_copy` or `people_copy` rows as written: the personal data sealed for each row's county and the
    blind index after the row (`sealing.seal_many`)."""
    counties = frame["county_code"].to_list()
    replaced: list[pl.Series] = []
    added: list[pl.Series] = []
    for (t, column), bidx in sealing.SEALED.items():
        if t != table:
            continue
        values, index = sealing.seal_many(keys, t, column, frame[column].to_list(), counties)
        replaced.append(pl.Series(column, values, dtype=pl.String))
        if bidx is not None and index is not None:
            added.append(pl.Series(bidx, index, dtype=pl.String))
    return frame.with_columns(replaced).with_columns(added)


def copy_bytes(frame: pl.DataFrame) -> bytes:
    """Rows in PostgreSQL COPY text form (the file has no tab, backslash or line break to escape)."""
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, separator="\t", quote_style="never", null_value="\\N")
    return buf.getvalue()
