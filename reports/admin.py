"""The results dashboard's place in the admin: /admin/reports/results/."""

from django.contrib import admin
from django.urls import path

from reports.models import Results
from reports.views import results_view


@admin.register(Results)
class ResultsAdmin(admin.ModelAdmin):
    """No rows to list: the model's one page is the dashboard."""

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.changelist_view)
        return [
            path("", view, name=f"{opts.app_label}_{opts.model_name}_changelist"),
        ]

    def changelist_view(self, request, extra_context=None):
        return results_view(request, admin_site=self.admin_site)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
