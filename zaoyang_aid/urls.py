from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "资助帮扶 · 系统管理"
admin.site.site_title = "资助帮扶"
admin.site.index_title = "基础数据与账号"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("audit/", views.audit_log, name="audit_log"),
    path("admin/", admin.site.urls),
    path("", include("pairing.urls")),
    path("", include("guidance.urls")),
    path("", include("casefiles.urls")),
]
