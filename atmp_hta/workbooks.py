"""What the workbooks in ``notebooks/`` call: parameter validation, chart set-up, tables for reports.

Workbooks stay thin (DESIGN.md): a parameters cell, a validation cell calling one of the ``*_inputs``
functions here, then calls into the package. Papermill only *warns* about unknown parameter names, so the
validation functions take every parameter by keyword and refuse anything unexpected.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from atmp_hta.exceptions import ParameterError
from atmp_hta.params import ParameterSet, load_parameters
from atmp_hta.records import format_result

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "PARAMETERS_DIR",
    "resolve_file",
    "resolve_parameter_file",
    "validate_workbook",
    "BenefitRiskInputs",
    "benefit_risk_inputs",
    "teaching_inputs",
    "display_table",
    "results_table",
    "use_static_charts",
]

PARAMETERS_DIR = Path(__file__).resolve().parents[1] / "parameters"


def resolve_file(name, folder, field: str = "parameter_file", pattern: str = "*.yaml", where: str = "") -> Path:
    """An existing path as given, else a file of that name in ``folder`` (the bundled examples)."""
    path = Path(name)
    if path.is_file():
        return path.resolve()
    bundled = Path(folder) / path.name
    if bundled.is_file():
        return bundled
    of = f" of {where}" if where else ""
    raise ParameterError(
        f"The '{field}' parameter{of} must name an existing YAML file (or one of "
        f"{sorted(p.name for p in Path(folder).glob(pattern))}). Got {str(name)!r}.",
        field=field,
    )


def resolve_parameter_file(name) -> Path:
    """An existing path as given, else a file of that name among the bundled parameter sets."""
    return resolve_file(name, PARAMETERS_DIR)


def validate_workbook(model: type[BaseModel], parameters: dict):
    """Validate a workbook's parameters with ``model`` (pydantic), raising one clear ParameterError."""
    try:
        return model.model_validate(parameters)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ParameterError(
            f"workbook parameter '{field}': {err['msg'].removeprefix('Value error, ')} "
            f"(got {err.get('input')!r})", field=field
        ) from None


class BenefitRiskInputs(BaseModel):
    """The parameters of ``notebooks/benefit_risk.ipynb``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    parameter_file: str
    n_draws: int = Field(100_000, ge=1, le=5_000_000)
    seed: int = Field(1, ge=0)
    tipping_parameters: list[str] = Field(default_factory=list)
    results_path: str | None = None
    parameter_set: ParameterSet | None = None


def benefit_risk_inputs(**parameters) -> BenefitRiskInputs:
    """Validate the workbook's parameters and load its parameter file.

    Raises
    ------
    ParameterError
        naming the parameter, its allowed range and the value received.
    """
    inputs = validate_workbook(BenefitRiskInputs, parameters)
    ps = load_parameters(resolve_parameter_file(inputs.parameter_file))
    unknown = [n for n in inputs.tipping_parameters if n not in ps.names]
    if unknown:
        raise ParameterError(
            f"The 'tipping_parameters' parameter must name parameters of {ps.path}: one of "
            f"{sorted(ps.names)}. Got {unknown}.", field="tipping_parameters"
        )
    return inputs.model_copy(update={"parameter_set": ps})


def teaching_inputs(workshop: int, **answers) -> BaseModel:
    """Validate the answers of a teaching workbook (``notebooks/teaching/0<workshop>_*.ipynb``).

    Every keyword must be ``answer_<workshop>_<k>`` for an exercise ``<workshop>.<k>`` of
    :data:`atmp_hta.teaching.EXERCISES`, and each answer a finite number or ``None`` (not answered yet).

    Returns
    -------
    pydantic.BaseModel
        The answers as attributes (``.answer_1_1``), ``None`` where not given.

    Raises
    ------
    ParameterError
        Naming the answer, what it must be and the value received.

    Examples
    --------
    >>> teaching_inputs(2, answer_2_1=1.2, answer_2_2=None).answer_2_1
    1.2
    >>> teaching_inputs(2, answer_2_1="1.2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: workbook parameter 'answer_2_1': Input should be a valid number (got '1.2')
    """
    from atmp_hta.teaching import EXERCISES

    ids = [i for i in EXERCISES if i.split(".")[0] == str(workshop)]
    if isinstance(workshop, bool) or not ids:
        numbers = sorted({int(i.split(".")[0]) for i in EXERCISES})
        raise ParameterError(
            f"The 'workshop' parameter of teaching_inputs must be one of {numbers}. Got {workshop!r}.",
            field="workshop",
        )
    answer = (float | None, Field(None, strict=True))
    model = create_model(
        f"Workshop{workshop}Answers",
        __config__=ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False),
        **{f"answer_{i.replace('.', '_')}": answer for i in ids},
    )
    return validate_workbook(model, answers)


_TABLE_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; max-width: 100%;"},
    {"selector": "th", "props": "text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #999;"},
    {
        "selector": "td",
        "props": "text-align: left; vertical-align: top; padding: 0.25em 0.6em; white-space: normal; "
        "overflow-wrap: break-word; border-bottom: 1px solid #ddd;",
    },
]


def display_table(frame: pd.DataFrame, digits: int = 4) -> Styler:
    """A result table as a reader should see it in a workbook and its report.

    Every text shown whole (no ``...``), no pandas row numbers, missing values (None, NaN) as "—", numbers
    to ``digits`` significant digits (:func:`atmp_hta.records.format_result`), long text wrapped, text
    HTML-escaped. Only the display changes: ``frame`` is not modified.

    Returns
    -------
    pandas.io.formats.style.Styler
        Displayed as HTML by Jupyter and kept in HTML reports.
    """
    return (
        frame.style.hide(axis="index")
        .format(lambda value: format_result(value, digits), escape="html")
        .set_table_styles(_TABLE_STYLES)
    )


def results_table(results: Mapping[str, Any], digits: int = 4) -> Styler:
    """Recorded results as a two-column table (result, value) for the workbook and its report.

    The numbers are formatted for reading (see :func:`display_table`); the recorded JSON keeps full precision.
    Nested mappings are shown as ``outer.inner`` rows, as in the batch summary.
    """
    import pandas as pd

    def rows(mapping: Mapping[str, Any], prefix: str = ""):
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                yield from rows(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    frame = pd.DataFrame(list(rows(results)), columns=["result", "value"], dtype=object)
    return display_table(frame, digits)


def use_static_charts():
    """Render Altair charts as inline SVG (vl-convert): they then survive HTML export and work offline."""
    import altair as alt

    alt.renderers.enable("svg")
