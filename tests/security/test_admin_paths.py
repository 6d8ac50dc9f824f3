"""Every admin URL, for every role: nobody reads or changes what their role lacks.

The URLs come from the admin site itself (`admin.site.get_urls()`, walked
recursively), so a model or a custom view added later is covered without
touching this file; a URL this file cannot classify fails
`test_every_admin_url_is_known`. Each URL is filled with a real object of its
model, taken from one set of rows built once for the module (a row of every
registered model: the domain's through the services and a dunning run, the
rest filled field by field).

What is asserted, per URL and role (manager, clerk, auditor, staff without a
group, a user who is not staff, anonymous; a superuser as the control that
every page answers at all):

- GET answers 200 exactly when the admin grants the page, and the admin grants
  nothing the role's permissions lack; otherwise 302 to the login page (not
  staff), 403, 404 or 405, never 500.
- POST to add, change and delete, to every changelist action and to every
  custom view that writes is refused without the permission, and no INSERT,
  UPDATE or DELETE reaches the database (sessions aside).
- Custom views reach their object only through the admin's own queryset, so a
  row an admin hides cannot be opened by its id.
"""

import importlib.util
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from django.utils import timezone

from audit.roles import AUDITOR, CLERK, MANAGER
from dunning.admin import CASE_WORK_BY_NAME
from tests.conftest import acme_creditor

# Each test in its own transaction, inside the module's (see `world`).
pytestmark = pytest.mark.django_db

SITE = admin.site
LOGIN = reverse("admin:login")
ROLES = ["superuser", "manager", "clerk", "auditor", "staff", "user", "anonymous"]
STAFF_ROLES = ["superuser", "manager", "clerk", "auditor", "staff"]
# What refusing a page looks like to staff: forbidden, not found, or a POST-only
# view asked with GET.
REFUSED = {403, 404, 405}
FUTURE = date(2099, 1, 1)


# --- The URLs ---------------------------------------------------------------


@dataclass(frozen=True)
class AdminPath:
    """One URL pattern of the admin site."""

    route: str
    name: str | None
    model_admin: admin.ModelAdmin | None
    params: tuple[str, ...]

    @property
    def kind(self) -> str:
        """changelist, add, change, delete, history, redirect, or the URL name."""
        if self.model_admin is None:
            return self.name or "catch_all"
        opts = self.model_admin.opts
        prefix = f"{opts.app_label}_{opts.model_name}_"
        if self.name is None:
            return "redirect"
        standard = self.name.removeprefix(prefix)
        if standard in {"changelist", "add", "change", "delete", "history"}:
            return standard
        return self.name

    def __str__(self) -> str:
        return self.name or self.route


def _walk(patterns, prefix="", model_admin=None):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            owner = model_admin
            for model, candidate in SITE._registry.items():
                opts = model._meta
                if str(pattern.pattern) == f"{opts.app_label}/{opts.model_name}/":
                    owner = candidate
            yield from _walk(pattern.url_patterns, route, owner)
        elif isinstance(pattern, URLPattern):
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route))
            names = tuple(a or b for a, b in params)
            yield AdminPath(route, pattern.name, model_admin, names)


PATHS = list(_walk(SITE.get_urls()))


@dataclass(frozen=True)
class CustomView:
    """A view a ModelAdmin adds, with the permission it answers to.

    `perms`: every one is needed (a tuple inside means any of them);
    `ok`: the status for a permitted user, a number or a function of the URL's
    values; `post_only`: a GET is refused with 405 whoever asks.
    """

    perms: tuple
    ok: object = 200
    post_only: bool = False


def _work_status(values) -> int:
    # Work the case's state does not allow goes back to the case page.
    work = CASE_WORK_BY_NAME[values["work"]]
    return 200 if work.allowed(values["object"]) else 302


def _document_status(values) -> int:
    return 200 if values["object"].document else 404


def _qrcode_status(values) -> int:
    # django-otp draws with qrcode or segno, and answers 503 without either.
    drawn = importlib.util.find_spec("qrcode") or importlib.util.find_spec("segno")
    return 200 if drawn else 503


