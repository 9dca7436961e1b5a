from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("metrics-snapshots", views.MetricsSnapshotViewSet, basename="metricssnapshot")
router.register("regime-analyses", views.AIRegimeAnalysisViewSet, basename="airegimeanalysis")

urlpatterns = router.urls
