from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("trading-signals", views.AITradingSignalViewSet, basename="aitradingsignal")
router.register("trade-actions", views.TradeActionViewSet, basename="tradeaction")
router.register(
    "portfolio-asset-analyses", views.PortfolioAssetAnalysisViewSet, basename="portfolioassetanalysis"
)

urlpatterns = router.urls
