from django.db import models


class NoRows(models.Manager):
    """There is no table to read: every query answers with no rows."""

    def get_queryset(self):
        return super().get_queryset().none()


class Results(models.Model):
    """The results dashboard, as an admin entry and a permission.

    No table: the model exists so that the dashboard has a place on the admin
    index and a `reports.view_results` permission that roles grant (managers
    and auditors by `audit.roles`, clerks not).
    """

    objects = NoRows()

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = "results"
        verbose_name_plural = "results"

    def __str__(self) -> str:
        return "Results"