VIEW_INVOICE = ("payments.view_invoice", "payments.change_invoice")
VIEW_TEMPLATE = ("messaging.view_messagetemplate", "messaging.change_messagetemplate")
CUSTOM_VIEWS = {
    "dunning_case_work": CustomView(("dunning.work_case",), ok=_work_status),
    "payments_invoice_document": CustomView((VIEW_INVOICE,), ok=_document_status),
    "messaging_messagetemplate_preview": CustomView((VIEW_TEMPLATE,)),
    # No letter among the module's messages, so no PDF to draw: not found.
    "messaging_messagetemplate_preview_pdf": CustomView((VIEW_TEMPLATE,), ok=404),
    "replies_reply_confirm": CustomView(("dunning.work_case",), post_only=True),
    "replies_reply_dismiss": CustomView(("dunning.work_case",), post_only=True),
    "rules_ruleset_dry_run": CustomView(
        (("rules.view_ruleset", "rules.change_ruleset"),)
    ),
    "rules_ruleset_activate": CustomView(("rules.change_ruleset",), post_only=True),
    "rules_explain_claim": CustomView((VIEW_INVOICE,)),
    "rules_explain_customer": CustomView(
        (VIEW_INVOICE, ("customers.view_customer", "customers.change_customer"))
    ),
    # The device's secret key is in its configuration page and QR code.
    "otp_totp_totpdevice_config": CustomView(("otp_totp.change_totpdevice",)),
    "otp_totp_totpdevice_qrcode": CustomView(
        ("otp_totp.change_totpdevice",), ok=_qrcode_status
    ),
    "auth_user_password_change": CustomView(("auth.change_user",)),
}
# The site's own pages: any staff member (the index lists only what they may
# see); the app index when they may see a model of the app.
SITE_VIEWS = {
    "index": 200,
    "password_change": 200,
    "password_change_done": 200,
    "jsi18n": 200,
    "logout": 405,  # POST only
    "autocomplete": 403,  # without its parameters; see the autocomplete test
    "view_on_site": 404,  # no model here has get_absolute_url
    "app_list": None,
}


def test_every_admin_url_is_known():
    """A custom view added later must say here which permission it answers to."""
    unknown = [
        str(p)
        for p in PATHS
        if p.kind
        not in {
            "changelist",
            "add",
            "change",
            "delete",
            "history",
            "redirect",
            "login",
            "catch_all",
            *CUSTOM_VIEWS,
            *SITE_VIEWS,
        }
    ]
    assert unknown == []
    assert len(PATHS) > 300


# --- The rows -----------------------------------------------------------------


