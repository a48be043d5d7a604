from django.contrib.auth import views as auth_views
from django.urls import path

from . import admin_views, views

app_name = "users"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
    path("otp/enrol/", views.otp_enrol, name="otp_enrol"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    *admin_views.urlpatterns,
]
