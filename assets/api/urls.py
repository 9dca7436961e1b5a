from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("assets", views.AssetViewSet, basename="asset")
router.register("price-data", views.PriceDataViewSet, basename="pricedata")
router.register("price-data-archive", views.PriceDataArchiveViewSet, basename="pricedataarchive")

urlpatterns = router.urls