def _staff(username, group=None):
    # No password: the clients log in with force_login, and hashing one costs
    # a fraction of a second.
    user = User.objects.create_user(username, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _domain_rows(users):
    """A creditor's claims dunned by e-mail, paid in part, answered, and the
    configuration around them, as the services leave them."""
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_q.models import Task

    from api.events import emit
    from api.models import ApiClient, EventType, Subscription
    from contact.models import OptOut
    from contact.services import opt_out_record
    from customers.models import Customer
    from delivery.services import event_record
    from dunning.admin import STEP_FIELDS
    from dunning.models import Case, Plan
    from dunning.plans import revise_plan
    from experiments.models import Arm, Experiment
    from messaging.models import Message, MessageTemplate
    from payments.models import ProviderPaymentEvent
    from payments.services import credit_note_post, invoice_create, payment_record
    from portal.services import link_create
    from portal.ways_out import already_paid_report
    from portal.ways_out import event_record as portal_event
    from privacy.erasure import customer_erase
    from replies.services import Inbound, reply_receive
    from rules.models import Condition, Rule, RuleSet
    from rules.services import rule_set_activate

    creditor = acme_creditor()
    alice = Customer.objects.create(
        creditor=creditor,
        external_id="C-ALICE",
        kind="consumer",
        name="Alice Ahrens",
        email="alice@example.com",
        phone="+4915112345678",
        street="Lindenweg 5",
        postcode="10117",
        city="Berlin",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
        birth_year=1985,
    )
    claims = [
        invoice_create(
            creditor=creditor,
            customer=alice,
            external_id=number,
            number=number,
            currency="EUR",
            amount=Decimal(amount),
            issued_on=date(2025, 2, 1),
            due_on=date(2025, 3, 3),
            actor="test",
        )
        for number, amount in [("INV-0001", "100.00"), ("INV-0002", "40.00")]
    ]
    claims[0].document.save("INV-0001.pdf", ContentFile(b"%PDF-1.4 test"))
    call_command("run_dunning", "--date", "2025-03-10", stdout=StringIO())
    payment_record(
        customer=alice,
        amount=Decimal("30.00"),
        currency="EUR",
        received_on=date(2025, 3, 12),
        invoice=claims[0],
        actor="test",
    )
    credit_note_post(
        invoice=claims[1],
        external_id="CN-1",
        amount=Decimal("10.00"),
        currency="EUR",
        issued_on=date(2025, 3, 12),
        actor="test",
    )
    email = Message.objects.filter(customer=alice).order_by("pk").first()
    event_record(
        message_id=email.pk,
        kind="delivered",
        provider="mailgun",
        provider_event_id="ev-1",
        occurred_at=datetime(2025, 3, 10, 9, 5, tzinfo=UTC),
        actor="system:test",
    )
    reply_receive(
        inbound=Inbound(
            channel="email",
            provider="imap",
            provider_message_id="<r1@example.org>",
            sender=alice.email,
            subject=f"Re: Mahnung {claims[0].number}",
            text="Ich habe schon bezahlt.",
            received_at=datetime(2025, 3, 11, 8, 0, tzinfo=UTC),
            raw="From: alice@example.com\n\nIch habe schon bezahlt.",
        )
    )
    link, _token = link_create(customer=alice, message=email)
    portal_event(link=link, kind="visited")
    already_paid_report(
        link=link, invoice_id=claims[1].pk, note="paid by card", actor="debtor"
    )
    opt_out_record(
        customer_id=alice.pk,
        channel="sms",
        source=OptOut.Source.CLERK,
        actor="test",
        note="by phone",
    )
    client = ApiClient.objects.create(name="ERP", token_hash="h" * 64)
    client.creditors.add(creditor)
    Subscription.objects.create(
        client=client, url="https://erp.example/hook", event_types=EventType.values
    )
    emit("payment.received", creditor, {"claim": claims[0].pk})
    ProviderPaymentEvent.objects.create(
        provider="stripe", event_id="evt_1", type="charge.refunded", outcome="none"
    )

    # A plan version that cases follow, replaced by a newer one: read only.
    plan = Plan.objects.get(name="Standard", replaced_by__isnull=True)
    steps = [
        (step.pk, {name: getattr(step, name) for name in STEP_FIELDS})
        for step in plan.steps.order_by("position")
    ]
    steps[1][1]["fee"] = Decimal("3.00")
    revise_plan(plan, steps, actor="test")

    # A draft rule set (editable) and an active one (read only).
    rule_sets = []
    for name in ["Draft policy", "Live policy"]:
        rule_set = RuleSet.objects.create(name=name, created_by="user:test")
        rule = Rule.objects.create(
            rule_set=rule_set, name="Big claims", priority=10, tone="firm"
        )
        Condition.objects.create(
            rule=rule, group=1, attribute="claim_amount", operator="gt", value="5000"
        )
        rule_sets.append(rule_set)
    rule_set_activate(rule_set_id=rule_sets[1].pk, actor="test")

    # A draft experiment (its arms editable) and a running one.
    for name, status in [("Wording draft", "draft"), ("Wording", "running")]:
        experiment = Experiment.objects.create(
            name=name,
            status=status,
            started_at=timezone.now() if status == "running" else None,
            started_by="user:test" if status == "running" else "",
        )
        for key in ["a", "b"]:
            Arm.objects.create(
                experiment=experiment, key=key, label=key, value=key, weight=1
            )

    TOTPDevice.objects.create(user=users["manager"], name="phone", confirmed=True)
    now = timezone.now()
    for success in [True, False]:
        Task.objects.create(
            id=uuid.uuid4().hex,
            name=f"task-{success}",
            func="math.floor",
            started=now,
            stopped=now,
            success=success,
        )
    MessageTemplate.objects.filter(channel="email").update(active=True)

    gone = Customer.objects.create(
        creditor=creditor, external_id="C-GONE", kind="consumer", name="Gone Away"
    )
    customer_erase(customer=gone, actor=users["superuser"], reason="asked to")
    return Case.objects.get(invoice=claims[0])


def _value_for(field, n: int):
    """A value for a required field of a row built field by field."""
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.ForeignKey):
        related = field.related_model._default_manager.order_by("pk").first()
        if related is None:
            raise LookupError(f"no {field.related_model._meta.label} to point to")
        return related
    if isinstance(field, models.EmailField):
        return f"row{n}@example.com"
    if isinstance(field, models.URLField):
        return "https://example.com/"
    if isinstance(field, (models.CharField, models.TextField)):
        return f"row {n}"[: field.max_length or 50]
    if isinstance(field, models.DecimalField):
        return Decimal("0.5")
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, (models.IntegerField, models.PositiveIntegerField)):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return date(2025, 3, 1)
    if isinstance(field, models.TimeField):
        return time(9)
    if isinstance(field, models.DurationField):
        return timedelta(days=1)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.BinaryField):
        return b""
    raise LookupError(f"no value for {type(field).__name__} {field.name}")


