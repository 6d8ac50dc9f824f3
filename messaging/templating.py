"""Message templates stored in the database: a safe engine and the checks on save.

A template written in the admin is Django template syntax, rendered by an engine
of its own: the default tags and filters minus those that reach outside the
context (see `messaging.template_library`), no template loaders, and a context of
plain dicts, lists, strings, numbers, dates and Decimals built by
`messaging.rendering.build_context`. No model instance is ever in the context, so
a template cannot walk from a customer to the creditor's users or to settings.

`CONTEXT_SCHEMA` is the documented context (docs/TEMPLATES.md): every variable
a template may use, with its type and meaning. `template_problems` refuses what
would fail or mislead at sending time, each problem saying what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import (
    FilterExpression,
    Lexer,
    Node,
    NodeList,
    TokenType,
    Variable,
)
from django.template.defaulttags import (
    FilterNode,
    ForNode,
    LoremNode,
    TemplateLiteral,
    WithNode,
)
from django.template.smartif import TokenBase

from messaging.template_library import FORBIDDEN_FILTERS, FORBIDDEN_TAGS

# An SMS of at most 320 characters, which keeps a GSM-7 text within three
# concatenated parts; a text that needs UCS-2 (an emoji, a dash "–") gets 70
# characters per part, so its part count is limited as well.
SMS_MAX_CHARS = 320
SMS_MAX_SEGMENTS = 3

# GSM 03.38: the basic alphabet costs one septet, the extension table two.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")


@dataclass
class SmsLength:
    characters: int
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int

    @property
    def fits(self) -> bool:
        return self.characters <= SMS_MAX_CHARS and self.segments <= SMS_MAX_SEGMENTS

    def __str__(self) -> str:
        parts = "part" if self.segments == 1 else "parts"
        return (
            f"{self.characters} characters, {self.segments} {parts} ({self.encoding})"
        )


def sms_length(text: str) -> SmsLength:
    """Characters, encoding and the number of SMS parts a text is sent in."""
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text):
        units = sum(2 if char in GSM_EXTENSION else 1 for char in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UTF-16 code units: a character outside the BMP (most emoji) takes two.
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsLength(characters=len(text), encoding=encoding, segments=segments)


# --- The documented context -------------------------------------------------


@dataclass
class Var:
    """One variable of the context: its type, meaning and, for dicts and lists,
    what is inside. `path` is its dotted name, list elements without index."""

    type: str
    meaning: str
    keys: dict[str, Var] = field(default_factory=dict)
    item: Var | None = None
    path: str = ""


ANY = Var("any", "bound in the template")
DATE_ATTRIBUTES = {"year", "month", "day"}


def _str(meaning: str) -> Var:
    return Var("str", meaning)


def _dict(meaning: str, **keys: Var) -> Var:
    return Var("dict", meaning, keys=keys)


def _list(meaning: str, item: Var) -> Var:
    return Var("list", meaning, item=item)


_AMOUNT_PARTS = {
    "principal": "the invoice amount",
    "paid": "everything that reduced the claim: payments, credit notes, waivers",
    "fees": "dunning fees charged so far",
    "interest": "interest on late payment so far",
    "open": "what is still open: principal - paid + fees + interest",
}

CONTEXT_SCHEMA: dict[str, Var] = {
    "channel": _str('"email", "sms", "whatsapp" or "letter"'),
    "language": _str('"en" or "de": the language of the wording and formats'),
    "tone": _str('"empathetic", "neutral" or "firm"'),
    "action": _str(
        '"reminder", "notice", "final_notice" or "handover": the firmest action '
        "of the claims listed"
    ),
    "action_label": _str('the action in words, e.g. "Final notice"'),
    "subject": _str(
        "the rendered subject line (in the body only; empty while the subject "
        "itself renders)"
    ),
    "compact": Var(
        "bool",
        "true when an SMS is rendered a second time because the first text was "
        "over 320 characters: leave out what can go",
    ),
    "creditor": _dict(
        "the company that is owed",
        name=_str("brand or trading name"),
        legal_name=_str(
            "legal name; may be empty, use creditor.legal_name|default:creditor.name"
        ),
        street=_str("street and number"),
        postcode=_str("postcode"),
        city=_str("town"),
        country=_str("ISO 3166 country code, e.g. DE"),
        email=_str("e-mail address for questions; may be empty"),
        phone=_str("phone number for questions; may be empty"),
        iban=_str("IBAN for bank transfers; may be empty"),
        bic=_str("BIC; may be empty"),
    ),
    "customer": _dict(
        "the debtor",
        name=_str("name of the person or company"),
        kind=_str('"consumer" or "business"'),
        external_id=_str("customer number in the creditor's system"),
        city=_str("town"),
        country=_str("ISO 3166 country code"),
    ),
    "brand_colour": _str('the creditor\'s colour as "#rrggbb"'),
    "items": _list(
        "the claims listed, oldest due date first",
        _dict(
            "one claim",
            number=_str("invoice number"),
            issued_on=Var("date", "invoice date"),
            issued_on_display=_str("invoice date in the reader's format"),
            due_on=Var("date", "due date"),
            due_on_display=_str("due date in the reader's format"),
            level=Var("int", "the step's position in the plan (1, 2, ...)"),
            action=_str("this claim's action, as `action`"),
            action_label=_str("this claim's action in words"),
            currency=_str("ISO 4217 code of the claim, e.g. EUR"),
            amounts=_dict(
                "amounts as Decimal in the claim's currency, as of sending",
                **{key: Var("Decimal", text) for key, text in _AMOUNT_PARTS.items()},
            ),
            display=_dict(
                'the same amounts formatted for the reader, e.g. "€1,234.50"',
                **{key: _str(text) for key, text in _AMOUNT_PARTS.items()},
            ),
            has_costs=Var("bool", "fees or interest were charged"),
            interest_detail=_str(
                "rate, principal and days behind the interest; may be empty"
            ),
        ),
    ),
    "totals": _list(
        "the open total per currency",
        _dict(
            "one currency's total",
            currency=_str("ISO 4217 code"),
            amount=Var("Decimal", "open total in that currency"),
            display=_str("the total formatted for the reader"),
        ),
    ),
    "total": _str('every open total formatted and joined, e.g. "€42.50 and $15.50"'),
    "reference": _str("the invoice numbers, comma separated: the payment reference"),
    "payment_options": _list(
        "the ways to pay offered to this debtor, most likely first",
        _dict(
            "one way to pay",
            code=_str('e.g. "bank_transfer", "card", "direct_debit", "instalments"'),
            label=_str("the way to pay in words"),
        ),
    ),
    "place": _str("the creditor's town, for the letter's date line"),
    "address_lines": _list("the debtor's postal address", _str("one line")),
    "today": Var("date", "the creditor's local date of sending"),
    "today_display": _str("that date in the reader's format"),
    "deadline": Var("date", "the new payment deadline (a working day)"),
    "deadline_display": _str(
        'the deadline in the reader\'s format, e.g. "April 11, 2025"'
    ),
    "consequence": _str(
        "for a final notice or handover: what happens if the debtor does not pay "
        "by the deadline, as one sentence; empty for reminders and notices"
    ),
    "link": _str("the debtor's personal link to the payment page"),
}

FORLOOP = _dict(
    "the loop's position",
    counter=Var("int", "1, 2, ..."),
    counter0=Var("int", "0, 1, ..."),
    revcounter=Var("int", "..., 2, 1"),
    revcounter0=Var("int", "..., 1, 0"),
    first=Var("bool", "first pass"),
    last=Var("bool", "last pass"),
    parentloop=ANY,
)


def _set_paths(variables: dict[str, Var], prefix: str = "") -> None:
    for name, var in variables.items():
        if var is ANY:
            continue
        var.path = prefix + name
        _set_paths(var.keys, var.path + ".")
        if var.item is not None:
            var.item.path = var.path
            _set_paths(var.item.keys, var.path + ".")


_set_paths(CONTEXT_SCHEMA)
_set_paths(FORLOOP.keys, "forloop.")


def schema_paths(variables: dict[str, Var] = CONTEXT_SCHEMA) -> list[tuple[str, Var]]:
    """Every documented variable as (dotted name, Var), parents first."""
    found = []
    for var in variables.values():
        found.append((var.path, var))
        found += schema_paths(var.keys)
        if var.item is not None:
            found += schema_paths(var.item.keys)
    return found


# --- The engine -------------------------------------------------------------


class _MessageEngine(Engine):
    # Engine's defaults would add loader_tags (include, extends) back.
    default_builtins: list[str] = []


ENGINE = _MessageEngine(
    loaders=[("django.template.loaders.locmem.Loader", {})],
    builtins=["messaging.template_library"],
    libraries={},
    autoescape=True,
)


def compile_template(source: str):
    return ENGINE.from_string(source)


def render_source(source: str, context: dict, *, autoescape: bool) -> str:
    """Render a stored template; plain text renders without HTML escaping."""
    return compile_template(source).render(Context(context, autoescape=autoescape))


# --- Checks -----------------------------------------------------------------

# Widths and counts a template may ask for. `{{ x|rjust:"1000000000" }}` or
# `{% lorem 100000000 %}` would build gigabytes at every send, and whitespace
# does not count towards the SMS length check.
MAX_WIDTH = 200
MAX_LOREM = 50
PADDING_FILTERS = {"ljust", "rjust", "center"}
# printf-style widths and precisions of |stringformat, e.g. "010.2f".
FORMAT_NUMBERS = re.compile(r"\d+")


def _allowed(variables: dict[str, Var], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in sorted(variables))


class _VariableCheck:
    """Walks a compiled template, checking every variable against the schema.

    Loop variables and `{% with %}` names take the type of what they stand for,
    so `item.display.open` inside `{% for item in items %}` is checked too.
    """

    def __init__(self, schema: dict[str, Var]):
        self.schema = schema
        self.problems: list[str] = []
        self.used: set[str] = set()
        self.bound: set[str] = set()

    def run(self, nodelist: NodeList) -> None:
        self._collect_bound(nodelist)
        self.walk(nodelist, {})

    def _collect_bound(self, nodelist) -> None:
        # `{% now "Y" as year %}`, `{% cycle ... as c %}`, `{% regroup ... as g %}`
        # bind names for the rest of the template.
        for node in nodelist:
            for name in ("asvar", "variable_name", "var_name"):
                value = getattr(node, name, None)
                if isinstance(value, str) and value:
                    self.bound.add(value)
            for child in node.child_nodelists:
                self._collect_bound(getattr(node, child, None) or [])
            if hasattr(node, "conditions_nodelists"):
                for _condition, child in node.conditions_nodelists:
                    self._collect_bound(child)

    def walk(self, nodelist, scope: dict[str, Var]) -> None:
        for node in nodelist:
            self.node(node, scope)

    def node(self, node: Node, scope: dict[str, Var]) -> None:
        line = getattr(getattr(node, "token", None), "lineno", None)
        if isinstance(node, ForNode):
            sequence = self.expression(node.sequence, scope, line)
            if sequence is None or sequence.type not in ("list", "any"):
                # Loops over a string or a literal nest into billions of
                # rounds: only the context's lists are worth looping over.
                kind = f"a {sequence.type}" if sequence else "not a list"
                self.problems.append(
                    f"{{% for %}} (line {line}) loops over "
                    f'"{node.sequence.token}", which is {kind}. Loop over a list '
                    "of the context: items, totals, payment_options, "
                    "address_lines."
                )
                return
            element = sequence.item if sequence and sequence.item else ANY
            inner = {**scope, "forloop": FORLOOP}
            for name in node.loopvars:
                inner[name] = element if len(node.loopvars) == 1 else ANY
            self.walk(node.nodelist_loop, inner)
            self.walk(node.nodelist_empty, scope)
            return
        if isinstance(node, WithNode):
            inner = dict(scope)
            for name, expression in node.extra_context.items():
                inner[name] = self.expression(expression, scope, line) or ANY
            self.walk(node.nodelist, inner)
            return
        if isinstance(node, LoremNode):
            count = node.count.var
            if isinstance(count, Variable):
                count = count.literal
            if not isinstance(count, int) or not 0 < count <= MAX_LOREM:
                self.problems.append(
                    f"{{% lorem %}} (line {line}) takes a number from 1 to {MAX_LOREM}."
                )
            return
        if isinstance(node, FilterNode):
            # `{% filter upper %}`: the expression's variable is a placeholder.
            self.filter_arguments(node.filter_expr, scope, line)
            self.walk(node.nodelist, scope)
            return
        for name, value in vars(node).items():
            if name not in ("token", "origin"):
                self.value(value, scope, line)

    def value(self, value, scope, line) -> None:
        if isinstance(value, NodeList):
            self.walk(value, scope)
        elif isinstance(value, Node):
            self.node(value, scope)
        elif isinstance(value, FilterExpression):
            self.expression(value, scope, line)
        elif isinstance(value, Variable):
            self.variable(value, scope, line)
        elif isinstance(value, TemplateLiteral):
            self.expression(value.value, scope, line)
        elif isinstance(value, TokenBase):
            for operand in (getattr(value, "first", None), value.second):
                self.value(operand, scope, line)
        elif isinstance(value, list | tuple):
            for element in value:
                self.value(element, scope, line)
        elif isinstance(value, dict):
            for element in value.values():
                self.value(element, scope, line)

    def expression(self, expression: FilterExpression, scope, line) -> Var | None:
        self.filter_arguments(expression, scope, line)
        if isinstance(expression.var, Variable):
            return self.variable(expression.var, scope, line)
        return None

    def filter_arguments(self, expression: FilterExpression, scope, line) -> None:
        for function, arguments in expression.filters:
            for is_lookup, argument in arguments:
                if is_lookup and isinstance(argument, Variable):
                    self.variable(argument, scope, line)
            name = getattr(function, "_filter_name", function.__name__)
            if name in PADDING_FILTERS | {"stringformat"}:
                self._bounded_width(name, arguments, line)

    def _bounded_width(self, name: str, arguments, line) -> None:
        """A padding width must be written in the template and stay small."""
        literal = [
            argument.resolve({}) if isinstance(argument, Variable) else argument
            for is_lookup, argument in arguments
            if not is_lookup or argument.literal is not None
        ]
        numbers = []
        if len(literal) == len(arguments):
            text = "".join(str(value) for value in literal)
            numbers = [int(n) for n in FORMAT_NUMBERS.findall(text)]
        if len(literal) != len(arguments) or any(n > MAX_WIDTH for n in numbers):
            self.problems.append(
                f"|{name} (line {line}) takes a width written in the template, "
                f"at most {MAX_WIDTH}."
            )

    def variable(self, variable: Variable, scope, line) -> Var | None:
        if variable.lookups is None:  # a literal: "text", 3
            return None
        name = ".".join(variable.lookups)
        where = f" (line {line})" if line else ""
        root, *rest = variable.lookups
        var = scope.get(root) or self.schema.get(root)
        if var is None:
            if root in self.bound:
                return ANY
            local = "".join(f"{n}, " for n in sorted(scope) if n != "forloop")
            self.problems.append(
                f'Unknown variable "{name}"{where}: there is no "{root}". '
                f"Use one of: {local}{_allowed(self.schema)}."
            )
            return None
        written = root
        for part in rest:
            if var is ANY:
                return ANY
            self.used.add(var.path)
            if var.type == "dict" and part in var.keys:
                var = var.keys[part]
            elif var.type == "list" and part.isdigit():
                var = var.item or ANY
            elif var.type == "date" and part in DATE_ATTRIBUTES:
                var = Var("int", "part of a date", path=f"{var.path}.{part}")
            else:
                self.problems.append(
                    self._no_such_part(name, written, var, part, where)
                )
                return None
            written = f"{written}.{part}"
        if var is not ANY:
            self.used.add(var.path)
        return var

    @staticmethod
    def _no_such_part(name: str, written: str, var: Var, part: str, where: str):
        head = f'Unknown variable "{name}"{where}: "{written}"'
        if var.type == "dict":
            allowed = _allowed(var.keys, written + ".")
            return f'{head} has no "{part}". Use one of: {allowed}.'
        if var.type == "list":
            return (
                f"{head} is a list: loop over it with "
                f"{{% for x in {written} %}}{{{{ x.… }}}}{{% endfor %}}."
            )
        if var.type == "date":
            return (
                f"{head} is a date: it has only {', '.join(sorted(DATE_ATTRIBUTES))}."
            )
        return f'{head} is a {var.type} and has no "{part}"; use a filter instead.'


def _forbidden_tags(source: str, label: str) -> list[str]:
    problems = []
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        tag = token.contents.split()[0] if token.contents.split() else ""
        if tag in FORBIDDEN_TAGS:
            problems.append(
                f"{label}: the tag {{% {tag} %}} (line {token.lineno}) is not "
                "allowed in message templates. Use only variables, filters and "
                "tags such as if, for and with; other templates cannot be "
                "included or extended."
            )
    return problems


def _forbidden_filters(source: str, label: str) -> list[str]:
    problems = []
    for name in sorted(FORBIDDEN_FILTERS):
        if re.search(r"\|\s*" + name + r"\b", source):
            problems.append(
                f"{label}: the filter |{name} is not allowed: it would print the "
                "debtor's data as markup. Remove it; text is escaped for HTML "
                "automatically."
            )
    return problems


@dataclass
class Checked:
    """What one template part uses, after it compiled and checked cleanly."""

    template: object | None
    used: set[str]
    problems: list[str]


def check_source(source: str, *, label: str, schema: dict[str, Var]) -> Checked:
    """Compile one part (subject, body, HTML body) and check its variables."""
    problems = _forbidden_tags(source, label) + _forbidden_filters(source, label)
    if problems:
        return Checked(None, set(), problems)
    try:
        template = compile_template(source)
    except TemplateSyntaxError as exc:
        return Checked(None, set(), [f"{label}: {exc}. Correct the template syntax."])
    check = _VariableCheck(schema)
    check.run(template.nodelist)
    return Checked(template, check.used, [f"{label}: {p}" for p in check.problems])


# Words that state a consequence in a final notice when the template does not
# use the `consequence` variable (lower case; matched anywhere in the body).
CONSEQUENCE_WORDS = {
    "en": (
        "collection agency",
        "debt collect",
        "legal action",
        "court",
        "further costs",
    ),
    "de": (
        "inkasso",
        "gerichtlich",
        "mahnverfahren",
        "rechtsanwalt",
        "weitere kosten",
    ),
}
AMOUNT_PATHS = {
    "total",
    "totals",
    "totals.amount",
    "totals.display",
    "items.amounts.open",
    "items.display.open",
}
DEADLINE_PATHS = {"deadline", "deadline_display"}


def final_notice_problems(body: str, used: set[str], language: str) -> list[str]:
    """A final notice must state the amount, the deadline and the consequence."""
    problems = []
    if not used & AMOUNT_PATHS:
        problems.append(
            "A final notice must state the amount: use {{ total }}, loop over "
            "totals, or show item.display.open for each claim."
        )
    if not used & DEADLINE_PATHS:
        problems.append(
            "A final notice must state the deadline: use {{ deadline_display }}."
        )
    words = CONSEQUENCE_WORDS.get(language, ()) + CONSEQUENCE_WORDS["en"]
    if "consequence" not in used and not any(w in body.lower() for w in words):
        problems.append(
            "A final notice must say what happens if the debtor does not pay: "
            "use {{ consequence }} or write a sentence naming it (for example "
            f'"{CONSEQUENCE_WORDS.get(language, CONSEQUENCE_WORDS["en"])[0]}").'
        )
    return problems


def sample_context(*, language: str, channel: str, tone: str, action: str) -> dict:
    """A realistic context for checks: lengths as a real message would have."""
    from messaging.rendering import ACTION_LABELS, consequence_text, format_total

    de = language == "de"
    amount = Decimal("1234.56")
    display = "1.234,56\xa0€" if de else "€1,234.56"
    deadline = date(2025, 9, 30)
    deadline_display = "30. September 2025" if de else "September 30, 2025"
    label = ACTION_LABELS.get(language, ACTION_LABELS["en"]).get(action, action)
    item = {
        "number": "INV-2025-004711",
        "issued_on": date(2025, 7, 1),
        "issued_on_display": "01.07.2025" if de else "Jul 1, 2025",
        "due_on": date(2025, 7, 31),
        "due_on_display": "31.07.2025" if de else "Jul 31, 2025",
        "level": 4,
        "action": action,
        "action_label": label,
        "currency": "EUR",
        "amounts": dict.fromkeys(_AMOUNT_PARTS, Decimal("0")) | {"open": amount},
        "display": dict.fromkeys(_AMOUNT_PARTS, "") | {"open": display},
        "has_costs": False,
        "interest_detail": "",
    }
    totals = [{"currency": "EUR", "amount": amount, "display": display}]
    return {
        "channel": channel,
        "language": language,
        "tone": tone,
        "action": action,
        "action_label": label,
        "subject": label,
        "compact": False,
        "creditor": {
            "name": "Stadtwerke Musterstadt GmbH",
            "legal_name": "Stadtwerke Musterstadt GmbH",
            "street": "Hauptstraße 1",
            "postcode": "10115",
            "city": "Berlin",
            "country": "DE",
            "email": "forderungen@stadtwerke-musterstadt.de",
            "phone": "+49 30 1234567",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        },
        "customer": {
            "name": "Maximilian Mustermann",
            "kind": "consumer",
            "external_id": "K-100234",
            "city": "Berlin",
            "country": "DE",
        },
        "brand_colour": "#1f4e79",
        "items": [item],
        "totals": totals,
        "total": format_total(totals, language),
        "reference": item["number"],
        "payment_options": [
            {"code": "bank_transfer", "label": "Bank transfer"},
            {"code": "card", "label": "Credit or debit card"},
        ],
        "place": "Berlin",
        "address_lines": ["Maximilian Mustermann", "Lindenweg 5", "10117 Berlin"],
        "today": date(2025, 9, 16),
        "today_display": "16. September 2025" if de else "September 16, 2025",
        "deadline": deadline,
        "deadline_display": deadline_display,
        "consequence": consequence_text(action, language, deadline_display),
        # A real personal link: the site address and a 43-character token.
        "link": "https://zahlung.stadtwerke-musterstadt.de/p/" + "x" * 43 + "/",
    }


def template_problems(
    *,
    action: str,
    channel: str,
    tone: str,
    language: str,
    subject: str,
    body: str,
    html_body: str = "",
) -> dict[str, list[str]]:
    """What is wrong with a template, by form field ("subject", "body", ...).

    Empty when it may be saved. Unknown variables and forbidden tags are named
    with the allowed alternatives; an SMS must fit with a realistic context; a
    final notice must state amount, deadline and consequence.
    """
    body_schema = CONTEXT_SCHEMA
    subject_schema = {k: v for k, v in CONTEXT_SCHEMA.items() if k != "subject"}
    problems: dict[str, list[str]] = {}
    parts = {
        "subject": check_source(subject, label="Subject", schema=subject_schema),
        "body": check_source(body, label="Body", schema=body_schema),
    }
    if html_body:
        parts["html_body"] = check_source(
            html_body, label="HTML body", schema=body_schema
        )
    for name, checked in parts.items():
        if checked.problems:
            problems[name] = checked.problems
    if problems:
        return problems

    if action == "final_notice":
        used = parts["body"].used | parts.get("html_body", parts["body"]).used
        found = final_notice_problems(body + html_body, used, language)
        if found:
            problems["body"] = found

    if channel in ("sms", "whatsapp"):
        context = sample_context(
            language=language, channel=channel, tone=tone, action=action
        )
        template = parts["body"].template
        text = " ".join(template.render(Context(context, autoescape=False)).split())
        length = sms_length(text)
        if not length.fits:
            compact = {**context, "compact": True}
            text = " ".join(template.render(Context(compact, autoescape=False)).split())
            length = sms_length(text)
        if not length.fits:
            problems.setdefault("body", []).append(
                f"The SMS is too long: {length} with a realistic sample "
                f"(one claim, a 43-character link). At most {SMS_MAX_CHARS} "
                f"characters and {SMS_MAX_SEGMENTS} parts; characters outside "
                "GSM-7 (such as – or emoji) cut a part to 70. Shorten the text or "
                "leave parts out when {{ compact }} is true."
            )
    return problems
