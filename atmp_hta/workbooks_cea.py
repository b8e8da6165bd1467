"""What ``notebooks/cost_effectiveness.ipynb`` calls: validation of its parameters and its key results.

Kept beside :mod:`atmp_hta.workbooks` (which serves the benefit–risk workbook) so the cost-effectiveness
workbook stays thin: a parameters cell, :func:`cost_effectiveness_inputs`, then calls into the package.
Papermill only warns about unknown parameter names, so every parameter is taken by keyword and anything
unexpected is refused.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from atmp_hta.cea import ceac, evpi_by_wtp
from atmp_hta.exceptions import ParameterError
from atmp_hta.hta_model import (
    HtaModel,
    base_values,
    cea_summary,
    evaluate_cea,
    load_hta_model,
    parameter_bounds,
    uncertain_parameters,
)
from atmp_hta.voi import evppi_table
from atmp_hta.workbooks import validate_workbook

__all__ = ["CostEffectivenessInputs", "cost_effectiveness_inputs", "wtp_grid", "cea_analysis", "parameter_label"]


class CostEffectivenessInputs(BaseModel):
    """The parameters of ``notebooks/cost_effectiveness.ipynb``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    model_file: str
    n_draws: int = Field(20_000, ge=2, le=2_000_000)
    seed: int = Field(1, ge=0)
    thresholds: list[float] = Field(default_factory=list)
    max_wtp: float = Field(200_000, gt=0)
    evppi_parameters: list[str] = Field(default_factory=list)
    evppi_wtp: float = Field(0.0, ge=0)
    two_way_parameters: list[str] = Field(default_factory=lambda: ["price_axicel", "cure_pfs_axicel"])
    threshold_parameter: str = "price_axicel"
    results_path: str | None = None
    model: HtaModel | None = None


def cost_effectiveness_inputs(**parameters) -> CostEffectivenessInputs:
    """Validate the workbook's parameters and load its model file.

    Raises
    ------
    ParameterError
        naming the parameter, its allowed range and the value received.
    """
    inputs = validate_workbook(CostEffectivenessInputs, parameters)
    bad = [t for t in inputs.thresholds if not (np.isfinite(t) and t > 0)]
    if bad:
        raise ParameterError(f"The 'thresholds' parameter must hold positive numbers. Got {bad}.", field="thresholds")
    model = load_hta_model(inputs.model_file)
    known = uncertain_parameters(model)
    unknown = [n for n in inputs.evppi_parameters if n not in known]
    if unknown:
        raise ParameterError(f"The 'evppi_parameters' parameter must name uncertain parameters of the model: one "
                             f"of {known}. Got {unknown}.", field="evppi_parameters")
    names = sorted(base_values(model))
    pair = inputs.two_way_parameters
    if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(names):
        raise ParameterError(f"The 'two_way_parameters' parameter must name two different parameters of the model "
                             f"file (x, then y): two of {names}. Got {pair}.", field="two_way_parameters")
    if inputs.threshold_parameter not in names:
        raise ParameterError(f"The 'threshold_parameter' parameter must name a parameter of the model file: one of "
                             f"{names}. Got {inputs.threshold_parameter!r}.", field="threshold_parameter")
    for name in {*pair, inputs.threshold_parameter}:
        parameter_bounds(model, name)  # a parameter fixed at 0 has no default range: say so now
    return inputs.model_copy(update={"model": model})


def parameter_label(model: HtaModel, name: str) -> str:
    """A parameter's label from the model file (its name if it has none), for chart axes.

    Examples
    --------
    >>> parameter_label(load_hta_model("axicabtagene_ciloleucel_cea.yaml"), "cure_pfs_axicel")
    'Cured fraction (PFS), axi-cel'
    """
    root, _, component = name.partition(".")
    label = model.parameters[root].label or root
    return f"{label}: {component}" if component else label


def wtp_grid(max_wtp: float, thresholds=(), n: int = 41) -> np.ndarray:
    """0..max_wtp in n steps, with the thresholds added (sorted, unique)."""
    return np.unique(np.concatenate([np.linspace(0.0, float(max_wtp), n), np.asarray(thresholds, float)]))


def cea_analysis(inputs: CostEffectivenessInputs) -> dict:
    """Everything the workbook shows, computed once: PSA, summary, CEAC, EVPI by WTP, EVPPI.

    The EVPPI (per patient, in the model's currency, with regression standard errors) is at ``evppi_wtp``,
    or, when that is 0, at the willingness to pay of the grid where the EVPI peaks (where information is worth
    most; at the policy thresholds a clear decision makes every EVPPI zero).
    """
    model = inputs.model
    thresholds = inputs.thresholds or model.thresholds
    result = evaluate_cea(model, inputs.n_draws, rng=inputs.seed)
    summary = cea_summary(model, result, thresholds)
    costs, effects = result.matrix("cost"), result.matrix("effect")
    grid = wtp_grid(inputs.max_wtp, thresholds)
    by_wtp = evpi_by_wtp(costs, effects, grid)
    lam = inputs.evppi_wtp or float(by_wtp["wtp"].iloc[int(by_wtp["evpi"].argmax())])
    names = inputs.evppi_parameters or uncertain_parameters(model)
    evppi = evppi_table(effects * lam - costs, {k: result.draws[k] for k in names}, rng=inputs.seed)
    return {"result": result, "summary": summary, "thresholds": list(thresholds),
            "ceac": ceac(costs, effects, grid, result.strategies),
            "evpi_by_wtp": by_wtp, "evppi": evppi, "evppi_wtp": lam}