def _fill(model, n: int):
    """A row of `model` with every required field set, or why there is none."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.auto_created or field.null or field.has_default():
            continue
        if not isinstance(field, models.FileField):
            values[field.name] = _value_for(field, n)
    with transaction.atomic():
        return model._default_manager.create(**values)


FILL_ERRORS = (LookupError, IntegrityError, ValueError, TypeError, ValidationError)


# Admins whose answer depends on the row: a replaced plan version, a live rule
# set and its rules, a running experiment are read only; the rows built above
# hold one of each kind.
PER_ROW = {"dunning.Plan", "rules.RuleSet", "rules.Rule", "experiments.Experiment"}


@dataclass
class World:
    users: dict[str, User]
    objects: dict[type, list]
    case: object
    skipped: dict[str, str]
    # Each role's session, logged in once for the module.
    sessions: dict[str, str]


def _objects_of(model_admin, request) -> list:
    """The rows a URL is filled with: the first of the admin's queryset, and for
    the admins that decide per row, a row of each kind they tell apart."""
    rows = model_admin.get_queryset(request).order_by("pk")
    if model_admin.opts.label in PER_ROW:
        return list(rows)
    return list(rows[:1])


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One set of rows for the whole module, rolled back at its end."""
    outbox = tmp_path_factory.mktemp("outbox")
    files = override_settings(
        OUTBOX_DIR=outbox,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=outbox / "email",
        SMS_FILE_PATH=outbox / "sms",
        LETTER_FILE_PATH=outbox / "letters",
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        SITE_URL="http://testserver",
    )
    with django_db_blocker.unblock(), files:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            users = {
                "superuser": User.objects.create_superuser("root", password=None),
                "manager": _staff("maria", MANAGER),
                "clerk": _staff("carl", CLERK),
                "auditor": _staff("audrey", AUDITOR),
                "staff": _staff("stan"),
                "user": User.objects.create_user("ursula"),
            }
            case = _domain_rows(users)
            skipped = {}
            for n, model in enumerate(SITE._registry):
                if model._meta.managed and not model._default_manager.exists():
                    try:
                        _fill(model, n)
                        print(f"a row of {model._meta.label} filled field by field")
                    except FILL_ERRORS as error:
                        skipped[model._meta.label] = str(error)
            request = _request(users["superuser"])
            objects = {
                model: _objects_of(model_admin, request)
                for model, model_admin in SITE._registry.items()
            }
            for label, reason in skipped.items():
                print(f"no row of {label}: {reason}")
            sessions = {}
            for role, user in users.items():
                client = Client()
                client.force_login(user)
                sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield World(users, objects, case, skipped, sessions)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_every_registered_model_has_a_row(world):
    """Only a model without a table (the results page) has no row to open."""
    empty = [model._meta.label for model, rows in world.objects.items() if not rows]
    assert empty == ["reports.Results"], world.skipped


# --- Asking ---------------------------------------------------------------------

FACTORY = RequestFactory()


def _request(user, method="get"):
    request = getattr(FACTORY, method)("/admin/")
    request.user = user
    return request


def _client(world, role) -> Client:
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def _user(world, role):
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser() if role == "anonymous" else world.users[role]


def _holds(user, perms) -> bool:
    """Every permission of `perms`; a tuple among them is met by any of its own."""
    return all(
        any(user.has_perm(p) for p in perm)
        if isinstance(perm, tuple)
        else user.has_perm(perm)
        for perm in perms
    )


def _model_perm(model_admin, action: str) -> str:
    opts = model_admin.opts
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


def _urls(world, path: AdminPath) -> list[tuple[str, dict]]:
    """The URLs of a pattern filled with real rows: (url, values used)."""
    if path.kind in {"catch_all", "login"}:
        return []
    if path.kind == "app_list":
        labels = sorted({m._meta.app_label for m in SITE._registry})
        return [
            (reverse("admin:app_list", args=[label]), {"app_label": label})
            for label in labels
        ]
    if path.kind == "view_on_site":
        customer = world.case.customer
        ct = ContentType.objects.get_for_model(customer)
        url = reverse("admin:view_on_site", args=[ct.pk, customer.pk])
        return [(url, {})]
    if not path.params:
        return [(reverse(f"admin:{path.name}"), {})]

    rows = world.objects[path.model_admin.model]
    if path.kind == "redirect":
        prefix = "/admin/" + path.route.split("<")[0]
        return [(f"{prefix}{quote(row.pk)}/", {"object": row}) for row in rows]
    urls = []
    for row in rows:
        kwargs = {}
        values = {"object": row}
        for param in path.params:
            if param in {"object_id", "pk", "id"}:
                kwargs[param] = quote(row.pk) if param == "object_id" else row.pk
            elif param == "invoice_id":
                kwargs[param] = world.case.invoice_id
            elif param == "customer_id":
                kwargs[param] = world.case.customer_id
            elif param != "work":
                raise AssertionError(f"{path}: fill the URL parameter {param!r}")
        if "work" in path.params:
            for work in CASE_WORK_BY_NAME:
                url = reverse(f"admin:{path.name}", kwargs={**kwargs, "work": work})
                urls.append((url, {**values, "work": work}))
        else:
            urls.append((reverse(f"admin:{path.name}", kwargs=kwargs), values))
    return urls


