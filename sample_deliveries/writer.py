"""Writes register deliveries exactly as the contracts describe them: semicolon-separated,
German dates, upper-case headers, UTF-8 with BOM or Windows-1252 (with CRLF line ends).

DuckDB formats and writes the rows (fast, no row-wise Python); the file is then given its
byte-order mark or transcoded to Windows-1252.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.contracts import load_contracts
from sample_deliveries.population import NO_DATE

UTF8_BOM = "utf-8-sig"
CP1252 = "cp1252"


def _date(column: str) -> str:
    """SQL: a day count since 1970-01-01 as TT.MM.JJJJ, empty (NULL) for NO_DATE."""
    return f"CASE WHEN {column} <> {NO_DATE} THEN strftime(DATE '1970-01-01' + {column}, '%d.%m.%Y') END"


def _code(column: str) -> str:
    """SQL: a numeric code as three digits, empty (NULL) when negative."""
    return f"CASE WHEN {column} >= 0 THEN lpad(CAST({column} AS VARCHAR), 3, '0') END"


def _defective_date(column: str) -> str:
    """SQL: an impossible date (31 February) in the person's birth year."""
    return f"'31.02.' || CAST(year(DATE '1970-01-01' + {column}) AS VARCHAR)"


SEX = "CASE sex WHEN 0 THEN 'M' WHEN 1 THEN 'W' WHEN 2 THEN 'D' ELSE 'X' END"

# SELECT lists per register, in contract order; `defect` 1 = unknown district code,
# 2 = impossible birth date, 3 = unknown nationality code.
SELECTS = {
    "einwohner": [
        "lpad(CAST(person AS VARCHAR), 10, '0')", "surname", "first_name",
        f"CASE WHEN defect = 2 THEN {_defective_date('birth')} ELSE {_date('birth')} END", SEX,
        f"CASE WHEN defect = 3 THEN '996' ELSE {_code('nat1')} END", _code("nat2"),
        _code("birth_country"), "CASE status WHEN 0 THEN 'H' ELSE 'N' END", "street",
        "CAST(house_no AS VARCHAR)", "CASE WHEN defect = 1 THEN '999' ELSE district_code END",
        "'HH' || lpad(CAST(household AS VARCHAR), 9, '0')", _date("zuzug"), _date("einzug"),
    ],
    "bewegungen": [
        "lpad(CAST(person AS VARCHAR), 10, '0')", "kind", _date("date"),
        f"CASE WHEN defect = 2 THEN {_defective_date('birth')} ELSE {_date('birth')} END", SEX,
        f"CASE WHEN defect = 3 THEN '996' ELSE {_code('nat1')} END",
        "von_code", "CASE WHEN defect = 1 THEN '999' ELSE nach_code END",
        _code("country"),
    ],
    "sgb2": [
        "'BG' || lpad(CAST(household AS VARCHAR), 9, '0')", "CAST(lfd AS VARCHAR)",
        f"CASE WHEN defect = 2 THEN {_defective_date('birth')} ELSE {_date('birth')} END", SEX,
        f"CASE WHEN defect = 3 THEN '996' ELSE {_code('nat1')} END",
        "CASE WHEN defect = 1 THEN '999' ELSE district_code END",
        "CASE WHEN elb THEN 'ELB' ELSE 'NEF' END", "CASE WHEN unemployed THEN 'J' ELSE 'N' END",
        "bg_type",
    ],
    "sgb12": [
        "'F' || lpad(CAST(person AS VARCHAR), 10, '0')",
        f"CASE WHEN defect = 2 THEN {_defective_date('birth')} ELSE {_date('birth')} END", SEX,
        f"CASE WHEN defect = 3 THEN '996' ELSE {_code('nat1')} END",
        "CASE WHEN defect = 1 THEN '999' ELSE district_code END", "chapter",
        "CASE WHEN institution THEN 'J' ELSE 'N' END",
    ],
    "asylblg": [
        "'A' || lpad(CAST(household AS VARCHAR), 10, '0')", "CAST(lfd AS VARCHAR)",
        f"CASE WHEN defect = 2 THEN {_defective_date('birth')} ELSE {_date('birth')} END", SEX,
        f"CASE WHEN defect = 3 THEN '996' ELSE {_code('nat1')} END",
        "CASE WHEN defect = 1 THEN '999' ELSE district_code END",
        "CASE WHEN analog THEN 'ANALOG' ELSE 'GRUND' END",
    ],
}


# Rows formatted at a time: a state-wide extract (18 M rows) is written in slices, so that the
# generator's memory does not grow with the size of a delivery.
CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class Coded:
    """A text column as positions in a short list of texts (-1: empty). It reaches DuckDB as an
    Arrow dictionary array: no Python string object per row (a state's extract has 18 M rows)."""

    codes: np.ndarray
    texts: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, texts) -> "Coded":
        return cls.coder(texts)(codes)

    @classmethod
    def coder(cls, texts) -> Callable[[np.ndarray], "Coded"]:
        """`Coded.of(codes, texts)` for many arrays of codes with the same texts (sorted once)."""
        unique, position = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
        position = position.ravel().astype(np.int32)

        def code(codes: np.ndarray) -> Coded:
            codes = np.asarray(codes)
            out = position[np.maximum(codes, 0)]
            out[codes < 0] = -1
            return cls(out, unique)
        return code

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, rows) -> "Coded":
        return Coded(self.codes[rows], self.texts)

    def arrow(self) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(self.codes, mask=self.codes < 0),
                                              pa.array(self.texts, pa.string()))


@dataclass(frozen=True)
class PerSlice:
    """A column of `length` rows that is computed for each slice of rows as it is written
    (`compute(rows)`: an array or a Coded for the rows of the slice): a state's extract is written
    without ever holding its 15 columns for 18 M persons."""

    length: int
    compute: Callable[[slice], "np.ndarray | Coded"]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, rows: slice):
        return self.compute(rows)


def _arrow(column) -> pa.Array:
    return column.arrow() if isinstance(column, Coded) else pa.array(column)


def write_delivery(con: duckdb.DuckDBPyConnection, register: str, columns: dict[str, np.ndarray],
                   path: Path, encoding: str) -> int:
    """Write one delivery file (atomically: under a temporary name, then renamed); returns the
    number of data rows."""
    header = load_contracts()[register].header
    select = ", ".join(f'{expr} AS "{name}"' for expr, name in zip(SELECTS[register], header))
    n = len(next(iter(columns.values())))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(b"\xef\xbb\xbf" if encoding == UTF8_BOM else b"")
            for number, start in enumerate(range(0, max(n, 1), CHUNK_ROWS)):
                table = pa.table({k: _arrow(v[start:start + CHUNK_ROWS]) for k, v in columns.items()})
                con.register("delivery", table)
                try:
                    con.execute(
                        f"COPY (SELECT {select} FROM delivery) TO '{part}' "
                        f"(FORMAT csv, HEADER {'true' if number == 0 else 'false'}, DELIMITER ';', QUOTE '\"')"
                    )
                finally:
                    con.unregister("delivery")
                _append(part, out, encoding)
        os.replace(tmp, path)
    finally:
        part.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return n


def _append(part: Path, out, encoding: str) -> None:
    """Append DuckDB's UTF-8 output to the delivery in its encoding (Windows-1252 with CRLF)."""
    if encoding == UTF8_BOM:
        with open(part, "rb") as src:
            shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    elif encoding == CP1252:
        out.write(part.read_bytes().decode("utf-8").replace("\n", "\r\n").encode(CP1252))
    else:
        raise ValueError(f"unknown encoding {encoding}")
