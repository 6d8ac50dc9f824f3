from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api import views

router = SimpleRouter(use_regex_path=False)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", views.CreditNoteViewSet, basename="credit-note")
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("cases", views.CaseViewSet, basename="case")
router.register("messages", views.MessageViewSet, basename="message")
router.register(
    "instalment-plans", views.InstalmentPlanViewSet, basename="instalment-plan"
)
router.register(
    "delivery-events", views.DeliveryEventViewSet, basename="delivery-event"
)

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    # Any other path under /api/v1/, line breaks included, is a JSON 404.
    re_path(r"^[\s\S]*$", views.not_found),
]
