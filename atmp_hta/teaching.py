"""Self-check exercises of the teaching workbooks (``notebooks/teaching/``).

Each exercise has a question, a reference answer computed by the package (never typed in), a tolerance
and a hint. :func:`check` tells a learner whether an answer is right, without revealing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Exercise", "EXERCISES", "check", "reference_answer"]

_PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"


@dataclass(frozen=True)
class Exercise:
    question: str
    answer: Callable[[], float]
    tolerance: float
    hint: str


def _q11():
    from atmp_hta.discounting import discounted_qalys

    return float(discounted_qalys(0.8, 10, 0.035, "end"))


def _q12():
    from atmp_hta.discounting import discounted_qalys

    return float(discounted_qalys(0.2, 20, 0.035, "end") - discounted_qalys(0.2, 5, 0.035, "end"))


def _q13():
    from atmp_hta.discounting import discounted_qalys

    return float(discounted_qalys(0.8, 10, 0.035, "continuous"))


def _q21():
    from atmp_hta.severity import qaly_shortfall, severity_weight

    return float(severity_weight(*qaly_shortfall(14.0, 1.5)))


def _q22():
    from atmp_hta.severity import unmet_need_weight

    return float(unmet_need_weight(0.6, 0.2, "linear"))


def _q23():
    from atmp_hta.severity import qaly_shortfall, severity_weight

    # weighted benefit of 2 QALYs gained by patients with 2 QALYs on current care, population 20
    return float(2.0 * severity_weight(*qaly_shortfall(20.0, 2.0)))


def _q31():
    from atmp_hta.risk import certainty_equivalent

    return float(certainty_equivalent([0.0, 2.0], 1.0, "cara"))


def _q32():
    from atmp_hta.benefit_risk import tipping_point
    from atmp_hta.params import load_parameters

    return float(tipping_point(load_parameters(_PARAMETERS / "elivaldogene_autotemcel.yaml"), "p_oncogenesis",
                               rng=1))


def _q41():
    from atmp_hta.decision import evpi

    return evpi([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.0], [0.5, 0.0]])


def _q42():
    return 50 * 10 * _q41()


EXERCISES: dict[str, Exercise] = {
    "1.1": Exercise("Discounted QALYs of 10 years at utility 0.8, 3.5% a year, counted at the end of each year?",
                    _q11, 1e-3, "Sum 0.8 / 1.035^k for k = 1..10, or 0.8 · (1 − 1.035^−10) / 0.035."),
    "1.2": Exercise("A gene therapy adds 0.2 utility. How many more discounted QALYs (3.5%, end of year) if the "
                    "effect lasts 20 years rather than 5?", _q12, 1e-3,
                    "Compute the annuity for 20 years and for 5 years; the difference times 0.2."),
    "1.3": Exercise("Same as 1.1 but discounting continuously with ρ = ln(1.035)?", _q13, 1e-3,
                    "0.8 · (1 − e^(−10ρ)) / ρ."),
    "2.1": Exercise("General population 14 QALYs, current care 1.5 QALYs: the NICE 2022 severity weight?", _q21,
                    1e-9, "Absolute shortfall 14 − 1.5; proportional shortfall that over 14; which row of table 6.1?"),
    "2.2": Exercise("Unmet need 0.6, maximum uplift 0.2, linear scheme: the unmet-need weight?", _q22, 1e-9,
                    "1 + m · n."),
    "2.3": Exercise("2 QALYs gained by patients with 2 QALYs on current care (population 20): the severity-"
                    "weighted benefit?", _q23, 1e-9, "Absolute shortfall 18: which weight?"),
    "3.1": Exercise("A 50:50 gamble between 0 and 2 QALYs: its certainty equivalent with CARA risk aversion r = 1?",
                    _q31, 1e-3, "−(1/r) · ln(½ e^0 + ½ e^(−2r))."),
    "3.2": Exercise("Elivaldogene autotemcel: the probability of haematological cancer at which the decision flips?",
                    _q32, 5e-3, "Use tipping_point(parameter_set, 'p_oncogenesis')."),
    "4.1": Exercise("Net value of approval in four equally likely worlds: +1, −1, +0.5, +0.5 QALYs "
                    "(rejecting gives 0). The EVPI per patient?", _q41, 1e-9,
                    "E[max(NV, 0)] − max(E[NV], 0): what you would gain if you knew which world you are in."),
    "4.2": Exercise("With 50 patients a year for 10 years (undiscounted), the population EVPI?", _q42, 1e-6,
                    "Per-patient EVPI times the patients the decision affects."),
}


def reference_answer(exercise: str) -> float:
    """The package's answer to an exercise (for teachers and the tests)."""
    return EXERCISES[exercise].answer()


def check(exercise: str, answer) -> str:
    """Say whether ``answer`` to ``exercise`` is right (within its tolerance), with a hint if not.

    Examples
    --------
    >>> check("2.2", 1.12)
    '✓ 2.2 correct.'
    >>> check("2.2", None).startswith("… 2.2")
    True
    """
    if exercise not in EXERCISES:
        raise ValueError(f"The 'exercise' parameter of check must be one of {sorted(EXERCISES)}. Got {exercise!r}.")
    ex = EXERCISES[exercise]
    if answer is None:
        return f"… {exercise}: write your answer in the parameters cell (or below) and run this cell again."
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return f"✗ {exercise}: the answer should be a number, got {answer!r}."
    expected = ex.answer()
    if math.isclose(value, expected, rel_tol=ex.tolerance, abs_tol=ex.tolerance):
        return f"✓ {exercise} correct."
    return f"✗ {exercise} not yet ({value:g} is off). Hint: {ex.hint}"