def _admin_grants(path: AdminPath, user, row) -> bool:
    request = _request(user)
    model_admin = path.model_admin
    if path.kind == "changelist":
        return model_admin.has_view_or_change_permission(request)
    if path.kind == "add":
        return model_admin.has_add_permission(request)
    if path.kind in {"change", "history"}:
        return model_admin.has_view_or_change_permission(request, row)
    if path.kind == "delete":
        return model_admin.has_delete_permission(request, row)
    raise AssertionError(path.kind)


def _expected(world, path: AdminPath, role: str, values: dict) -> set[int]:
    """The statuses the URL may answer this role with."""
    user = _user(world, role)
    if role in {"user", "anonymous"}:
        return {302}
    if path.kind == "redirect":
        return {301, 302}
    if path.kind in SITE_VIEWS:
        if path.kind == "app_list":
            label = values["app_label"]
            visible = any(
                model_admin.has_module_permission(_request(user))
                for model, model_admin in SITE._registry.items()
                if model._meta.app_label == label
            )
            return {200} if visible else {404}
        return {SITE_VIEWS[path.kind]}
    if path.kind in CUSTOM_VIEWS:
        view = CUSTOM_VIEWS[path.kind]
        if view.post_only:
            return {403, 405}
        if not _holds(user, view.perms):
            return REFUSED
        return {view.ok(values) if callable(view.ok) else view.ok}
    if _admin_grants(path, user, values.get("object")):
        return {200}
    return REFUSED


GET_PATHS = [p for p in PATHS if p.kind not in {"catch_all", "login"}]


@pytest.mark.parametrize("path", GET_PATHS, ids=str)
def test_a_page_answers_200_only_to_a_role_it_grants(world, path):
    wrong = []
    urls = _urls(world, path)
    assert urls, f"{path}: no URL to ask"
    for role in ROLES:
        client = _client(world, role)
        for url, values in urls:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            expected = _expected(world, path, role, values)
            # A page refused leaves no trace either (the access log names
            # who saw a debtor's page, not who was sent away).
            writes = _writes(queries) if response.status_code != 200 else []
            if response.status_code not in expected or writes:
                wrong.append(
                    f"{role} GET {url}: {response.status_code}, {expected} {writes}"
                )
            elif response.status_code == 302 and role in {"user", "anonymous"}:
                # Logging out from outside goes to the index, which asks to log in.
                away = reverse("admin:index") if path.kind == "logout" else LOGIN
                if not response["Location"].startswith(away):
                    wrong.append(f"{role} GET {url}: to {response['Location']}")
    assert wrong == []


# --- What the admin grants, against what the role holds ---------------------------


@pytest.mark.parametrize(
    "model_admin", list(SITE._registry.values()), ids=lambda ma: ma.opts.label
)
def test_an_admin_grants_nothing_the_role_lacks(world, model_admin):
    """The admin may refuse more than the permissions (a row that is history),
    never less."""
    wrong = []
    rows = world.objects[model_admin.model] or [None]
    for role in STAFF_ROLES:
        user = world.users[role]
        request = _request(user)
        view = _holds(
            user,
            [(_model_perm(model_admin, "view"), _model_perm(model_admin, "change"))],
        )
        if model_admin.has_view_or_change_permission(request) and not view:
            wrong.append(f"{role}: list without view permission")
        if model_admin.has_add_permission(request) and not user.has_perm(
            _model_perm(model_admin, "add")
        ):
            wrong.append(f"{role}: add without add permission")
        for row in rows:
            for action in ["change", "delete"]:
                granted = getattr(model_admin, f"has_{action}_permission")(request, row)
                if granted and not user.has_perm(_model_perm(model_admin, action)):
                    wrong.append(f"{role}: {action} {row!r} without the permission")
    assert wrong == []


# --- Writing ----------------------------------------------------------------------

WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I)


