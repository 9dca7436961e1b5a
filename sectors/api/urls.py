from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sectors", views.SectorViewSet, basename="sector")
router.register("sector-history", views.SectorHistoryViewSet, basename="sectorhistory")
router.register("sector-mappings", views.SectorMappingViewSet, basename="sectormapping")
router.register("sector-analyses", views.AISectorAnalysisViewSet, basename="aisectoranalysis")
router.register("cross-sector-analyses", views.AICrossSectorAnalysisViewSet, basename="aicrosssectoranalysis")
router.register("rotation-flows", views.SectorRotationFlowViewSet, basename="sectorrotationflow")

urlpatterns = router.urls
