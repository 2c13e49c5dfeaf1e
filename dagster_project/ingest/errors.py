"""The error a structurally broken delivery is refused with."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Refusal:
    file: str
    rule: str
    message_de: str
    line: int | None = None
    column: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"Zeile {self.line}")
        if self.column:
            where.append(f"Spalte {self.column}")
        return f"Lieferung abgelehnt: {', '.join(where)}: {self.message_de} [Regel: {self.rule}]"


class DeliveryRefused(Exception):
    """The whole delivery is refused; nothing of it is loaded and the warehouse is unchanged."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
