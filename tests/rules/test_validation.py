"""A rule is checked when it is saved; bad rows and groups say what to fix."""

import pytest
from django.core.exceptions import ValidationError

from rules.validation import parse_condition, validate_conditions, validate_effects

pytestmark = pytest.mark.django_db


def messages_of(exc_info) -> str:
    return " ".join(exc_info.value.messages)


def test_an_unknown_attribute_is_refused_with_the_known_ones():
    """The message lists the attributes a manager can pick."""
    with pytest.raises(ValidationError) as exc:
        parse_condition("shoe_size", "gt", "42")

    assert "Unknown attribute 'shoe_size'" in messages_of(exc)
    assert "customer_open_total" in messages_of(exc)


def test_an_operator_that_does_not_fit_the_type_is_refused():
    """Greater-than makes no sense for the customer kind; the message lists =, ≠ …"""
    with pytest.raises(ValidationError) as exc:
        parse_condition("customer_kind", "gt", "business")

    assert "does not apply to a choice attribute" in messages_of(exc)
    assert "is one of" in messages_of(exc)


def test_a_value_that_is_not_a_number_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_condition("claim_amount", "gt", "five thousand")

    assert "'five thousand' is not an amount" in messages_of(exc)
    assert "e.g. 5000" in messages_of(exc)


def test_a_choice_outside_the_allowed_set_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_condition("customer_kind", "eq", "company")

    assert "choose one of consumer, business" in messages_of(exc)


def test_a_yes_no_attribute_takes_yes_or_no():
    assert parse_condition("first_invoice", "eq", "Yes").value is True
    with pytest.raises(ValidationError) as exc:
        parse_condition("first_invoice", "eq", "maybe")
    assert "write yes or no" in messages_of(exc)


def test_a_list_value_is_split_on_commas():
    parsed = parse_condition("country", "in", "de, at ,CH")

    assert parsed.value == frozenset({"DE", "AT", "CH"})


def test_bounds_that_exclude_each_other_in_one_group_are_refused():
    """amount > 5000 AND amount < 100 can never hold."""
    rows = [
        (1, "claim_amount", "gt", "5000"),
        (1, "claim_amount", "lt", "100"),
    ]

    with pytest.raises(ValidationError) as exc:
        validate_conditions(rows)

    text = messages_of(exc)
    assert text.startswith("Group 1: No value satisfies")
    assert "Widen one bound, or put the rows in different groups" in text


def test_two_kinds_in_one_group_are_refused_but_allowed_in_two_groups():
    """kind = business AND kind = consumer is a contradiction; OR is fine."""
    with pytest.raises(ValidationError) as exc:
        validate_conditions(
            [
                (1, "customer_kind", "eq", "business"),
                (1, "customer_kind", "eq", "consumer"),
            ]
        )
    assert "No customer kind satisfies" in messages_of(exc)

    groups = validate_conditions(
        [
            (1, "customer_kind", "eq", "business"),
            (2, "customer_kind", "eq", "consumer"),
        ]
    )
    assert len(groups) == 2


def test_an_equal_value_outside_a_range_and_excluded_choices_are_refused():
    with pytest.raises(ValidationError):
        validate_conditions(
            [(1, "days_overdue", "eq", "10"), (1, "days_overdue", "gte", "30")]
        )
    with pytest.raises(ValidationError):
        validate_conditions([(1, "customer_kind", "not_in", "business, consumer")])


def test_touching_bounds_that_still_allow_one_value_are_accepted():
    validate_conditions(
        [(1, "days_overdue", "gte", "30"), (1, "days_overdue", "lte", "30")]
    )


def test_a_rule_without_effect_or_with_a_cap_below_its_tone_is_refused():
    from rules.models import Rule

    with pytest.raises(ValidationError) as exc:
        validate_effects(Rule(name="nothing"))
    assert "The rule has no effect" in messages_of(exc)

    with pytest.raises(ValidationError) as exc:
        validate_effects(Rule(name="odd", tone="firm", tone_cap="neutral"))
    assert "capped at neutral" in messages_of(exc)