def _writes(queries) -> list[str]:
    """The statements that changed a table other than the sessions'."""
    found = []
    for query in getattr(queries, "captured_queries", queries):
        match = WRITE.match(query["sql"])
        if match and match.group(2).lower() != "django_session":
            found.append(query["sql"][:120])
    return found


def _post(client, url, data):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    return response, _writes(queries)


def _form_data(response) -> dict:
    """The change form as the page shows it, ready to post back unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = field.prepare_value(bound.value())
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, (list, tuple)):
                data[bound.html_name] = [str(v) for v in value]
            elif value is not None and not hasattr(value, "read"):
                data[bound.html_name] = str(value)
    return data


REFUSED_POST = {403, 405}

MODEL_ADMINS = list(SITE._registry.values())


@pytest.mark.parametrize("model_admin", MODEL_ADMINS, ids=lambda ma: ma.opts.label)
def test_add_change_and_delete_are_refused_without_the_permission(world, model_admin):
    opts = model_admin.opts
    info = f"{opts.app_label}_{opts.model_name}"
    names = {p.name for p in PATHS if p.model_admin is model_admin}
    rows = world.objects[model_admin.model]
    root = _client(world, "superuser")
    forms = {}
    for row in rows:
        page = root.get(reverse(f"admin:{info}_change", args=[quote(row.pk)]))
        forms[row.pk] = _form_data(page) if page.status_code == 200 else {}

    wrong = []
    for role in ROLES[1:]:
        client = _client(world, role)
        staff = role not in {"user", "anonymous"}
        request = _request(_user(world, role), "post")
        asks = []
        if f"{info}_add" in names and not (
            staff and model_admin.has_add_permission(request)
        ):
            data = forms[rows[0].pk] if rows else {}
            asks.append((reverse(f"admin:{info}_add"), data))
        for row in rows:
            if not (staff and model_admin.has_change_permission(request, row)):
                url = reverse(f"admin:{info}_change", args=[quote(row.pk)])
                asks.append((url, forms[row.pk]))
            if not (staff and model_admin.has_delete_permission(request, row)):
                url = reverse(f"admin:{info}_delete", args=[quote(row.pk)])
                asks.append((url, {"post": "yes"}))
        for url, data in asks:
            response, writes = _post(client, url, data)
            refused = (
                response.status_code in REFUSED_POST
                if staff
                else response.status_code == 302
                and response["Location"].startswith(LOGIN)
            )
            if not refused or writes:
                wrong.append(f"{role} POST {url}: {response.status_code} {writes}")
    assert wrong == []


def _all_actions(model_admin) -> dict:
    """Every action of the admin and the site, by name: get_actions() would
    leave out those the asking user may not run."""
    declared = [func for _name, func in SITE.actions]
    declared += list(model_admin.actions or [])
    actions = {}
    for action in declared:
        found = model_admin.get_action(action)
        if found is not None:
            func, name, _description = found
            actions[name] = func
    return actions


def _has_rows(model_admin) -> bool:
    # The results dashboard has a page of its own and no rows to act on.
    opts = model_admin.opts
    name = f"{opts.app_label}_{opts.model_name}_change"
    return any(p.name == name for p in PATHS)


ACTIONS = [
    (model_admin, name)
    for model_admin in MODEL_ADMINS
    if _has_rows(model_admin)
    for name in _all_actions(model_admin)
]

# Actions that change nothing, for whoever may read the list.
READ_ONLY_ACTIONS = {
    # The debtor's data as a file (GDPR art. 15); the export logs itself.
    "customers.Customer.export_personal_data",
}

# What a confirmation page or a form of an action asks for, so that an action
# run without its permission would reach the database.
ACTION_FORM = {
    "index": "0",
    "apply": "1",
    "confirm": "yes",
    "post": "yes",
    "force": "on",
    "reason": "test",
    "until": FUTURE.isoformat(),
    "outcome": "reached",
    "note": "test",
}


def _may_run(model_admin, func, user) -> bool:
    request = _request(user, "post")
    if not model_admin.has_view_or_change_permission(request):
        return False
    return all(
        getattr(model_admin, f"has_{permission}_permission")(request)
        for permission in func.allowed_permissions
    )


@pytest.mark.parametrize(
    ("model_admin", "name"),
    ACTIONS,
    ids=[f"{ma.opts.label}.{name}" for ma, name in ACTIONS],
)
def test_an_action_is_refused_without_its_permission(world, model_admin, name):
    func = _all_actions(model_admin)[name]
    # An action without one is offered to everyone who may read the list.
    assert getattr(func, "allowed_permissions", ()), f"{name} names no permission"
    if set(func.allowed_permissions) <= {"view"}:
        assert f"{model_admin.opts.label}.{name}" in READ_ONLY_ACTIONS

    rows = world.objects[model_admin.model]
    opts = model_admin.opts
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    data = {**ACTION_FORM, "action": name, "_selected_action": [r.pk for r in rows]}
    wrong = []
    for role in ROLES[1:]:
        user = _user(world, role)
        if role not in {"user", "anonymous"} and _may_run(model_admin, func, user):
            continue
        client = _client(world, role)
        response, writes = _post(client, url, data)
        if role in {"user", "anonymous"}:
            refused = response.status_code == 302 and response["Location"].startswith(
                LOGIN
            )
        elif response.status_code == 302:
            # The list again, saying no action was chosen: it is not offered.
            notes = [str(m) for m in get_messages(response.wsgi_request)]
            refused = response["Location"] == url and "No action selected." in notes
        elif response.status_code == 200:
            # The list itself, for a user offered no action at all.
            refused = response.context is not None and "cl" in response.context
        else:
            refused = response.status_code == 403
        if not refused or writes:
            wrong.append(f"{role}: {response.status_code} {writes}")
    assert wrong == []


def test_the_write_check_sees_a_write(world):
    """The control: a superuser's case work reaches the database."""
    case = world.case
    client = _client(world, "superuser")
    url = reverse("admin:dunning_case_work", args=[case.pk, "pause"])

    response, writes = _post(
        client, url, {"until": FUTURE.isoformat(), "reason": "on holiday"}
    )

    assert response.status_code == 302
    assert any("dunning_case" in sql for sql in writes)


