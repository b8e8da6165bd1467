"""The teaching exercises' reference answers against hand calculations."""

import math

import pytest

from atmp_hta.teaching import EXERCISES, check, reference_answer

HAND = {
    "1.1": 0.8 * (1 - 1.035**-10) / 0.035,                       # annuity formula: 6.6533
    "1.2": 0.2 * ((1 - 1.035**-20) / 0.035 - (1 - 1.035**-5) / 0.035),
    "1.3": 0.8 * (1 - math.exp(-10 * math.log(1.035))) / math.log(1.035),
    "2.1": 1.2,   # absolute 12.5 >= 12 (and proportional 0.893 >= 0.85): NICE PMG36 table 6.1
    "2.2": 1.12,  # 1 + 0.2 * 0.6
    "2.3": 3.4,   # absolute shortfall 18 -> weight 1.7; 1.7 * 2
    "3.1": -math.log((1 + math.exp(-2)) / 2),                  # 0.566219
    "4.1": 0.25,  # E[max(NV, 0)] = (1 + 0 + 0.5 + 0.5) / 4 = 0.5; max(E[NV], 0) = 0.25
    "4.2": 125.0,  # 50 * 10 * 0.25
}


@pytest.mark.parametrize("exercise", sorted(HAND))
def test_reference_answers_match_hand_calculations(exercise):
    assert reference_answer(exercise) == pytest.approx(HAND[exercise], rel=1e-9)


def test_tipping_point_exercise_is_between_current_and_one():
    assert 0.11 < reference_answer("3.2") < 1.0


def test_check_messages():
    assert check("2.2", 1.12) == "✓ 2.2 correct."
    assert check("2.2", 1.2).startswith("✗ 2.2 not yet") and "Hint" in check("2.2", 1.2)
    assert check("2.2", "abc").startswith("✗ 2.2: the answer should be a number")
    with pytest.raises(ValueError, match="'exercise'"):
        check("9.9", 1)


def test_every_exercise_has_a_question_and_hint():
    for ex in EXERCISES.values():
        assert ex.question.endswith("?") and ex.hint
