"""The study-plan table: matrix × visit with the assay and the stopping rule, exportable to CSV and Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding.assay import Assay
from atmp_hta.planners.shedding.design import StudyDesign

__all__ = ["StudyPlan", "study_plan", "stopping_rule_text", "to_markdown"]


def stopping_rule_text(design):
    """The stopping rule of a design in one sentence.

    Examples
    --------
    >>> d = StudyDesign([0, 7, 14, 28], n_patients=10, matrices=["semen"], rule_start_day=7)
    >>> stopping_rule_text(d)[:66]
    'Stop sampling a matrix for a patient after 3 consecutive negative '
    """
    miss = ("missing samples are skipped (neither counted nor breaking a run)" if design.missing == "skip"
            else "a missing sample breaks the run")
    stop = ("Stop sampling a matrix for a patient after" if design.stop_at_clearance
            else "Sample every scheduled visit; clearance is declared at")
    return (f"{stop} {design.consecutive} consecutive negative samples (negatives count from day "
            f"{design.rule_start_day:g}); a positive sample resets the count; {miss}; patients not cleared are "
            f"followed to their last scheduled visit and censored there.")


@dataclass(frozen=True)
class StudyPlan:
    """A study plan: ``table`` (one row per matrix × visit) and the ``stopping_rule`` sentence."""

    table: pd.DataFrame
    stopping_rule: str
    name: str

    def to_csv(self, path=None):
        """Write the table as CSV (returns the text when ``path`` is None)."""
        text = self.table.to_csv(index=False, lineterminator="\n")
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None

    def to_markdown(self, path=None):
        """A Markdown document: title, stopping rule and the table (returns the text when ``path`` is None)."""
        text = f"## Shedding study plan: {self.name}\n\n**Stopping rule.** {self.stopping_rule}\n\n" + to_markdown(
            self.table) + "\n"
        if path is None:
            return text
        Path(path).write_text(text, encoding="utf-8")
        return None


def study_plan(design, assays, cost_per_sample=None):
    """Build the plan table of a design.

    Parameters
    ----------
    design : StudyDesign
    assays : Assay or mapping matrix -> Assay
    cost_per_sample : float or mapping matrix -> float, optional

    Returns
    -------
    StudyPlan
        ``table`` columns: ``matrix, visit, day, week, assay, lod95_copies_per_ml, loq_copies_per_ml,
        sample_volume_ml, replicates, cost_per_sample, stopping_rule``.

    Examples
    --------
    >>> d = StudyDesign([0, 7, 14], n_patients=10, matrices=["semen", "saliva"])
    >>> plan = study_plan(d, Assay(0.2, 100, 10, loq_copies_per_ml=500.0), cost_per_sample=100)
    >>> plan.table[["matrix", "visit", "day", "lod95_copies_per_ml"]].head(2)
      matrix  visit  day  lod95_copies_per_ml
    0  semen      1  0.0                149.8
    1  semen      2  7.0                149.8
    """
    if not isinstance(design, StudyDesign):
        raise invalid("design", "a StudyDesign", type(design).__name__, "study_plan")
    rule = stopping_rule_text(design)
    rows = []
    for m in design.matrices:
        a = assays if isinstance(assays, Assay) else assays.get(m) if isinstance(assays, Mapping) else None
        if not isinstance(a, Assay):
            raise invalid("assays", "an Assay or a mapping with an Assay per matrix", f"none for {m!r}",
                          "study_plan")
        cost = (cost_per_sample.get(m, np.nan) if isinstance(cost_per_sample, Mapping)
                else np.nan if cost_per_sample is None else float(cost_per_sample))
        for i, day in enumerate(design.visits_for(m), start=1):
            rows.append({
                "matrix": m, "visit": i, "day": float(day), "week": round(float(day) / 7.0, 1), "assay": a.name,
                "lod95_copies_per_ml": round(a.lod95_copies_per_ml, 1), "loq_copies_per_ml": a.loq_copies_per_ml,
                "sample_volume_ml": a.extraction_volume_ml, "replicates": a.replicates,
                "cost_per_sample": cost,
                "stopping_rule": f"stop after {design.consecutive} consecutive negatives"
                if design.stop_at_clearance else "sample all visits",
            })
    return StudyPlan(table=pd.DataFrame(rows), stopping_rule=rule, name=design.name)


def to_markdown(df, float_format="{:g}"):
    """Render a DataFrame as a GitHub-flavoured Markdown table (no extra dependency).

    Examples
    --------
    >>> print(to_markdown(pd.DataFrame({"a": [1, 2], "b": ["x", "y|z"]})))
    | a | b |
    |---:|:---|
    | 1 | x |
    | 2 | y\\|z |
    """
    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else float_format.format(v)
        return str(v).replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    align = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, align, *body])
