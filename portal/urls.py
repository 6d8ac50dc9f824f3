from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/pay/", views.pay, name="pay"),
    path("<str:token>/test-pay/<str:reference>/", views.test_pay, name="test_pay"),
    path("<str:token>/thanks/<str:reference>/", views.thanks, name="thanks"),
]
