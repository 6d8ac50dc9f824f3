from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("p/", include("portal.urls")),
    path("webhooks/replies/", include("replies.urls")),
    path("webhooks/delivery/", include("delivery.urls")),
    path("contact/", include("contact.urls")),
    path("api/v1/", include("api.urls")),
]
