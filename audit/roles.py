"""The three back-office roles as groups, and the permissions each one gets.

Grants are patterns over app label and permission codename rather than lists of
models, so a model added later is covered by the role it belongs to (a new
"...rule" or "...template" model is configuration for managers, a new model's
view permission goes to auditors). `sync_roles` runs after every migrate and
from the `sync_roles` command; it sets each group to exactly its grants, so a
role is changed here, not by hand in the admin.
"""

import logging
import re

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

logger = logging.getLogger(__name__)

MANAGER = "Dunning manager"
CLERK = "Collections clerk"
AUDITOR = "Auditor"

# Apps whose rows are the business: claims, customers, cases, messages.
DOMAIN_APPS = (
    r"customers|payments|dunning|messaging|personalisation|portal|replies|delivery"
)
# Apps with nothing for a person to read.
HIDDEN_APPS = {"contenttypes", "sessions"}
# What a manager configures, in the apps that exist now; the last pattern
# covers rules, templates and contact policies wherever they are added.
CONFIGURATION = [
    (r"dunning", r"(add|change|delete)_(plan|step)"),
    (r"customers", r"(add|change|delete)_creditor"),
    (
        r"payments",
        r"(add|change|delete)_"
        r"(interestregime|compensationtier|referencerate|referenceratevalue)",
    ),
    (r"personalisation", r"(add|change|delete)_channelcost"),
    (r".*", r"(add|change|delete)_\w*(rule|template|policy)\w*"),
    (r"experiments", r"(add|change|delete)_(experiment|arm)"),
]
WORK_CASES = (r"dunning", r"work_case")
# A manager answers for the channels: a failure-rate alert is theirs to close.
ACKNOWLEDGE_ALERTS = (r"delivery", r"acknowledge_channelalert")
# And for the models personalisation decides with: the model version's change
# permission is what promoting and rolling back need (its form is read only).
PROMOTE_MODELS = (r"personalisation", r"change_modelversion")

ROLES: dict[str, list[tuple[str, str]]] = {
    MANAGER: [
        (r".*", r"view_\w+"),
        *CONFIGURATION,
        WORK_CASES,
        ACKNOWLEDGE_ALERTS,
        PROMOTE_MODELS,
    ],
    # Not what payment providers reported (ProviderPaymentEvent): a manager's
    # or an auditor's when a payment or reversal is questioned.
    CLERK: [(DOMAIN_APPS, r"view_(?!providerpaymentevent$)\w+"), WORK_CASES],
    AUDITOR: [(r".*", r"view_\w+")],
}


def _matches(grants, app_label: str, codename: str) -> bool:
    if app_label in HIDDEN_APPS:
        return False
    return any(
        re.fullmatch(app_pattern, app_label) and re.fullmatch(code_pattern, codename)
        for app_pattern, code_pattern in grants
    )


def sync_roles(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create the groups and set each one's permissions; returns counts per role."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    permissions = list(
        Permission.objects.using(using)
        .select_related("content_type")
        .only("id", "codename", "content_type__app_label")
    )
    counts = {}
    for name, grants in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        granted = [
            p.id
            for p in permissions
            if _matches(grants, p.content_type.app_label, p.codename)
        ]
        group.permissions.set(granted)
        counts[name] = len(granted)
    logger.info("roles synced: %s", counts)
    return counts
