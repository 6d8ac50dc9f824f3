"""django.contrib.admin with the site of config/admin.py as `admin.site`."""

from django.contrib.admin.apps import AdminConfig


class DunningAdminConfig(AdminConfig):
    # A dotted path: the site's module imports models, which must wait.
    default_site = "config.admin.DunningAdminSite"
