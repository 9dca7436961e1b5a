"""Filters for the AI registry, evaluations and jobs."""

from django_filters import rest_framework as filters

from cryptopredict.api.filters import BaseFilterSet, IdOrSlugFilter, filter_fields

from .models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob


class AIModelFilterSet(BaseFilterSet):
    class Meta:
        model = AIModel
        fields = filter_fields(AIModel)


class ModelRelatedFilterSet(BaseFilterSet):
    model_name = filters.CharFilter(field_name="model__name", lookup_expr="iexact")


class ModelEvaluationFilterSet(ModelRelatedFilterSet):
    class Meta:
        model = ModelEvaluation
        fields = filter_fields(ModelEvaluation)


class ModelTrainingJobFilterSet(ModelRelatedFilterSet):
    class Meta:
        model = ModelTrainingJob
        fields = filter_fields(ModelTrainingJob)


class ModelPredictionJobFilterSet(ModelRelatedFilterSet):
    asset = IdOrSlugFilter(field_name="asset", slug_field="symbol", label="Asset id or symbol")
    asset_symbol = IdOrSlugFilter(field_name="asset", slug_field="symbol", ids=False)
    sector = IdOrSlugFilter(field_name="sector", slug_field="slug", label="Sector id or slug")
    sector_slug = IdOrSlugFilter(field_name="sector", slug_field="slug", ids=False)

    class Meta:
        model = ModelPredictionJob
        fields = filter_fields(ModelPredictionJob)
