"""qPCR Poisson detection and volume conversions, checked against hand-computed values."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atmp_hta.planners.shedding import (
    Assay,
    copies_per_ml_from_reaction,
    copies_per_reaction_from_ml,
    detection_probability,
    limit_of_detection,
    sample_ml_per_reaction,
)


def test_poisson_lod_by_hand():
    # LOD95 = −ln(0.05) = ln 20 = 2.995732...
    assert limit_of_detection() == pytest.approx(2.995732273553991, abs=1e-12)
    assert limit_of_detection(0.5) == pytest.approx(math.log(2), abs=1e-12)
    assert limit_of_detection(0.95, replicates=3) == pytest.approx(math.log(20) / 3)
    assert detection_probability(limit_of_detection()) == pytest.approx(0.95, abs=1e-12)
    assert detection_probability(0.0) == 0.0
    assert detection_probability(1.0) == pytest.approx(1 - math.exp(-1))          # 0.632121
    assert detection_probability([1.0, 2.0]) == pytest.approx([0.6321205588, 0.8646647168])
    assert detection_probability(1e-12) == pytest.approx(1e-12, rel=1e-9)         # no cancellation


def test_volume_conversions_by_hand():
    # 0.2 mL extracted, 50 % recovery, eluted in 100 µL, 5 µL template: 0.2 × 0.5 × 5/100 = 0.005 mL/reaction
    assert sample_ml_per_reaction(0.2, 100, 5, recovery=0.5) == pytest.approx(0.005)
    assert copies_per_reaction_from_ml(1000.0, 0.2, 100, 5, recovery=0.5) == pytest.approx(5.0)
    assert copies_per_ml_from_reaction(3.0, 0.2, 100, 5, recovery=0.5) == pytest.approx(600.0)
    a = Assay(0.2, 100, 5, loq_copies_per_ml=1000.0, recovery=0.5)
    assert a.lod95_copies_per_ml == pytest.approx(math.log(20) / 0.005)            # 599.15 copies/mL
    assert a.detection_probability(a.lod95_copies_per_ml) == pytest.approx(0.95)
    emp = Assay(0.2, 100, 5, loq_copies_per_ml=1000.0, lod_copies_per_reaction=10.0)
    assert emp.lod95_copies_per_ml == pytest.approx(10.0 / 0.01)
    assert emp.detection_probability(1000.0) == pytest.approx(0.95)


@given(st.floats(0, 1e7), st.floats(0.01, 5), st.floats(10, 200), st.floats(1, 10), st.floats(0.05, 1))
def test_conversion_round_trip(c, vol, elu, tmpl, rec):
    lam = copies_per_reaction_from_ml(c, vol, elu, tmpl, rec)
    assert copies_per_ml_from_reaction(lam, vol, elu, tmpl, rec) == pytest.approx(c, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: detection_probability(-1.0), r"'copies_per_reaction'.*>= 0\. Got -1\.0"),
    (lambda: limit_of_detection(1.0), r"'probability' parameter of limit_of_detection must be in \(0, 1\)"),
    (lambda: limit_of_detection(0.95, replicates=0), r"'replicates'"),
    (lambda: sample_ml_per_reaction(0.2, 10, 20), r"'template_volume_ul'.*at most elution_volume_ul"),
    (lambda: sample_ml_per_reaction(0.2, 100, 5, recovery=1.5), r"'recovery'"),
    (lambda: Assay(0.2, 100, 5, loq_copies_per_ml=0.0), r"'loq_copies_per_ml'"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_vectorised_detection_probability_is_monotone():
    x = np.linspace(0, 10, 101)
    p = detection_probability(x)
    assert np.all(np.diff(p) > 0) and p[0] == 0 and p[-1] < 1


@pytest.mark.parametrize("call, message", [
    # the volume check is shared; its message names the function the user called, not the shared helper
    (lambda: copies_per_reaction_from_ml(1.0, -0.2, 100, 5),
     "The 'extraction_volume_ml' parameter of copies_per_reaction_from_ml must be a number > 0. Got -0.2."),
    (lambda: copies_per_ml_from_reaction(1.0, 0.2, 10, 20),
     "The 'template_volume_ul' parameter of copies_per_ml_from_reaction must be at most elution_volume_ul (10). "
     "Got 20."),
    (lambda: Assay(0.2, 100, 5, loq_copies_per_ml=1000.0, recovery=0.0),
     "The 'recovery' parameter of Assay must be in (0, 1]. Got 0.0."),
    (lambda: sample_ml_per_reaction(0.2, 0, 5),
     "The 'elution_volume_ul' parameter of sample_ml_per_reaction must be a number > 0. Got 0."),
    # values that are not numbers get the same message (field, allowed range, value), not float()'s
    (lambda: limit_of_detection("x"), "The 'probability' parameter of limit_of_detection must be in (0, 1). Got 'x'."),
    (lambda: limit_of_detection(0.95, replicates="two"),
     "The 'replicates' parameter of limit_of_detection must be a whole number >= 1. Got 'two'."),
    (lambda: detection_probability("x"),
     "The 'copies_per_reaction' parameter of detection_probability must be finite numbers >= 0. Got 'x'."),
    (lambda: sample_ml_per_reaction(None, 100, 5),
     "The 'extraction_volume_ml' parameter of sample_ml_per_reaction must be a number > 0. Got None."),
    (lambda: copies_per_reaction_from_ml([1.0, "x"], 0.2, 100, 5),
     "The 'copies_per_ml' parameter of copies_per_reaction_from_ml must be finite numbers >= 0. Got [1, 'x']."),
    (lambda: Assay(0.2, 100, 5, loq_copies_per_ml="high"),
     "The 'loq_copies_per_ml' parameter of Assay must be a number > 0. Got 'high'."),
])
def test_messages_name_the_function_called_and_the_value(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message
