"""Pieces shared by the dashboards: the parameter-set catalogue, sliders bound to parameters, HTML views."""

from __future__ import annotations

import base64
import html
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import yaml

from atmp_hta.distributions import KIND_RANGES
from atmp_hta.params import ParameterSet, load_parameters, point_values, to_yaml

__all__ = [
    "PARAMETERS_DIR",
    "catalogue",
    "SliderSpec",
    "slider_specs",
    "make_slider",
    "set_within",
    "readout_digits",
    "LABEL_WIDTH",
    "SLIDER_WIDTH",
    "download_link",
    "data_link",
    "dump_yaml",
    "busy",
    "STYLE",
]

#: Bundled example parameter sets (override with ATMP_HTA_PARAMETERS_DIR).
PARAMETERS_DIR = Path(os.environ.get("ATMP_HTA_PARAMETERS_DIR", Path(__file__).resolve().parents[2] / "parameters"))


def catalogue(directory=None) -> list[tuple[str, str]]:
    """(label, path) of every valid ``*.yaml`` parameter set directly in ``directory``, sorted by label."""
    directory = Path(directory or PARAMETERS_DIR)
    out = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            ps = load_parameters(path)
        except ValueError:
            continue  # an invalid file is reported by `atmp-hta validate`, not offered here
        out.append((ps.product.name, str(path)))
    return sorted(out)


@dataclass(frozen=True)
class SliderSpec:
    """A slider for one parameter (or Dirichlet component): its range comes from the parameter's kind."""

    name: str
    label: str
    kind: str
    value: float
    low: float
    high: float
    step: float
    group: str


def _group(parameter_set: ParameterSet, name: str) -> str:
    base = name.split(".")[0]
    in_harms = any(base in {n.split(".")[0] for n in h.probability.names} for h in parameter_set.harms)
    kind = parameter_set.parameters[base].kind
    if in_harms and kind == "probability":
        return "Harms"
    if kind == "probability":
        return "Efficacy"
    if kind in ("utility", "duration"):
        return "Outcomes"
    return "Population"


def slider_specs(parameter_set: ParameterSet) -> list[SliderSpec]:
    """One slider per parameter (one per Dirichlet component), bounded by the kind's allowed range.

    The range is the kind's allowed range (an unbounded end stops at three times the value, or 1), except
    for a rare value of a [0, 1] kind: a probability or fraction whose tenfold stays within a tenth of the
    range (below 0.01) gets the range [0, 10 × value] rounded up to a nice number, so that the slider can
    resolve it (a secondary malignancy of 0.00083 on [0, 0.01] instead of [0, 1]). Dirichlet components keep
    the full range: their values move when a sibling moves. The step is (range / 400) or (value / 20),
    whichever is finer, rounded up to 1, 2 or 5 times a power of ten.
    """
    points = point_values(parameter_set)
    specs = []
    for name, p in parameter_set.parameters.items():
        names = [f"{name}.{c}" for c in p.components] if p.dirichlet else [name]
        low, high = KIND_RANGES[p.kind]
        for full in names:
            value = float(points[full][0])
            lo = low if math.isfinite(low) else min(0.0, value)
            hi = high if math.isfinite(high) else _nice_ceiling(max(3.0 * abs(value), 1.0))
            if p.kind == "utility":
                lo = max(lo, -0.5)
            if not p.dirichlet and lo == 0.0 and math.isfinite(high) and value > 0:
                narrow = _nice_ceiling(10.0 * value)
                if narrow <= 0.1 * (hi - lo):
                    hi = narrow
            fine = value / 20 if value > 0 else math.inf
            step = _nice_step(min((hi - lo) / 400, fine))
            label = p.label or name
            if p.dirichlet:
                label = f"{full.split('.', 1)[1]} · {label}"
            specs.append(SliderSpec(full, label, p.kind, value, lo, hi, step, _group(parameter_set, full)))
    return specs


def _nice_ceiling(x: float) -> float:
    magnitude = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= x:
            return m * magnitude
    return 10 * magnitude  # pragma: no cover


def _nice_step(x: float) -> float:
    magnitude = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * magnitude >= x:
            return m * magnitude
    return 10 * magnitude  # pragma: no cover


def readout_digits(value: float, step: float) -> int:
    """Decimals a slider's readout needs: enough for its step and for three significant digits of its value
    (a rare probability of 0.000833 reads 0.000833, not 0.001)."""
    digits = -math.floor(math.log10(step))
    if value:
        digits = max(digits, 2 - math.floor(math.log10(abs(value))))
    return min(max(0, digits), 8)


#: Width of a slider's label column and of the whole slider (label, track and readout).
LABEL_WIDTH = "230px"
SLIDER_WIDTH = "470px"


def make_slider(spec: SliderSpec, *, label_width: str = LABEL_WIDTH, width: str = SLIDER_WIDTH) -> widgets.FloatSlider:
    """A slider for ``spec``: its full label beside the track (wrapped onto a second line when long, never
    cut), the label and parameter name as tooltip, and a readout with :func:`readout_digits` decimals.

    Every slider made here has the same label width, so tracks and readouts line up in a column. The
    wrapping needs the rules in :data:`STYLE` (class ``atmp-slider``) on the page.
    """
    digits = readout_digits(spec.value, spec.step)
    tooltip = spec.label if spec.label == spec.name else f"{spec.label} ({spec.name})"
    slider = widgets.FloatSlider(
        value=spec.value, min=spec.low, max=spec.high, step=spec.step, description=spec.label, tooltip=tooltip,
        readout_format=f".{digits}f", continuous_update=False,
        style={"description_width": label_width}, layout=widgets.Layout(width=width, min_width=width),
    )
    slider.add_class("atmp-slider")
    return slider


