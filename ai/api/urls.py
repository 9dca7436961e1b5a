from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("ai-models", views.AIModelViewSet, basename="aimodel")
router.register("model-evaluations", views.ModelEvaluationViewSet, basename="modelevaluation")
router.register("training-jobs", views.ModelTrainingJobViewSet, basename="modeltrainingjob")
router.register("prediction-jobs", views.ModelPredictionJobViewSet, basename="modelpredictionjob")

urlpatterns = router.urls