@pytest.mark.parametrize(("role", "promoted"), [("manager", True), ("auditor", False)])
def test_a_manager_promotes_a_model_version_and_an_auditor_cannot(
    world, role, promoted
):
    from personalisation.models import ModelVersion

    model = ModelVersion.objects.get()
    url = reverse("admin:personalisation_modelversion_changelist")

    _client(world, role).post(
        url, {"action": "promote", "_selected_action": [model.pk], "index": "0"}
    )

    model.refresh_from_db()
    assert (model.status == ModelVersion.Status.ACTIVE) is promoted


POST_VIEWS = [
    ("dunning_case_work", {"until": FUTURE.isoformat(), "reason": "on holiday"}),
    ("replies_reply_confirm", {"until": FUTURE.isoformat(), "reason": "paid"}),
    ("replies_reply_dismiss", {"note": "spam"}),
    ("rules_ruleset_activate", {}),
]


@pytest.mark.parametrize(("name", "data"), POST_VIEWS, ids=[n for n, _ in POST_VIEWS])
def test_a_custom_view_that_writes_refuses_a_post_without_its_permission(
    world, name, data
):
    view = CUSTOM_VIEWS[name]
    path = next(p for p in PATHS if p.name == name)
    url, _values = _urls(world, path)[0]
    if name == "dunning_case_work":
        url = reverse(f"admin:{name}", args=[world.case.pk, "pause"])
    wrong = []
    for role in ROLES[1:]:
        user = _user(world, role)
        if role not in {"user", "anonymous"} and _holds(user, view.perms):
            continue
        response, writes = _post(_client(world, role), url, data)
        expected = {302} if role in {"user", "anonymous"} else {403}
        if response.status_code not in expected or writes:
            wrong.append(f"{role}: {response.status_code} {writes}")
    assert wrong == []


# --- Rows by id ---------------------------------------------------------------------

OBJECT_VIEWS = [
    p
    for p in PATHS
    if p.model_admin is not None
    and p.kind in CUSTOM_VIEWS
    and {"object_id", "pk", "id"} & set(p.params)
]


@pytest.mark.parametrize("path", OBJECT_VIEWS, ids=str)
def test_a_custom_view_opens_only_rows_of_the_admins_queryset(world, path, monkeypatch):
    """An admin that hides a row (another creditor's, another clerk's) hides it
    from its custom views too: they look the id up in the admin's queryset."""
    model_admin = path.model_admin
    monkeypatch.setattr(
        model_admin, "get_queryset", lambda request: model_admin.model.objects.none()
    )
    client = _client(world, "superuser")
    post = (
        dict(POST_VIEWS).get(path.name) if CUSTOM_VIEWS[path.name].post_only else None
    )

    statuses = {}
    for url, _values in _urls(world, path):
        if post is None:
            statuses[url] = client.get(url).status_code
        else:
            response, writes = _post(client, url, post)
            statuses[url] = response.status_code if not writes else writes[0]

    assert set(statuses.values()) <= {302, 404, 405}, statuses


