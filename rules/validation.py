"""Checks a rule when it is saved: each condition row, each AND group, the effects.

Every message names the row or field and says what to change, because managers
fix rules in the admin without a developer.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from rules.attributes import (
    BOOL,
    CHOICE,
    MONEY,
    NUMBER,
    OPERATORS,
    REGISTRY,
    TEXT,
    condition_text,
)

TRUE_WORDS = {"yes", "true", "1"}
FALSE_WORDS = {"no", "false", "0"}
LIST_OPERATORS = {"in", "not_in"}


@dataclass(frozen=True)
class Parsed:
    """A condition row with its value parsed to the attribute's type."""

    attribute: str
    operator: str
    # Decimal, bool or str; a frozenset for "in" / "not in".
    value: object
    text: str


def _number(raw: str, label: str, money: bool) -> Decimal:
    text = raw.strip().replace(" ", "").replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        kind = "an amount" if money else "a number"
        raise ValidationError(
            f"{label}: {raw!r} is not {kind}; write digits with a dot for decimals, "
            "e.g. 5000 or 12.5."
        )
    return value


def _one_value(attribute, raw: str, strict: bool = True):
    label = attribute.label
    if attribute.type in (NUMBER, MONEY):
        return _number(raw, label, attribute.type == MONEY)
    if attribute.type == BOOL:
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(f"{label}: write yes or no, not {raw!r}.")
    text = raw.strip()
    if not text:
        raise ValidationError(f"{label}: give a value.")
    if attribute.type == CHOICE and strict:
        allowed = attribute.allowed_values()
        if text not in allowed:
            raise ValidationError(
                f"{label}: {text!r} is not one of the allowed values; choose one of "
                f"{', '.join(allowed)}."
            )
    if attribute.name in ("country", "currency"):
        text = text.upper()
    return text


def parse_condition(
    attribute_name: str, operator: str, raw: str | None, *, strict: bool = True
) -> Parsed:
    """The row's value in the attribute's type, or a ValidationError saying why not.

    `strict=False` skips the check of a choice against the current values (a
    creditor or plan renamed since the rule was saved): the run then compares.
    """
    attribute = REGISTRY.get(attribute_name)
    if attribute is None:
        raise ValidationError(
            f"Unknown attribute {attribute_name!r}; pick one from the list "
            f"({', '.join(sorted(REGISTRY))})."
        )
    if operator not in attribute.operators:
        allowed = ", ".join(OPERATORS[op] for op in attribute.operators)
        shown = OPERATORS.get(operator, operator)
        raise ValidationError(
            f"{attribute.label}: the operator {shown!r} does not apply to a "
            f"{attribute.type} attribute; use one of: {allowed}."
        )
    raw = raw or ""
    if operator in LIST_OPERATORS:
        parts = [p for p in (part.strip() for part in raw.split(",")) if p]
        if not parts:
            raise ValidationError(
                f"{attribute.label}: list the values separated by commas."
            )
        value = frozenset(_one_value(attribute, part, strict) for part in parts)
    else:
        value = _one_value(attribute, raw, strict)
    return Parsed(
        attribute_name, operator, value, condition_text(attribute_name, operator, raw)
    )


def _check_number_group(label: str, rows: list[Parsed]) -> None:
    low, low_open, high, high_open = None, False, None, False
    equal, not_equal = None, set()
    for row in rows:
        v = row.value
        if row.operator in ("gt", "gte"):
            strict = row.operator == "gt"
            if low is None or v > low or (v == low and strict):
                low, low_open = v, strict
        elif row.operator in ("lt", "lte"):
            strict = row.operator == "lt"
            if high is None or v < high or (v == high and strict):
                high, high_open = v, strict
        elif row.operator == "eq":
            if equal is not None and equal != v:
                raise ValidationError(
                    f"{label} cannot equal both {equal} and {v}; keep one, or put "
                    "them in different groups (either group may match)."
                )
            equal = v
        elif row.operator == "ne":
            not_equal.add(v)
    texts = " and ".join(r.text for r in rows)
    if low is not None and high is not None:
        if low > high or (low == high and (low_open or high_open)):
            raise ValidationError(
                f"No value satisfies {texts}: the lower bound is above the upper "
                "bound. Widen one bound, or put the rows in different groups."
            )
    if equal is not None:
        if (
            (low is not None and (equal < low or (equal == low and low_open)))
            or (high is not None and (equal > high or (equal == high and high_open)))
            or equal in not_equal
        ):
            raise ValidationError(
                f"No value satisfies {texts}. Remove the row that contradicts the "
                "others, or put the rows in different groups."
            )


