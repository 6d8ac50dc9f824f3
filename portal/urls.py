from django.urls import path

from portal import access_views, views, ways_views

app_name = "portal"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/pay/", views.pay, name="pay"),
    path("<str:token>/language/", ways_views.language, name="language"),
    path("<str:token>/preferences/", ways_views.preferences, name="preferences"),
    path(
        "<str:token>/claims/<int:invoice_id>/instalments/",
        ways_views.instalments,
        name="instalments",
    ),
    path(
        "<str:token>/claims/<int:invoice_id>/promise/",
        ways_views.promise,
        name="promise",
    ),
    path(
        "<str:token>/claims/<int:invoice_id>/already-paid/",
        ways_views.already_paid,
        name="already_paid",
    ),
    path(
        "<str:token>/claims/<int:invoice_id>/dispute/",
        ways_views.dispute,
        name="dispute",
    ),
    path("<str:token>/verify/", access_views.verify, name="verify"),
    path("<str:token>/test-pay/<str:reference>/", views.test_pay, name="test_pay"),
    path("<str:token>/thanks/<str:reference>/", views.thanks, name="thanks"),
]
