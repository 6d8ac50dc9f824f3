from django.urls import path

from replies import views

app_name = "replies"
urlpatterns = [
    path("generic/", views.generic, name="generic"),
    path("mailgun/", views.mailgun, name="mailgun"),
    path("mailgun/mime", views.mailgun, name="mailgun_mime"),
    path("twilio/", views.twilio, name="twilio"),
]