@pytest.mark.parametrize("model_admin", MODEL_ADMINS, ids=lambda ma: ma.opts.label)
def test_a_row_the_admin_hides_is_not_opened_by_its_id(world, monkeypatch, model_admin):
    """The change and history pages of a row outside the admin's queryset send
    back to the index ("does not exist"); its delete page too, or refuses."""
    opts = model_admin.opts
    names = {p.name for p in PATHS if p.model_admin is model_admin}
    pages = [
        f"{opts.app_label}_{opts.model_name}_{kind}"
        for kind in ["change", "history", "delete"]
    ]
    monkeypatch.setattr(
        model_admin, "get_queryset", lambda request: model_admin.model.objects.none()
    )
    client = _client(world, "superuser")

    statuses = {
        url: client.get(url).status_code
        for row in world.objects[model_admin.model]
        for name in pages
        if name in names
        for url in [reverse(f"admin:{name}", args=[quote(row.pk)])]
    }

    assert set(statuses.values()) <= {302, 403, 404}, statuses


EXPLAIN = [
    ("rules_explain_claim", "payments.Invoice", "invoice_id"),
    ("rules_explain_customer", "customers.Customer", "customer_id"),
]


@pytest.mark.parametrize(("name", "label", "param"), EXPLAIN)
def test_the_explain_pages_open_only_rows_of_their_models_admin(
    world, monkeypatch, name, label, param
):
    from django.apps import apps

    model = apps.get_model(label)
    monkeypatch.setattr(
        SITE._registry[model], "get_queryset", lambda request: model.objects.none()
    )
    row_id = getattr(world.case, param)

    response = _client(world, "superuser").get(reverse(f"admin:{name}", args=[row_id]))

    assert response.status_code == 404


def _missing_ids(model_admin):
    pk = model_admin.model._meta.pk
    if isinstance(pk, (models.AutoField, models.BigAutoField, models.IntegerField)):
        return ["987654321", "not-a-number"]
    return ["0" * 31 + "1"]


@pytest.mark.parametrize(
    "path",
    [p for p in PATHS if p.model_admin is not None and p.params],
    ids=str,
)
def test_an_id_that_names_no_row_is_not_found_not_an_error(world, path):
    client = _client(world, "superuser")
    wrong = []
    for missing in _missing_ids(path.model_admin):
        kwargs = {}
        for param in path.params:
            if param in {"object_id", "pk", "id", "invoice_id", "customer_id"}:
                kwargs[param] = missing
            elif param == "work":
                kwargs[param] = "pause"
        try:
            if path.name is None:
                url = "/admin/" + path.route.split("<")[0] + f"{missing}/"
            else:
                url = reverse(f"admin:{path.name}", kwargs=kwargs)
        except NoReverseMatch:  # an <int:> route takes no text
            continue
        response = client.get(url)
        if response.status_code >= 500 or response.status_code == 200:
            wrong.append(f"{url}: {response.status_code}")
    assert wrong == []


# --- Autocomplete -------------------------------------------------------------------

AUTOCOMPLETE = [
    (model_admin, field)
    for model_admin in MODEL_ADMINS
    for field in model_admin.autocomplete_fields
]


@pytest.mark.parametrize(
    ("model_admin", "field"),
    AUTOCOMPLETE,
    ids=[f"{ma.opts.label}.{f}" for ma, f in AUTOCOMPLETE],
)
def test_autocomplete_lists_rows_only_to_who_may_see_them(world, model_admin, field):
    remote = model_admin.model._meta.get_field(field).remote_field.model
    remote_admin = SITE._registry[remote]
    params = {
        "app_label": model_admin.opts.app_label,
        "model_name": model_admin.opts.model_name,
        "field_name": field,
        "term": "",
    }
    wrong = []
    for role in ROLES:
        response = _client(world, role).get(reverse("admin:autocomplete"), params)
        if role in {"user", "anonymous"}:
            expected = {302}
        elif remote_admin.has_view_permission(_request(world.users[role])):
            expected = {200}
        else:
            expected = {403}
        if response.status_code not in expected:
            wrong.append(f"{role}: {response.status_code}, {expected}")
    assert wrong == []


# --- Secrets ------------------------------------------------------------------------


def test_a_devices_secret_key_shows_only_to_who_may_change_the_device(world):
    """An auditor reads who has a second factor, not the factor itself."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get()
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])

    audited = _client(world, "auditor").get(url)
    configured = _client(world, "superuser").get(url)

    assert audited.status_code == 200
    assert device.name in audited.content.decode()
    assert device.key not in audited.content.decode()
    assert device.key in configured.content.decode()
