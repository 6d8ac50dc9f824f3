"""Shared fixtures: the real data sets, an outbox per test, named objects."""

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SHARED_DATA_DIR", REPO_DIR.parent / "shared" / "data"))
IBM_FILE = DATA_DIR / "ar-ibm-late-payment" / "WA_Fn-UseC_-Accounts-Receivable.csv"
TAIWAN_FILE = (
    DATA_DIR / "uci-credit-default-taiwan" / "default-of-credit-card-clients.csv"
)


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data set not found at {path} (set SHARED_DATA_DIR)")
    return path


@pytest.fixture
def ibm_file() -> Path:
    return _require(IBM_FILE)


@pytest.fixture
def taiwan_file() -> Path:
    return _require(TAIWAN_FILE)


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path) -> Path:
    """Every test writes e-mails, SMS and letters to its own folder."""
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = settings.OUTBOX_DIR / "email"
    settings.SMS_FILE_PATH = settings.OUTBOX_DIR / "sms"
    settings.LETTER_FILE_PATH = settings.OUTBOX_DIR / "letters"
    settings.SITE_URL = "http://testserver"
    return settings.OUTBOX_DIR


def acme_creditor():
    """Acme GmbH of Berlin, the creditor most tests collect for."""
    from customers.models import Creditor

    return Creditor.objects.create(
        name="Acme GmbH",
        legal_name="Acme Handels GmbH",
        street="Hauptstraße 1",
        postcode="10115",
        city="Berlin",
        country="DE",
        time_zone="Europe/Berlin",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        email="billing@acme.example",
    )


@pytest.fixture
def creditor(db):
    return acme_creditor()


@pytest.fixture
def alice(creditor):
    """A consumer in Berlin who reads e-mail."""
    from customers.models import Customer

    return Customer.objects.create(
        creditor=creditor,
        external_id="C-ALICE",
        kind="consumer",
        name="Alice Ahrens",
        email="alice@example.com",
        street="Lindenweg 5",
        postcode="10117",
        city="Berlin",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
        birth_year=1985,
    )


@pytest.fixture
def bob_ltd(creditor):
    """A business customer in London that gets letters."""
    from customers.models import Customer

    return Customer.objects.create(
        creditor=creditor,
        external_id="C-BOB",
        kind="business",
        name="Bob Ltd",
        street="1 King Street",
        postcode="EC2V 8AU",
        city="London",
        country="GB",
        language="en",
        time_zone="Europe/London",
        consent_email=False,
    )


@pytest.fixture
def make_invoice(creditor):
    from payments.services import invoice_create

    counter = {"n": 0}

    def make(customer, amount="100.00", due_on=date(2025, 3, 3), currency="EUR", **kw):
        counter["n"] += 1
        number = kw.pop("number", f"INV-{counter['n']:04d}")
        return invoice_create(
            creditor=customer.creditor,
            customer=customer,
            external_id=number,
            number=number,
            currency=currency,
            amount=Decimal(amount),
            issued_on=kw.pop("issued_on", due_on - timedelta(days=30)),
            due_on=due_on,
            actor="test",
            **kw,
        )

    return make


@pytest.fixture
def standard_plan(transactional_db):
    """The default plan, made again from its data migration's list of steps.

    For tests with a live server (`transactional_db`): an earlier transactional
    test's flush removes what migrations wrote; the roles come back by
    themselves (`audit.roles.sync_roles` after a flush).
    """
    import importlib

    from dunning.models import Plan, Step

    shipped = importlib.import_module("dunning.migrations.0003_default_plan")
    plan, _ = Plan.objects.get_or_create(
        name="Standard", creditor=None, defaults={"is_default": True}
    )
    for position, name, action, days, channels, fee, tone, pay_days in shipped.STEPS:
        Step.objects.get_or_create(
            plan=plan,
            position=position,
            defaults={
                "name": name,
                "action": action,
                "days": days,
                "channels": channels,
                "fee": Decimal(fee),
                "tone_floor": tone,
                "payment_days": pay_days,
            },
        )
    return plan


# Rule sets and rules built as a manager would in the admin.


@pytest.fixture
def make_rule_set(db):
    def make(name="Collections policy", creditor=None, **kw):
        from rules.models import RuleSet

        return RuleSet.objects.create(
            name=name, creditor=creditor, created_by="user:test", **kw
        )

    return make


@pytest.fixture
def make_rule():
    def make(rule_set, name, conditions=(), priority=100, **effects):
        """`conditions` are (attribute, operator, value) or (group, a, o, v)."""
        from rules.models import Condition, Rule

        rule = Rule.objects.create(
            rule_set=rule_set, name=name, priority=priority, **effects
        )
        for row in conditions:
            group, attribute, operator, value = row if len(row) == 4 else (1, *row)
            Condition.objects.create(
                rule=rule,
                group=group,
                attribute=attribute,
                operator=operator,
                value=value,
            )
        return rule

    return make


def _staff(username: str, role: str):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def manager(db):
    """Maria, a dunning manager."""
    from audit.roles import MANAGER

    return _staff("maria", MANAGER)


@pytest.fixture
def clerk(db):
    """Carl, a collections clerk."""
    from audit.roles import CLERK

    return _staff("carl", CLERK)


@pytest.fixture
def auditor(db):
    """Audrey, an auditor."""
    from audit.roles import AUDITOR

    return _staff("audrey", AUDITOR)
