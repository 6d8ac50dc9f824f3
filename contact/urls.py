from django.urls import path

from contact import views

app_name = "contact"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("sms/inbound/", views.sms_inbound, name="sms_inbound"),
]
