"""Reading a delivery file: name and period, encoding, header, truncation.

Everything here is structural: a failure refuses the whole delivery. The data lines are handed on
as Arrow tables (line number, text), one slice of the file at a time (a state's extract is
gigabytes: it is never held in memory whole), without any row-wise Python.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.contracts import PERIOD_FORMAT_DE, PERIOD_PATTERNS, Contract, load_contracts
from dagster_project.ingest.errors import DeliveryRefused, Refusal

UTF8_BOM = b"\xef\xbb\xbf"
BLANK_FILE = re.compile(rb"(\xef\xbb\xbf)?[ \r\n\t]*")  # stops at the first other byte: no copy
BLANK = re.compile(rb"[ \r\n\t]*")
NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")  # the five bytes Windows-1252 leaves undefined
SLICE_BYTES = 128 * 1024 * 1024  # a delivery is read in slices of about this size, cut at line ends
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
    lines: Iterable[pa.Table]  # line_no (int64), raw_line (string): the data lines, slice by slice (read once)
    separator: str = ";"       # between the fields of raw_line


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


def _encoding_refusal(data: bytes, name: str) -> DeliveryRefused:
    """The refusal of a file that is neither UTF-8 nor Windows-1252: its first unreadable byte."""
    start = 3 if data.startswith(UTF8_BOM) else 0
    try:
        data[start:].decode("utf-8")  # only on this path: the first unreadable byte, as Python reports it
        raise AssertionError("Arrow und Python sind sich über UTF-8 uneinig")
    except UnicodeDecodeError as error:
        offset = error.start + start
    line = data.count(b"\n", 0, offset) + 1
    return DeliveryRefused(Refusal(
        name, "kodierung",
        f"Datei ist weder UTF-8 (mit BOM) noch Windows-1252: unlesbares Byte 0x{data[offset]:02X} "
        f"an Byteposition {offset}", line=line))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(16 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _slices(path: Path) -> Iterator[bytes]:
    """The file in slices of about SLICE_BYTES, each ending with a line end (the last one: with
    the file). A line end never lies inside a UTF-8 character, so each slice decodes on its own."""
    rest = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(SLICE_BYTES), b""):
            block = rest + block if rest else block
            cut = block.rfind(b"\n") + 1
            if cut:
                yield block[:cut] if cut < len(block) else block
            rest = block[cut:]
    if rest:
        yield rest


@dataclass(frozen=True)
class FileScan:
    """What one pass over a delivery file finds out before its lines are read."""

    sha256: str
    size: int                 # bytes
    blank: bool               # only whitespace (and a byte-order mark)
    bom: bool                 # starts with the UTF-8 byte-order mark
    utf8: bool                # valid UTF-8 after the byte-order mark
    cp1252: bool              # decodable as Windows-1252 (only known for a file that is not UTF-8)
    null_at: int | None       # byte position of the first null byte
    ends_with_line_end: bool
    content: bytes | None     # the file, if it is one slice (it is then not read a second time)


def scan_file(path: Path) -> FileScan:
    """SHA-256, encoding and structure of a file, slice by slice (Arrow validates UTF-8 in place)."""
    digest = hashlib.sha256()
    blank, bom, utf8, cp1252, null_at, last, size = True, False, True, True, None, b"", 0
    first_not_utf8, pieces = None, []
    for number, piece in enumerate(_slices(path)):
        digest.update(piece)
        start = 0
        if number == 0:
            bom = piece.startswith(UTF8_BOM)
            start = 3 if bom else 0
            blank = BLANK_FILE.fullmatch(piece) is not None
        elif blank:
            blank = BLANK.fullmatch(piece) is not None
        if utf8 and not _is_utf8(piece, start):
            utf8, first_not_utf8 = False, number
        if not utf8:
            cp1252 = cp1252 and _is_cp1252(piece)
        if null_at is None and (position := piece.find(b"\x00")) >= 0:
            null_at = size + position
        last = piece[-1:]
        size += len(piece)
        pieces = [piece] if number == 0 else []
    if first_not_utf8:  # the slices before were UTF-8 and not checked for Windows-1252 (rare)
        cp1252 = cp1252 and all(_is_cp1252(piece) for piece in itertools.islice(_slices(path), first_not_utf8))
    return FileScan(digest.hexdigest(), size, blank, bom, utf8, cp1252, null_at, last == b"\n",
                    pieces[0] if pieces else None)


def _is_cp1252(data: bytes) -> bool:
    return not any(byte in data for byte in NOT_CP1252)


def _line_ends(path: Path, before: int | None = None) -> int:
    """Line ends in the file (before byte position `before`): only for a refusal's line number."""
    count, seen = 0, 0
    for piece in _slices(path):
        if before is not None and seen + len(piece) > before:
            return count + piece.count(b"\n", 0, before - seen)
        count += piece.count(b"\n")
        seen += len(piece)
    return count


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
    return Delivery(path, contract, period, sha256, "xlsx", [lines], separator=XLSX_SEPARATOR)


