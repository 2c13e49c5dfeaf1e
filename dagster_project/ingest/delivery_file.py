"""Reading a delivery file: name and period, encoding, header, truncation.

Everything here is structural: a failure refuses the whole delivery. The data lines are handed on
as an Arrow table (line number, text) without any row-wise Python.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.contracts import PERIOD_FORMAT_DE, PERIOD_PATTERNS, Contract, load_contracts
from dagster_project.ingest.errors import DeliveryRefused, Refusal

UTF8_BOM = b"\xef\xbb\xbf"
BLANK_FILE = re.compile(rb"(\xef\xbb\xbf)?[ \r\n\t]*")  # stops at the first other byte: no copy
FILE_NAME = re.compile(r"^(?P<register>[a-z0-9]+)_(?P<period>[0-9-]+)\.(?P<ext>[a-z]+)$")


@dataclass(frozen=True)
class Period:
    label: str          # as in the file name: 2023-12-31, 2023 or 2023-05
    start: dt.date
    end: dt.date

    @property
    def year(self) -> int:
        return self.end.year


@dataclass
class Delivery:
    path: Path
    contract: Contract
    period: Period
    sha256: str
    encoding: str
    lines: pa.Table | None   # line_no (int64), raw_line (string): the data lines (None once in DuckDB)
    separator: str = ";"     # between the fields of raw_line


def parse_period(text: str, kind: str) -> Period | None:
    match = PERIOD_PATTERNS[kind].match(text)
    if not match:
        return None
    year = int(match.group(1))
    if kind == "month":
        month = int(match.group(2))
        return Period(text, dt.date(year, month, 1),
                      dt.date(year, month, calendar.monthrange(year, month)[1]))
    start = dt.date(year, 12, 31) if kind == "stichtag" else dt.date(year, 1, 1)
    return Period(text, start, dt.date(year, 12, 31))


def identify(path: Path) -> tuple[Contract, Period]:
    """Register and period from the file name `<register>_<period>.<ext>`, or a refusal."""
    name = path.name
    match = FILE_NAME.match(name)
    contracts = load_contracts()
    if not match or match["register"] not in contracts:
        raise DeliveryRefused(Refusal(
            name, "dateiname",
            "Dateiname entspricht nicht dem Muster <register>_<zeitraum>.<endung> mit einem der "
            f"Register {', '.join(sorted(contracts))}"))
    contract = contracts[match["register"]]
    if match["ext"] != contract.file_extension:
        raise DeliveryRefused(Refusal(
            name, "dateiendung", f"Dateiendung .{match['ext']} statt .{contract.file_extension}"))
    if path.parent.name != contract.register:
        raise DeliveryRefused(Refusal(
            name, "ordner", f"Datei liegt im Ordner '{path.parent.name}' statt '{contract.register}'"))
    period = parse_period(match["period"], contract.period_kind)
    if period is None:
        raise DeliveryRefused(Refusal(
            name, "zeitraum_im_namen",
            f"Zeitraum '{match['period']}' im Dateinamen hat nicht die Form "
            f"{PERIOD_FORMAT_DE[contract.period_kind]}"))
    return contract, period


def _binary_array(data: bytes, start: int, length: int) -> pa.Array:
    """bytes data[start:start + length] as a one-value Arrow array, without a copy."""
    offsets = pa.py_buffer(np.array([0, length], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data).slice(start, length)])


def _is_utf8(data: bytes, start: int) -> bool:
    """Whether data[start:] is valid UTF-8, checked by Arrow's validator without a copy."""
    try:
        _binary_array(data, start, len(data) - start).view(pa.large_string()).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _decode(data: bytes, name: str) -> tuple[bytes, int, str]:
    """The file as UTF-8 bytes, the offset of its first byte after a byte-order mark, and its
    encoding: UTF-8 with BOM, else UTF-8, else Windows-1252 (transcoded); else a refusal. A UTF-8
    file is checked in place (no second copy of a large delivery in memory); no row loop."""
    bom = data.startswith(UTF8_BOM)
    start = 3 if bom else 0
    utf8, label = None, None
    if _is_utf8(data, start):
        utf8, label = data, "utf-8-sig" if bom else "utf-8"
    elif not bom:
        try:
            utf8, label = data.decode("cp1252").encode("utf-8"), "cp1252"
        except UnicodeDecodeError:
            pass
    if utf8 is None:
        try:
            data[start:].decode("utf-8")  # only on this path: the first unreadable byte, as Python reports it
            raise AssertionError("Arrow und Python sind sich über UTF-8 uneinig")
        except UnicodeDecodeError as error:
            offset = error.start + start
        line = data.count(b"\n", 0, offset) + 1
        raise DeliveryRefused(Refusal(
            name, "kodierung",
            f"Datei ist weder UTF-8 (mit BOM) noch Windows-1252: unlesbares Byte 0x{data[offset]:02X} "
            f"an Byteposition {offset}", line=line))
    start = start if utf8 is data else 0
    position = utf8.find(b"\x00", start)
    if position >= 0:
        line = utf8.count(b"\n", start, position) + 1
        raise DeliveryRefused(Refusal(
            name, "kodierung", "Datei enthält Nullbytes (Binärdaten), keine Textdatei", line=line))
    return utf8, start, label


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(16 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_header(header: list[str], contract: Contract, name: str) -> None:
    expected = contract.header
    if header == expected:
        return
    for position, (found, wanted) in enumerate(zip(header + [""] * len(expected), expected), start=1):
        if found != wanted:
            break
    else:
        position, found, wanted = len(expected) + 1, header[len(expected)], "(keine weitere Spalte)"
    raise DeliveryRefused(Refusal(
        name, "kopfzeile",
        f"Kopfzeile weicht vom Vertrag ab: an Position {position} erwartet '{wanted}', "
        f"gefunden '{found or '(fehlt)'}'. Erwartet wird: {';'.join(expected)}",
        line=1, column=wanted if wanted in expected else found))


XLSX_SEPARATOR = "\x1f"  # the unit separator cannot occur in a spreadsheet cell's text


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace(XLSX_SEPARATOR, " ").replace("\n", " ").strip()


def read_xlsx_delivery(path: Path, contract: Contract, period: Period, sha256: str | None = None) -> Delivery:
    """An XLSX delivery: the contract's sheet, header in row 1, one data line per row."""
    import zipfile

    from openpyxl import load_workbook

    name = path.name
    data = path.read_bytes()
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    if not data:
        raise DeliveryRefused(Refusal(name, "leere_datei", "Datei ist leer", line=1))
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise DeliveryRefused(Refusal(name, "unlesbare_datei", f"Keine lesbare XLSX-Datei: {error}")) from error
    try:
        if contract.sheet not in workbook.sheetnames:
            raise DeliveryRefused(Refusal(
                name, "tabellenblatt",
                f"Tabellenblatt '{contract.sheet}' fehlt (vorhanden: {', '.join(workbook.sheetnames)})"))
        rows = list(workbook[contract.sheet].iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        raise DeliveryRefused(Refusal(name, "leere_datei", f"Blatt {contract.sheet} ist leer", line=1))
    width = len(contract.header)
    header = [_cell_text(v) for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    _check_header(header, contract, name)
    numbers, texts = [], []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row]
        if not any(cells):
            continue  # empty rows at the end of a sheet
        extra = cells[width:]
        cells = cells[:width] + [c for c in extra if c]  # filled cells beyond the table count
        numbers.append(number)
        texts.append(XLSX_SEPARATOR.join(cells + [""] * (width - len(cells))))
    if not texts:
        raise DeliveryRefused(Refusal(name, "keine_daten", "Tabelle enthält nur die Kopfzeile", line=2))
    lines = pa.table({"line_no": pa.array(numbers, type=pa.int64()), "raw_line": pa.array(texts, type=pa.large_string())})
    return Delivery(path, contract, period, sha256, "xlsx", lines, separator=XLSX_SEPARATOR)


def read_delivery(path: Path, sha256: str | None = None, data: bytes | None = None) -> Delivery:
    """Read and structurally check a delivery; raises DeliveryRefused. `sha256` and `data`: the
    file's hash and content if the caller has them already (a file is read once)."""
    contract, period = identify(path)
    if contract.file_extension == "xlsx":
        return read_xlsx_delivery(path, contract, period, sha256)
    name = path.name
    data = path.read_bytes() if data is None else data
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    if BLANK_FILE.fullmatch(data):
        raise DeliveryRefused(Refusal(name, "leere_datei", "Datei ist leer", line=1))
    utf8, start, encoding = _decode(data, name)
    if not utf8.endswith(b"\n"):
        last_line = utf8.count(b"\n", start) + 1
        raise DeliveryRefused(Refusal(
            name, "abgeschnitten",
            "Datei endet mitten in einer Zeile (ohne Zeilenende): die Lieferung ist unvollständig",
            line=last_line))
    header_end = utf8.index(b"\n", start)
    _check_header(utf8[start:header_end].decode("utf-8").rstrip("\r").split(";"), contract, name)
    body_start, body_end = header_end + 1, len(utf8) - 1  # without the final line end
    if body_end <= body_start:
        raise DeliveryRefused(Refusal(name, "keine_daten", "Datei enthält nur die Kopfzeile", line=2))
    # split into lines as Arrow buffers, straight from the file's bytes; valid UTF-8 was checked
    # above, so the lines are viewed as text without a second check
    body = _binary_array(utf8, body_start, body_end - body_start)
    raw = pc.split_pattern(body, b"\n").flatten().view(pa.large_string())
    if utf8.find(b"\r", body_start, body_end) >= 0:
        raw = pc.utf8_rtrim(raw, characters="\r")
    lines = pa.table({"line_no": pa.array(np.arange(2, len(raw) + 2, dtype=np.int64)), "raw_line": raw})
    return Delivery(path, contract, period, sha256, encoding, lines)