def _check_set_group(attribute, rows: list[Parsed]) -> None:
    allowed = None
    excluded = set()
    for row in rows:
        if row.operator == "eq":
            values = {row.value}
        elif row.operator == "in":
            values = set(row.value)
        elif row.operator == "ne":
            excluded.add(row.value)
            continue
        elif row.operator == "not_in":
            excluded |= set(row.value)
            continue
        else:
            continue
        allowed = values if allowed is None else allowed & values
    if allowed is None and attribute.type == CHOICE:
        allowed = set(attribute.allowed_values())
    if allowed is not None and not (allowed - excluded):
        texts = " and ".join(r.text for r in rows)
        raise ValidationError(
            f"No {attribute.label.lower()} satisfies {texts}. Remove the row that "
            "contradicts the others, or put the rows in different groups (either "
            "group may match)."
        )


def validate_conditions(rows: list[tuple[int, str, str, str]]) -> list[list[Parsed]]:
    """Parse (group, attribute, operator, value) rows; refuse a group that never holds.

    Returns the parsed groups in group order. Row errors come first, each with
    its group, so that the admin can show all of them at once.
    """
    errors = []
    groups: dict[int, list[Parsed]] = {}
    for group, attribute, operator, raw in rows:
        try:
            groups.setdefault(group, []).append(
                parse_condition(attribute, operator, raw)
            )
        except ValidationError as exc:
            errors.extend(f"Group {group}: {m}" for m in exc.messages)
    if errors:
        raise ValidationError(errors)

    for group, parsed in sorted(groups.items()):
        by_attribute: dict[str, list[Parsed]] = {}
        for row in parsed:
            by_attribute.setdefault(row.attribute, []).append(row)
        for name, same in by_attribute.items():
            attribute = REGISTRY[name]
            try:
                if attribute.type in (NUMBER, MONEY):
                    _check_number_group(attribute.label, same)
                elif attribute.type in (CHOICE, TEXT):
                    _check_set_group(attribute, same)
                elif attribute.type == BOOL and len({r.value for r in same}) > 1:
                    raise ValidationError(
                        f"{attribute.label} cannot be both yes and no; keep one row."
                    )
            except ValidationError as exc:
                errors.extend(f"Group {group}: {m}" for m in exc.messages)
    if errors:
        raise ValidationError(errors)
    return [groups[g] for g in sorted(groups)]


def validate_effects(rule) -> None:
    """A rule must do something, and its effects must not contradict each other."""
    from customers.models import Channel
    from dunning.models import TONE_ORDER
    from rules.models import PaymentOption

    errors = {}
    channels = rule.channels or []
    options = rule.payment_options or []
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        errors["channels"] = f"Unknown channel {', '.join(map(str, unknown))}."
    unknown = [o for o in options if o not in PaymentOption.values]
    if unknown:
        errors["payment_options"] = f"Unknown payment option {', '.join(unknown)}."
    if rule.preferred_channel and channels and rule.preferred_channel not in channels:
        errors["preferred_channel"] = (
            f"The preferred channel {rule.preferred_channel} is not among the only "
            "allowed channels; add it there or clear one of the two fields."
        )
    if (
        rule.tone
        and rule.tone_cap
        and TONE_ORDER.index(rule.tone) > TONE_ORDER.index(rule.tone_cap)
    ):
        errors["tone_cap"] = (
            f"The tone is set to {rule.tone} but capped at {rule.tone_cap}; clear "
            "one of them or raise the cap."
        )
    if rule.skip_step and rule.hold_for_review:
        errors["hold_for_review"] = (
            "A rule either skips the step or holds the case for review, not both."
        )
    effects = [
        rule.plan_id,
        rule.tone,
        rule.tone_cap,
        channels,
        rule.preferred_channel,
        options,
        rule.contact_policy_id,
        rule.waive_fee,
        rule.skip_step,
        rule.hold_for_review,
    ]
    if not any(effects) and not errors:
        errors["__all__"] = (
            "The rule has no effect: choose a plan, a tone, channels, payment "
            "options, a contact policy, or one of waive fee / skip step / hold "
            "for review."
        )
    if errors:
        raise ValidationError(errors)