def set_within(slider, value, low, high) -> None:
    """Set ``slider`` to ``value`` with the range [low, high] widened to take it in (a parameter file's value
    may lie outside a slider's usual range). The range is widened before the value moves and narrowed after,
    so that the value is never clamped on the way."""
    slider.max = max(high, value, slider.value)
    slider.min = min(low, value, slider.value)
    slider.value = value
    slider.min, slider.max = min(low, value), max(high, value)


@contextmanager
def busy(button, progress, status):
    """While heavy work runs behind ``button``: the button disabled and ``progress`` shown; a ValueError from
    the work becomes one sentence in ``status`` (never a traceback), and the controls come back either way."""
    button.disabled = True
    progress.layout.visibility = "visible"
    try:
        yield
    except ValueError as exc:
        status.value = f"<b>could not run:</b> {html.escape(str(exc))}"
    finally:
        button.disabled = False
        progress.layout.visibility = "hidden"


def data_link(text: str, filename: str, label: str, mime: str = "application/x-yaml", css: str = "") -> str:
    """An HTML link that downloads ``text`` as ``filename`` (a data URI: nothing is written on the server)."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    cls = f"atmp-download {css}".strip()
    return (f'<a class="{cls}" download="{html.escape(filename)}" '
            f'href="data:{mime};base64,{payload}">⬇ {html.escape(label)}</a>')


def download_link(parameter_set: ParameterSet, filename: str) -> str:
    """An HTML link that downloads the current inputs as a valid YAML parameter file."""
    return data_link(to_yaml(parameter_set), filename, "Download these inputs (YAML)")


class _FlowListDumper(yaml.SafeDumper):
    """YAML as the bundled files write it: a list of numbers or words on one line."""


_FlowListDumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=all(isinstance(x, (int, float, str)) for x in data)))


def dump_yaml(document) -> str:
    """``document`` as YAML in the bundled files' layout (keys in order, short lists on one line)."""
    return yaml.dump(document, Dumper=_FlowListDumper, sort_keys=False, allow_unicode=True, width=110)


STYLE = """
<style>
.atmp-banner {border-radius: 6px; padding: 10px 16px; color: #fff; font-family: Helvetica, Arial, sans-serif;
  display: flex; gap: 28px; align-items: baseline; flex-wrap: wrap;}
.atmp-banner.approve {background: #1b7f3b;} .atmp-banner.reject {background: #b3261e;}
.atmp-banner.error {background: #6c757d;}
.atmp-banner .atmp-decision {font-size: 26px; font-weight: 700; letter-spacing: 0.04em;}
.atmp-banner .atmp-figure {font-size: 15px;} .atmp-banner .atmp-figure b {font-size: 19px;}
.atmp-conventions {color: #555; font-size: 12px; font-family: Helvetica, Arial, sans-serif; margin: 4px 2px;}
.atmp-tip {font-size: 12px; color: #555; font-family: Helvetica, Arial, sans-serif; padding-top: 6px;
  white-space: nowrap;}
.atmp-tip.near {color: #b3261e; font-weight: 600;}
.atmp-slider.widget-hslider {height: auto; min-height: var(--jp-widgets-inline-height);}
.atmp-slider.widget-hslider .widget-label {white-space: normal; overflow: visible; text-overflow: clip;
  height: auto; line-height: 15px; padding: 2px 0; align-self: center;}
.atmp-group {font-weight: 700; font-family: Helvetica, Arial, sans-serif; margin: 10px 0 2px; color: #333;}
table.atmp-explain {border-collapse: collapse; font-family: Helvetica, Arial, sans-serif; font-size: 13px;}
table.atmp-explain td, table.atmp-explain th {border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left;
  vertical-align: top;}
table.atmp-explain td.num {text-align: right; font-variant-numeric: tabular-nums;}
.atmp-title {font-family: Helvetica, Arial, sans-serif; font-size: 22px; font-weight: 700; margin: 4px 0;}
.atmp-subtitle {font-family: Helvetica, Arial, sans-serif; color: #555; font-size: 13px;}
table.atmp-table {border-collapse: collapse; font-family: Helvetica, Arial, sans-serif; font-size: 12.5px;}
table.atmp-table th {background: #f1f3f5; text-align: left; font-weight: 600;}
table.atmp-table td, table.atmp-table th {border-bottom: 1px solid #ddd; padding: 5px 8px; vertical-align: top;
  line-height: 1.35;}
table.atmp-table td.num, table.atmp-table th.num {text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap;}
table.atmp-table abbr {text-decoration: underline dotted; cursor: help;}
a.atmp-download {color: #1a5fb4; text-decoration: underline; font-family: Helvetica, Arial, sans-serif;
  font-size: 13px;}
.atmp-downloads a {margin-right: 18px;}
.atmp-section {font-weight: 700; font-family: Helvetica, Arial, sans-serif; font-size: 15px; margin: 14px 0 4px;
  color: #222;}
</style>
"""
