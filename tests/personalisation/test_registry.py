"""The model registry: one active version per kind, promote and roll back."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from personalisation.models import ModelVersion
from personalisation.registry import active_model, model_promote, model_rollback

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


def test_a_registered_model_is_a_candidate_with_its_file_and_metrics(
    register, model_dir
):
    """Training window, features, metrics and the joblib file are recorded."""
    model = register()

    assert model.status == Status.CANDIDATE
    assert Path(model.path).parent == model_dir and Path(model.path).exists()
    assert model.metrics["roc_auc"] > 0.5
    assert "share_paid_late" in model.features
    assert model.window_start < model.window_end
    assert active_model("propensity") is None


def test_promoting_retires_the_active_version(register):
    """The newly promoted version is the active one; the one before retires."""
    first, second = register(), register()
    model_promote(model=first, actor="test")

    assert model_promote(model=second, actor="test") is True

    first.refresh_from_db()
    assert first.status == Status.RETIRED and first.retired_at is not None
    assert second.status == Status.ACTIVE
    assert active_model("propensity").version == second.version


def test_the_database_refuses_two_active_versions_of_a_kind(register):
    """Even a write around the service cannot make a second active model."""
    first, second = register(), register()
    model_promote(model=first, actor="test")

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(status=Status.ACTIVE)


def test_rolling_back_reactivates_the_previous_version(register):
    """A rollback brings back the version that was active before."""
    first, second = register(), register()
    model_promote(model=first, actor="test")
    model_promote(model=second, actor="test")

    restored = model_rollback(kind="propensity", actor="test")

    assert restored.pk == first.pk and restored.status == Status.ACTIVE
    second.refresh_from_db()
    assert second.status == Status.RETIRED
    assert "rolled back" in second.reason


def test_rolling_back_the_only_version_leaves_the_rules(register):
    """With nothing to go back to, no model is active and rules decide."""
    model_promote(model=register(), actor="test")

    assert model_rollback(kind="propensity", actor="test") is None
    assert active_model("propensity") is None


def test_a_candidate_never_active_is_not_a_rollback_target(register):
    """Rollback goes to a version that served before, not an untried one."""
    first, untried, second = register(), register(), register()
    model_promote(model=first, actor="test")
    model_promote(model=second, actor="test")

    assert model_rollback(kind="propensity", actor="test").pk == first.pk
    untried.refresh_from_db()
    assert untried.status == Status.CANDIDATE


def test_the_admin_actions_promote_and_roll_back_and_report_counts(client, register):
    """A manager promotes a candidate and rolls it back from the change list."""
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    first, second = register(), register()
    model_promote(model=first, actor="test")
    url = "/admin/personalisation/modelversion/"

    response = client.post(
        url,
        {"action": "promote", "_selected_action": [second.pk]},
        follow=True,
    )

    assert "1 version(s) promoted." in response.content.decode()
    second.refresh_from_db()
    assert second.status == Status.ACTIVE

    response = client.post(
        url,
        {"action": "roll_back", "_selected_action": [second.pk]},
        follow=True,
    )

    assert "1 kind(s) rolled back, 1 to an earlier version" in (
        response.content.decode()
    )
    first.refresh_from_db()
    assert first.status == Status.ACTIVE
    page = client.get(f"{url}{first.pk}/change/").content.decode()
    assert "roc_auc" in page