def read_delivery(path: Path, scan: FileScan | None = None, sha256: str | None = None) -> Delivery:
    """Check a delivery's structure (raises DeliveryRefused) and hand on its lines, slice by slice.
    `scan` (a CSV file) or `sha256` (a spreadsheet): what the caller knows of the file already."""
    contract, period = identify(path)
    if contract.file_extension == "xlsx":
        return read_xlsx_delivery(path, contract, period, sha256)
    name = path.name
    scan = scan or scan_file(path)
    if scan.blank:
        raise DeliveryRefused(Refusal(name, "leere_datei", "Datei ist leer", line=1))
    if not scan.utf8 and (scan.bom or not scan.cp1252):
        raise _encoding_refusal(path.read_bytes(), name)
    encoding = ("utf-8-sig" if scan.bom else "utf-8") if scan.utf8 else "cp1252"
    if scan.null_at is not None:
        raise DeliveryRefused(Refusal(
            name, "kodierung", "Datei enthält Nullbytes (Binärdaten), keine Textdatei",
            line=_line_ends(path, scan.null_at) + 1))
    if not scan.ends_with_line_end:
        raise DeliveryRefused(Refusal(
            name, "abgeschnitten",
            "Datei endet mitten in einer Zeile (ohne Zeilenende): die Lieferung ist unvollständig",
            line=_line_ends(path) + 1))
    slices = iter([scan.content]) if scan.content is not None else _slices(path)
    first = next(slices)
    start = 3 if scan.bom else 0
    header_end = first.index(b"\n", start)
    _check_header(first[start:header_end].decode("utf-8" if scan.utf8 else "cp1252").rstrip("\r").split(";"),
                  contract, name)
    if scan.size - 1 <= header_end + 1:  # nothing after the header but at most one line end
        raise DeliveryRefused(Refusal(name, "keine_daten", "Datei enthält nur die Kopfzeile", line=2))
    return Delivery(path, contract, period, scan.sha256, encoding,
                    _line_tables(first, header_end + 1, slices, scan.utf8))


def _line_tables(first: bytes, body_start: int, rest: Iterator[bytes], utf8: bool) -> Iterator[pa.Table]:
    """The data lines, one Arrow table per slice of the file, numbered from line 2 on: split
    straight from the slice's bytes (valid UTF-8 was checked by the scan; a Windows-1252 slice is
    transcoded first)."""
    line_no = 2
    for number, piece in enumerate(itertools.chain([first], rest)):
        begin = body_start if number == 0 else 0
        if not utf8:
            piece = piece.decode("cp1252").encode("utf-8")
            begin = len(first[:body_start].decode("cp1252").encode("utf-8")) if number == 0 else 0
        if begin >= len(piece):
            continue
        body = _binary_array(piece, begin, len(piece) - 1 - begin)  # without the slice's last line end
        raw = pc.split_pattern(body, b"\n").flatten().view(pa.large_string())
        if piece.find(b"\r", begin) >= 0:
            raw = pc.utf8_rtrim(raw, characters="\r")
        yield pa.table({"line_no": pa.array(np.arange(line_no, line_no + len(raw), dtype=np.int64)),
                        "raw_line": raw})
        line_no += len(raw)
