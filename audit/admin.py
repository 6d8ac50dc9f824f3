"""The configuration history, read only: who changed what, when, before and after."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from audit.models import TRACKED
from payments.admin import ReadOnlyMixin

CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


class HistoryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["history_date", "history_user", "change_type", "record", "id"]
    list_filter = ["history_type", "history_date"]
    list_select_related = ["history_user"]
    search_fields = ["history_user__username", "history_change_reason"]
    date_hierarchy = "history_date"
    fields = ["history_date", "history_user", "change_type", "record", "changes"]
    readonly_fields = fields

    @admin.display(description="Change", ordering="history_type")
    def change_type(self, record):
        return CHANGE_TYPES.get(record.history_type, record.history_type)

    @admin.display(description="Record")
    def record(self, record):
        # The row's own fields, not its __str__, which may follow relations.
        name = getattr(record, "name", None)
        label = f"{record.instance_type._meta.verbose_name} {record.id}"
        return f"{label}: {name}" if name else label

    @admin.display(description="Before → after")
    def changes(self, record):
        previous = record.prev_record
        if previous is None:
            # A creation, or a row changed first before history began: its
            # "before" is unknown.
            before = "" if record.history_type == "+" else "(unknown)"
            rows = [
                (field.name, before, _value(getattr(record, field.attname)))
                for field in record.instance_type._meta.concrete_fields
            ]
        else:
            delta = record.diff_against(previous)
            rows = [
                (change.field, _value(change.old), _value(change.new))
                for change in delta.changes
            ]
        if not rows:
            return "no field changed"
        body = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>",
            body,
        )


def _value(value) -> str:
    return "" if value is None else str(value)


for _model in TRACKED:
    admin.site.register(_model.history.model, HistoryAdmin)
