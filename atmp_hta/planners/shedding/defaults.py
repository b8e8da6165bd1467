"""Cited defaults for the shedding planner: ``parameters/planners/shedding_aav.yaml``, validated.

Every value in the file is ``{value, source[, note]}`` with ``source`` a key of the file's ``sources`` or the
word ``assumption``; the loader rejects a value without a source, or a source that is not listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.shedding.assay import Assay
from atmp_hta.planners.shedding.design import MatrixKinetics, StudyDesign

__all__ = ["SheddingDefaults", "load_shedding_defaults", "DEFAULT_PATH", "ASSUMPTION"]

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "parameters" / "planners" / "shedding_aav.yaml"
ASSUMPTION = "assumption"


class Cited(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any
    source: str
    note: str | None = None


class _Matrix(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peak_log10: Cited
    peak_log10_sd: Cited
    peak_day: Cited
    peak_day_log_sd: Cited
    decay_log10_per_day: Cited
    decay_log_sd: Cited
    rise_log10_per_day: Cited
    residual_sd: Cited
    fraction_shedding: Cited
    cost_per_sample: Cited


class _Assay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Cited
    extraction_volume_ml: Cited
    elution_volume_ul: Cited
    template_volume_ul: Cited
    recovery: Cited
    replicates: Cited
    loq_copies_per_ml: Cited
    lod_copies_per_reaction: Cited


class _Design(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matrices: Cited
    n_patients: Cited
    consecutive: Cited
    missing: Cited
    stop_at_clearance: Cited
    p_missing: Cited
    rule_start_day: Cited
    schedules: Cited
    risk_percentile: Cited
    margin_days: Cited


class _Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str
    inn: str
    region: str
    matrix: str
    precaution: str
    period_days: float
    period_text: str
    source: str
    verified: bool
    note: str | None = None


class SheddingDefaults(BaseModel):
    """The validated defaults file. Use the methods to get planner objects."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1]
    name: str
    time_unit: Literal["days"]
    sources: dict[str, str]
    assay: _Assay
    matrices: dict[str, _Matrix]
    design: _Design
    labels: list[_Label]

    @model_validator(mode="after")
    def _sources_exist(self):
        known = set(self.sources) | {ASSUMPTION}
        for path, cited in self._cited():
            if cited.source not in known:
                raise ValueError(f"{path}.source must be one of the keys of 'sources' or '{ASSUMPTION}'; "
                                 f"got {cited.source!r}")
        for i, lab in enumerate(self.labels):
            if lab.source not in self.sources:
                raise ValueError(f"labels[{i}].source must be a key of 'sources'; got {lab.source!r}")
        for m in self.design.matrices.value:
            if m not in self.matrices:
                raise ValueError(f"design.matrices lists {m!r}, which has no entry under 'matrices'")
        return self

    def _cited(self):
        for name, c in self.assay:
            yield f"assay.{name}", c
        for m, mat in self.matrices.items():
            for name, c in mat:
                yield f"matrices.{m}.{name}", c
        for name, c in self.design:
            yield f"design.{name}", c

    def provenance(self) -> pd.DataFrame:
        """One row per value: ``field, value, source, note, is_assumption``."""
        rows = [{"field": p, "value": c.value, "source": c.source, "note": c.note,
                 "is_assumption": c.source == ASSUMPTION} for p, c in self._cited()]
        return pd.DataFrame(rows)

    def kinetics(self) -> dict[str, MatrixKinetics]:
        out = {}
        for m, mat in self.matrices.items():
            vals = {k: c.value for k, c in mat if k != "cost_per_sample"}
            out[m] = MatrixKinetics(matrix=m, **vals)
        return out

    def costs(self) -> dict[str, float]:
        return {m: float(mat.cost_per_sample.value) for m, mat in self.matrices.items()}

    def default_assay(self) -> Assay:
        return Assay(**{k: c.value for k, c in self.assay})

    def assays(self) -> dict[str, Assay]:
        a = self.default_assay()
        return {m: a for m in self.matrices}

    def schedules(self) -> dict[str, list[float]]:
        return {k: [float(x) for x in v] for k, v in self.design.schedules.value.items()}

    def study_design(self, schedule: str | None = None) -> StudyDesign:
        scheds = self.schedules()
        name = schedule if schedule is not None else next(iter(scheds))
        if name not in scheds:
            raise ParameterError(f"The 'schedule' parameter of study_design must be one of {list(scheds)}. "
                                 f"Got {name!r}.", field="schedule")
        d = self.design
        return StudyDesign(visits_days=scheds[name], n_patients=int(d.n_patients.value),
                           matrices=list(d.matrices.value), consecutive=int(d.consecutive.value),
                           missing=d.missing.value, stop_at_clearance=bool(d.stop_at_clearance.value),
                           p_missing=float(d.p_missing.value), rule_start_day=float(d.rule_start_day.value),
                           name=name)

    def labels_frame(self) -> pd.DataFrame:
        """Published label precaution periods (sanity references), with their citation text."""
        df = pd.DataFrame([lab.model_dump() for lab in self.labels])
        df["reference"] = df["source"].map(self.sources)
        return df


def load_shedding_defaults(path=None) -> SheddingDefaults:
    """Read and validate the shedding defaults (``parameters/planners/shedding_aav.yaml`` by default).

    Raises
    ------
    ParameterError
        The file is missing, not YAML, or fails validation; the message names the field.

    Examples
    --------
    >>> d = load_shedding_defaults()
    >>> sorted(d.kinetics())[:3]
    ['blood', 'saliva', 'semen']
    >>> bool(d.provenance()["source"].isin(list(d.sources) + ["assumption"]).all())
    True
    """
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"The 'path' parameter of load_shedding_defaults must be a readable YAML file. "
                             f"Got {str(p)!r} ({exc.strerror}).", field="path") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"The 'path' parameter of load_shedding_defaults must be valid YAML. Got {str(p)!r}: "
                             f"{exc}.", field="path") from None
    try:
        return SheddingDefaults.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(file)"
        raise ParameterError(f"{p.name}: field '{loc}': {err['msg']}.", field=loc) from None
