from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("notification-channels", views.NotificationChannelViewSet, basename="notificationchannel")
router.register("alert-rules", views.AlertRuleViewSet, basename="alertrule")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
