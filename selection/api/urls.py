from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("watchlists", views.WatchlistViewSet, basename="watchlist")
router.register("watchlist-assets", views.WatchlistAssetViewSet, basename="watchlistasset")
router.register("portfolios", views.PortfolioViewSet, basename="portfolio")
router.register("holdings", views.PortfolioAssetViewSet, basename="portfolioasset")
router.register("watchlist-analyses", views.WatchlistAnalysisViewSet, basename="aiwatchlistanalysis")
router.register("portfolio-analyses", views.PortfolioAnalysisViewSet, basename="aiportfolioanalysis")

urlpatterns = router.urls
