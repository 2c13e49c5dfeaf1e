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
    lines: pa.Table          # line_no (int64), raw_line (string): the data lines


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


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Text and encoding: UTF-8 with BOM, else UTF-8, else Windows-1252; else a refusal."""
    if data.startswith(UTF8_BOM):
        candidates = [("utf-8-sig", data[3:], "utf-8")]
    else:
        candidates = [("utf-8", data, "utf-8"), ("cp1252", data, "cp1252")]
    error: UnicodeDecodeError | None = None
    for label, payload, codec in candidates:
        try:
            text = payload.decode(codec)
        except UnicodeDecodeError as exc:
            error = error or exc
            continue
        if "\x00" in text:
            position = text.index("\x00")
            line = text.count("\n", 0, position) + 1
            raise DeliveryRefused(Refusal(
                name, "kodierung", "Datei enthält Nullbytes (Binärdaten), keine Textdatei", line=line))
        return text, label
    offset = error.start + (3 if data.startswith(UTF8_BOM) else 0)
    line = data.count(b"\n", 0, offset) + 1
    raise DeliveryRefused(Refusal(
        name, "kodierung",
        f"Datei ist weder UTF-8 (mit BOM) noch Windows-1252: unlesbares Byte 0x{data[offset]:02X} "
        f"an Byteposition {offset}", line=line))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(16 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def read_delivery(path: Path) -> Delivery:
    """Read and structurally check a delivery; raises DeliveryRefused."""
    contract, period = identify(path)
    name = path.name
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if not data.strip(UTF8_BOM + b" \r\n\t"):
        raise DeliveryRefused(Refusal(name, "leere_datei", "Datei ist leer", line=1))
    text, encoding = _decode(data, name)
    if not text.endswith("\n"):
        last_line = text.count("\n") + 1
        raise DeliveryRefused(Refusal(
            name, "abgeschnitten",
            "Datei endet mitten in einer Zeile (ohne Zeilenende): die Lieferung ist unvollständig",
            line=last_line))
    header_end = text.index("\n")
    header = text[:header_end].rstrip("\r").split(";")
    expected = contract.header
    if header != expected:
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
    body = text[header_end + 1:-1]  # without the final line end
    if not body:
        raise DeliveryRefused(Refusal(name, "keine_daten", "Datei enthält nur die Kopfzeile", line=2))
    raw = pc.split_pattern(pa.array([body], type=pa.large_string()), "\n").flatten()
    raw = pc.utf8_rtrim(raw, characters="\r")
    lines = pa.table({"line_no": pa.array(np.arange(2, len(raw) + 2, dtype=np.int64)), "raw_line": raw})
    return Delivery(path, contract, period, sha256, encoding, lines)
