"""The teaching exercises' reference answers against hand calculations."""

import math
import re
from pathlib import Path

import nbformat
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.teaching import EXERCISES, check, reference_answer
from atmp_hta.workbooks import teaching_inputs

TEACHING = sorted((Path(__file__).resolve().parents[1] / "notebooks" / "teaching").glob("*.ipynb"))

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


def test_teaching_inputs_accepts_numbers_and_none():
    answers = teaching_inputs(1, answer_1_1=6.65, answer_1_2=2, answer_1_3=None)
    assert (answers.answer_1_1, answers.answer_1_2, answers.answer_1_3) == (6.65, 2.0, None)
    assert teaching_inputs(4).answer_4_1 is None  # nothing answered yet


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"answer_1_1": "6.65"}, r"^workbook parameter 'answer_1_1': Input should be a valid number \(got '6.65'\)$"),
        ({"answer_1_1": True}, r"'answer_1_1': Input should be a valid number \(got True\)"),
        ({"answer_1_2": float("nan")}, r"'answer_1_2': Input should be a finite number \(got nan\)"),
        ({"answer_1_4": 1.0}, r"'answer_1_4': Extra inputs are not permitted"),  # no exercise 1.4
        ({"answer_2_1": 1.2}, r"'answer_2_1': Extra inputs are not permitted"),  # another workshop's answer
    ],
)
def test_teaching_inputs_names_the_bad_answer(answers, message):
    with pytest.raises(ParameterError, match=message) as info:
        teaching_inputs(1, **answers)
    assert info.value.field == next(iter(answers))


def test_teaching_inputs_needs_a_workshop_with_exercises():
    with pytest.raises(ParameterError, match=r"'workshop' parameter of teaching_inputs must be one of \[1, 2, 3, 4\]"):
        teaching_inputs(9)


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.stem)
def test_teaching_workbooks_validate_exactly_their_exercises(path):
    nb = nbformat.read(path, as_version=4)
    workshop = int(path.stem.split("_")[0])
    expected = {f"answer_{i.replace('.', '_')}" for i in EXERCISES if i.split(".")[0] == str(workshop)}
    parameters = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert set(re.findall(r"^(answer_\d+_\d+):", parameters, re.M)) == expected
    # the cell after the parameters validates every one of them through atmp_hta.workbooks.teaching_inputs
    validation = nb.cells[[c.metadata.get("tags", []) for c in nb.cells].index(["parameters"]) + 1].source
    call = re.search(r"teaching_inputs\((?:\s*#[^\n]*)?\s*(\d+),(.*?)\)", validation, re.S)
    assert call and int(call.group(1)) == workshop
    assert set(re.findall(r"(answer_\d+_\d+)=\1", call.group(2))) == expected
