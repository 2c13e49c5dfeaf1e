"""The rules of statistical disclosure control (disclosure_rules.yml) and primary suppression.

Primary suppression: counts of 1 or 2; rates whose denominator is under 100 or whose numerator is
1 or 2 (for differences: their absolute value). Zeros stay zeros. A suppressed cell hides its
value, numerator and denominator. Secondary suppression (secondary_suppression.py) then hides
further cells across every relation a reader can combine, until the attacker's audit
(attacker_audit.py) finds no primary cell that the release pins down.

Why no library: the PyPI packages for statistical disclosure control are micro-data tools (or
wrappers of R's sdcMicro / Java's tau-argus, which this closed network cannot run); the rules
here are the office's own and fit in a page that an auditor can read; the linear and integer
programs are solved with HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dagster_project.release.attacker_audit import ProtectionLevels

RULES_FILE = Path(__file__).with_name("disclosure_rules.yml")

RULE_COUNT = "zaehlwert_1_oder_2"
RULE_DENOMINATOR = "nenner_unter_100"
RULE_NUMERATOR = "zaehler_1_oder_2"
RULE_SECONDARY = "sekundaer"
RULE_LABELS_DE = {
    RULE_COUNT: "Fallzahl 1 oder 2",
    RULE_DENOMINATOR: "Nenner unter 100",
    RULE_NUMERATOR: "Zähler 1 oder 2",
    RULE_SECONDARY: "Sekundärsperrung (sonst aus veröffentlichten Zahlen rückrechenbar oder zu eng eingrenzbar)",
}
# What readers see of a suppressed cell, whatever the rule: one neutral mark. The rule of a cell
# would tell its value ("1 or 2"); it stays in the auditors' files (docs/auditors.md).
NEUTRAL_MARK_DE = "gesperrt (Geheimhaltung)"
RULE_EXPLANATIONS_DE = {
    RULE_COUNT: "Eine Anzahl von 1 oder 2 Personen wird nicht veröffentlicht (Nullen schon).",
    RULE_DENOMINATOR: "Eine Quote wird nur veröffentlicht, wenn ihr Nenner mindestens 100 beträgt.",
    RULE_NUMERATOR: "Eine Quote wird nicht veröffentlicht, wenn ihr Zähler 1 oder 2 beträgt.",
    RULE_SECONDARY: "Weitere Zellen werden gesperrt, damit sich keine gesperrte Zahl aus veröffentlichten "
                    "Zahlen (Summen, Teilsummen, Differenzen, Quoten, Bestand und Bewegung) zurückrechnen "
                    "oder zu eng eingrenzen lässt.",
}


@dataclass(frozen=True)
class DisclosureRules:
    min_count: int = 3
    min_rate_denominator: float = 100
    min_rate_numerator: int = 3
    secondary_suppression: bool = True
    protection_upper_margin: float = 3
    protection_other_width: float = 1

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> "DisclosureRules":
        return cls(**yaml.safe_load(path.read_text(encoding="utf-8")))

    def protection_levels(self) -> ProtectionLevels:
        return ProtectionLevels(small_count=self.min_count, small_upper_margin=self.protection_upper_margin,
                                other_width=self.protection_other_width)


def primary_rule(numerator: pd.Series, denominator: pd.Series, rules: DisclosureRules) -> np.ndarray:
    """The primary rule each cell breaks, or None (an object array: pandas would turn None into NaN)."""
    size = numerator.abs().to_numpy()
    is_count = denominator.isna().to_numpy()
    small = (size > 0) & (size < rules.min_count)
    small_numerator = (size > 0) & (size < rules.min_rate_numerator)
    small_denominator = ~is_count & (denominator.fillna(0).to_numpy() < rules.min_rate_denominator)
    rule = np.full(len(size), None, dtype=object)
    rule[is_count & small] = RULE_COUNT
    rule[~is_count & small_numerator] = RULE_NUMERATOR
    rule[small_denominator] = RULE_DENOMINATOR
    return rule


def apply_disclosure_control(values: pd.DataFrame, rules: DisclosureRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Primary suppression of a long mart with numerator, denominator and value: the released copy
    (suppressed cells nulled and flagged) and the log of suppressed cells (key, rule). Secondary
    suppression works across all marts at once (secondary_suppression.py)."""
    df = values.copy().reset_index(drop=True)
    rule = primary_rule(df.numerator, df.denominator, rules)
    suppressed = pd.Series([r is not None for r in rule], index=df.index, dtype=bool)
    df["suppression_rule"] = pd.Series(rule, index=df.index, dtype="object")
    log = df.loc[suppressed, ["indicator_id", "area_level", "area_code", "reference_year", "suppression_rule"]]
    df["is_suppressed"] = suppressed
    for column in ("numerator", "denominator", "indicator_value"):
        df.loc[suppressed, column] = np.nan
    return df, log.reset_index(drop=True)
