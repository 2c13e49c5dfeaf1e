"""One model of what a release publishes: every released numerator and denominator as a count of a
concept (disclosure_relations.yml), and every linear relation a reader can combine: the area
hierarchy, partitions (the monitoring groups add up to the residents), flows (stock changes) and
the same count published twice (the same concept key). Input for the attacker's audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dagster_project.release.attacker_audit import (AuditResult, Relation, audit, flow_relations, hierarchy_relations,
                                                    identity_relations)
from dagster_project.release.disclosure import RULE_SECONDARY
from dagster_project.release.relation_search import SearchResult, search

RELATIONS_FILE = Path(__file__).with_name("disclosure_relations.yml")


@cache
def relations_config() -> dict:
    return yaml.safe_load(RELATIONS_FILE.read_text(encoding="utf-8"))


class DisclosureModelIncomplete(RuntimeError):
    """The release shows a number, or the data hold a relation, that the published model lacks."""


def check_relations(result: SearchResult) -> None:
    """Stop the release when the data hold an identity the declared model does not imply."""
    if result.undeclared:
        named = "; ".join(f"{r.text()} (gilt in {r.support} Fällen in {r.years} Jahren)" for r in result.undeclared[:10])
        more = f" und {len(result.undeclared) - 10} weitere" if len(result.undeclared) > 10 else ""
        raise DisclosureModelIncomplete(
            f"In den Daten gilt eine Beziehung, die das Geheimhaltungsmodell nicht kennt: {named}{more}. "
            "Ein Leser könnte damit gesperrte Zellen zurückrechnen. Die Beziehung in "
            "dagster_project/release/disclosure_relations.yml eintragen (identities, same_count, flows oder "
            "not_additive), dann neu freigeben.")


@dataclass
class PublishedModel:
    counts: pd.DataFrame          # concept, area_level, area_code, reference_year, value, published, primary, mart, cell
    relations: list[Relation]
    signed: set[str]
    declared: "DeclaredModel | None" = None

    def add_found(self, found: list, areas: pd.DataFrame) -> None:
        """Relations the search found in this data but the model does not state (seen in one year
        only): a reader of this release can use them, so the audit does too."""
        years = sorted(int(y) for y in self.counts.reference_year.unique())
        for relation in found:
            if relation.kind == "identity":
                self.relations += identity_relations([(n, float(c)) for n, c in relation.terms], areas, years)
            elif relation.kind == "hierarchy":
                self.relations += hierarchy_relations([relation.terms[0][0]], areas, years)
            elif relation.kind == "flow":
                self.relations += flow_relations(relation.terms[0][0], relation.terms[1][0], areas, years)

    def search_relations(self, areas: pd.DataFrame) -> SearchResult:
        """Identities in the true counts that the declared model does not imply (relation_search.py)."""
        concepts = set(self.counts.concept)
        declared = self.declared
        return search(self.counts, areas,
                      [dict(terms) for terms in declared.identities],
                      concepts - declared.not_additive, set(declared.flows))

    def audit(self) -> AuditResult:
        return audit(self.counts, self.relations, self.signed)


def _concept(spec, group: str | None) -> tuple[str, int]:
    if isinstance(spec, dict):
        name, offset = spec["concept"], int(spec.get("year_offset", 0))
    else:
        name, offset = spec, 0
    return (name.format(group=group) if group is not None else name), offset


def _counts_of(mart: str, candidate: pd.DataFrame, released: pd.DataFrame, concepts: dict, layout: dict) -> pd.DataFrame:
    """Numerator and denominator counts of a long mart, with their true values (from the
    candidate) and the cell that shows them (mart, row)."""
    truth = candidate.reset_index(drop=True)
    shown = released.reset_index(drop=True)
    measures = truth[layout["measure"]]
    group_column = layout.get("group")
    groups = truth[group_column] if group_column else pd.Series([None] * len(truth))
    frames = []
    for role, column in (("n", layout.get("numerator", "numerator")), ("d", layout.get("denominator", "denominator"))):
        specs = measures.map(lambda m: concepts.get(m, {}).get(role))
        keep = specs.notna() & truth[column].notna()
        resolved = [_concept(spec, group) for spec, group in zip(specs[keep], groups[keep])]
        rule = shown.suppression_rule[keep]
        frames.append(pd.DataFrame({
            "concept": [r[0] for r in resolved],
            "area_level": truth.area_level[keep].to_numpy(),
            "area_code": truth.area_code[keep].to_numpy(),
            "reference_year": truth[layout["year"]][keep].to_numpy().astype(int) + [r[1] for r in resolved],
            "value": truth[column][keep].to_numpy(dtype=float),
            "published": ~shown.is_suppressed[keep].to_numpy(dtype=bool),
            # what a primary suppression protects is the count itself (a plain count) or the numerator
            # of a rate; a rate's denominator is only hidden with it (it is often published elsewhere)
            "primary": (shown.is_suppressed[keep] & (rule != RULE_SECONDARY)).to_numpy(dtype=bool) & (role == "n"),
            "mart": mart,
            "cell": [(mart, int(i)) for i in np.flatnonzero(keep.to_numpy())],
        }))
    return pd.concat(frames, ignore_index=True)


def parse_identity(text: str) -> list[tuple[str, float]]:
    """"a = b + c - d" as [(a, 1), (b, -1), (c, -1), (d, 1)] (sum of coefficient x count = 0)."""
    left, right = (side.split() for side in text.split("="))
    if len(left) != 1 or not right:
        raise ValueError(f"Identität nicht lesbar: {text!r} (erwartet: 'a = b + c - d')")
    terms, sign = [(left[0], 1.0)], -1.0
    for token in right:
        if token in "+-":
            sign = -1.0 if token == "+" else 1.0
        else:
            terms.append((token, sign))
            sign = -1.0
    return terms


@dataclass
class DeclaredModel:
    """The relations of disclosure_relations.yml, expanded for the monitoring groups, every concept
    under its one name (same_count)."""
    canonical: dict[str, str]                      # another name -> the name the model uses
    identities: list[list[tuple[str, float]]]      # within an area and year: partitions and identities
    not_additive: set[str]
    flows: list[tuple[str, str]]                   # (change, stock)
    signed: set[str]

    @classmethod
    def of(cls, groups: list[str]) -> "DeclaredModel":
        config = relations_config()

        def expand(name: str) -> list[str]:
            return [name.format(group=g) for g in groups] if "{group}" in name else [name]

        canonical = {other: name for pair in config.get("same_count", [])
                     for other, name in zip(expand(pair[0]), expand(pair[1]))}

        def one(name: str) -> str:
            return canonical.get(name, name)

        identities = [[(one(whole), 1.0), *((one(part), -1.0) for part in expand(p["parts"]))]
                      for p in config["partitions"] for whole in expand(p["whole"])]
        for text in config.get("identities", []):
            terms = parse_identity(text)
            patterned = any("{group}" in name for name, _ in terms)
            for group in (groups if patterned else [None]):
                identities.append([(one(name.format(group=group) if group else name), c) for name, c in terms])
        flows = [(one(change), one(stock)) for flow in config["flows"]
                 for change, stock in zip(expand(flow["change"]), expand(flow["stock"]))]
        return cls(canonical, identities, {one(c) for name in config["not_additive"] for c in expand(name)},
                   flows, {one(c) for name in config["signed"] for c in expand(name)})


def build_model(candidate: dict[str, pd.DataFrame], released: dict[str, pd.DataFrame],
                areas: pd.DataFrame) -> PublishedModel:
    """The counts and relations of a release: the long marts of disclosure_relations.yml before
    (`candidate`) and after (`released`) disclosure control, in the same row order."""
    config = relations_config()
    groups = sorted(candidate["fct_immigration_monitoring"].monitoring_group.unique())
    declared = DeclaredModel.of(groups)
    counts = pd.concat([_counts_of(mart, candidate[mart], released[mart], config[layout["concepts"]], layout)
                        for mart, layout in config["marts"].items() if mart in candidate], ignore_index=True)
    counts["concept"] = counts.concept.replace(declared.canonical)
    # a count that is 0 in every area and year (e.g. a group that never moves in from the rest of
    # Germany) is 0 wherever it is published: a reader takes a hidden one for 0 as well
    nonzero = set(counts.concept[counts.value != 0])
    counts["known"] = ~counts.concept.isin(nonzero)
    years = sorted(int(y) for y in counts.reference_year.unique())
    additive = sorted(set(counts.concept) - declared.not_additive)
    relations = hierarchy_relations(additive, areas, years)
    for terms in declared.identities:
        relations += identity_relations(terms, areas, years)
    for change, stock in declared.flows:
        relations += flow_relations(change, stock, areas, years)
    return PublishedModel(counts, relations, declared.signed, declared)


def _finite(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def audit_summary(result: AuditResult, model: PublishedModel, suppressed: pd.DataFrame,
                  loss: pd.DataFrame | None = None, protection=None, examples: int = 25,
                  search: SearchResult | None = None) -> dict:
    """What the manifest and the audit report say of the audit: per mart the suppressed cells (with
    the shares before and after secondary suppression), the primary counts audited, those
    recoverable and the narrowest interval; the recoverable cells by key and relation. Never a
    value or a bound: they would disclose what suppression hides."""
    width = (result.cells.high - result.cells.low).replace(np.inf, np.nan)   # unbounded: no finite width
    cells = result.cells.assign(width=width)
    primary_rows = model.counts[model.counts.primary][["concept", "area_level", "area_code", "reference_year", "mart"]]
    per_cell = cells.merge(primary_rows.drop_duplicates(), on=["concept", "area_level", "area_code", "reference_year"])
    totals = None if loss is None else loss[loss.area_level == "alle"]
    shares = {} if totals is None else totals.drop(columns="area_level").set_index("mart").to_dict(orient="index")
    per_mart = {}
    for mart in sorted(set(suppressed.mart) | set(shares)):
        part = per_cell[per_cell.mart == mart]
        share = shares.get(mart, {})
        per_mart[mart] = {"gesperrt": int((suppressed.mart == mart).sum()), "geprueft": int(len(part)),
                          "rueckrechenbar": int((~part.protected).sum()),
                          "engstes_intervall": _finite(part.width.min()),
                          "zellen": share.get("zellen"), "primaer": share.get("primaer"),
                          "anteil_primaer": _finite(share.get("anteil_primaer")),
                          "anteil_gesperrt": _finite(share.get("anteil_gesperrt")),
                          "gewicht_anteil_primaer": _finite(share.get("gewicht_anteil_primaer")),
                          "gewicht_anteil_gesperrt": _finite(share.get("gewicht_anteil_gesperrt"))}
    exposed = cells[~cells.protected].sort_values(["width", "concept", "area_code", "reference_year"]).head(examples)
    return {
        "geprueft": int(len(cells)),
        "rueckrechenbar": int((~cells.protected).sum()),
        "engstes_intervall": _finite(cells.width.min()),
        "relationen": len(model.relations),
        "sekundaer_ueber_relationen": None if protection is None else {
            "zusaetzlich_gesperrt": len(protection.hidden_cells), "runden": protection.rounds,
            "sekunden": round(protection.seconds, 2)},
        "beziehungssuche": None if search is None else {
            "gefunden": {kind: sum(r.kind == kind for r in search.found) for kind in ("identity", "hierarchy", "flow")},
            "nicht_im_modell": len(search.undeclared), "sekunden": round(search.seconds, 2),
            # seen in one year only: used by the audit of this release, not required in the model
            "nur_dieses_jahr": [r.text() for r in search.incidental]},
        "je_mart": per_mart,
        # information loss per mart and area level, before (primary) and after secondary suppression
        "informationsverlust": [] if loss is None else [
            {k: (_finite(v) if isinstance(v, float) else v) for k, v in row.items()}
            for row in loss[loss.area_level != "alle"].to_dict(orient="records")],
        "beispiele": [{"kennzahl": r.concept, "area_level": r.area_level, "area_code": r.area_code,
                       "reference_year": int(r.reference_year),
                       "relationen": result.exposing_relations.get(
                           (r.concept, r.area_level, r.area_code, int(r.reference_year)), [])}
                      for r in exposed.itertuples()],
    }
