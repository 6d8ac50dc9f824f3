from django.contrib import admin
from django.urls import include, path

from ops.views import healthz
from payments import webhooks as payment_webhooks
from portal import access_views as portal_access_views
from portal.webhooks import stripe_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("p/", include("portal.urls")),
    # The short address printed on letters, next to the QR code.
    path("k/", portal_access_views.short_code, name="portal_short"),
    path("webhooks/payments/stripe/", stripe_webhook, name="stripe_webhook"),
    path("webhooks/replies/", include("replies.urls")),
    path("webhooks/delivery/", include("delivery.urls")),
    path("webhooks/payments/", payment_webhooks.signed, name="payments_webhook"),
    path("contact/", include("contact.urls")),
    path("api/v1/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
]
