"""Policy packs: the shipped NICE and ICER packs carry the values of their sources; bad packs are named."""

import pytest
import yaml

from atmp_hta.exceptions import ParameterError
from atmp_hta.policies import POLICIES_DIR, available_policies, load_policy, parse_policy
from atmp_hta.severity import NICE_2022


def test_nice_pack():
    pack = load_policy("nice")
    # NICE PMG36 (2022): 3.5% costs and effects (4.5.1); 1.5% non-reference case under conditions (section 4.5);
    # GBP 20,000-30,000 per QALY (chapter 6); severity weights 1.2 and 1.7 (table 6.1)
    ref = pack.discounting.reference_case
    assert (ref.costs, ref.effects, ref.paragraphs) == (0.035, 0.035, "4.5.1")
    alt = pack.discounting.alternatives[0]
    assert (alt.costs, alt.effects) == (0.015, 0.015) and len(alt.conditions) >= 3
    assert (pack.thresholds.low, pack.thresholds.high, pack.currency) == (20_000, 30_000, "GBP")
    levels = tuple((lv.weight, lv.proportional_at_least, lv.absolute_at_least) for lv in pack.severity.levels)
    assert levels == NICE_2022 and pack.severity.applies_to == "qalys"
    assert "PMG36" in pack.citation(pack.severity)


def test_nice_pack_cites_the_manual_itself():
    # every rule cites NICE's manual PMG36 (2022) by section or paragraph; no unverified secondary summary is a
    # source (one, "not checked against the manual itself", used to be)
    pack = load_policy("nice")
    assert list(pack.sources) == ["pmg36"]
    assert "PMG36" in pack.sources["pmg36"] and "31 January 2022" in pack.sources["pmg36"]
    assert "not checked" not in " ".join(pack.sources.values())
    rules = [pack.discounting.reference_case, *pack.discounting.alternatives, pack.thresholds, pack.severity]
    assert all(rule.source == "pmg36" and rule.paragraphs for rule in rules)
    assert pack.discounting.reference_case.paragraphs.startswith("4.5")
    assert "4.5" in pack.discounting.alternatives[0].paragraphs
    assert pack.severity.paragraphs.startswith("6.2.12")
    assert "20,000" in pack.thresholds.paragraphs and "30,000" in pack.thresholds.paragraphs


def test_icer_pack():
    pack = load_policy("icer")
    # ICER 2020-2023 Value Assessment Framework: 3% discounting, USD 100,000-150,000 per QALY; SST
    # adaptations (2019): 50% shared savings and a USD 150,000 per year cost-offset cap
    assert (pack.thresholds.low, pack.thresholds.high, pack.currency) == (100_000, 150_000, "USD")
    assert pack.discounting.reference_case.costs == 0.03 and pack.severity.scheme == "none"
    assert pack.scenario("shared-savings-50").share == 0.5
    assert pack.scenario("cost-offset-cap").cap_per_year == 150_000
    with pytest.raises(ParameterError, match="'scenario' parameter of PolicyPack.scenario must be one of"):
        pack.scenario("nope")


def test_every_shipped_pack_loads_by_name_and_path():
    assert {"nice", "icer"} <= set(available_policies())
    for name in available_policies():
        assert load_policy(POLICIES_DIR / f"{name}.yaml") == load_policy(name)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["discounting"]["reference_case"].update(costs=1.5),
     "field 'discounting.reference_case.costs': Input should be less than 1. Got 1.5."),
    (lambda d: d["thresholds"].update(low=40_000),
     "field 'thresholds': low (40000.0) must not exceed high (30000.0)"),
    (lambda d: d["severity"].update(source="nowhere"), "severity.source 'nowhere' is not a key of sources"),
    (lambda d: d["severity"]["levels"].reverse(), "levels must be listed from the highest weight down"),
    (lambda d: d.update(surprise=1), "field 'surprise': Extra inputs are not permitted"),
])
def test_bad_packs_are_named(edit, message):
    data = yaml.safe_load((POLICIES_DIR / "nice.yaml").read_text())
    edit(data)
    with pytest.raises(ParameterError) as info:
        parse_policy(data, "nice.yaml")
    assert message in str(info.value) and str(info.value).startswith("nice.yaml: ")


def test_unknown_pack_name():
    with pytest.raises(ParameterError, match="'name' parameter of load_policy must be one of"):
        load_policy("iqwig")
