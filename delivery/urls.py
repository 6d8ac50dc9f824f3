from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("mailgun/", views.mailgun, name="mailgun"),
    path("twilio/", views.twilio, name="twilio"),
]
