import pytest
from django.db import IntegrityError, transaction

from ai.models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from ai.tests.factories import (
    AIModelFactory,
    ModelEvaluationFactory,
    ModelPredictionJobFactory,
    ModelTrainingJobFactory,
)
from cryptopredict.choices import JobStatus

pytestmark = pytest.mark.django_db


def test_one_active_version_per_name_and_type():
    old = AIModelFactory(name="regime", version="1.0", is_active=True)
    AIModelFactory(name="regime", version="2.0", is_active=False)
    # The same name under another type is another model.
    AIModelFactory(name="regime", version="1.0-sector", model_type="sector", is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AIModel.objects.filter(name="regime", version="2.0").update(is_active=True)

    AIModel.objects.filter(pk=old.pk).update(is_active=False)
    AIModel.objects.filter(name="regime", version="2.0").update(is_active=True)
    assert AIModel.objects.get(is_active=True, model_type=old.model_type).version == "2.0"


def test_one_running_training_job_per_model_but_many_queued():
    job = ModelTrainingJobFactory(status=JobStatus.RUNNING)
    ModelTrainingJobFactory.create_batch(2, model=job.model, status=JobStatus.PENDING)
    ModelTrainingJobFactory(status=JobStatus.RUNNING)  # another model
    assert job.model.training_jobs.count() == 3


def test_deleting_a_model_deletes_its_evaluations_and_jobs():
    evaluation = ModelEvaluationFactory()
    model = evaluation.model
    ModelTrainingJobFactory(model=model)
    ModelPredictionJobFactory(model=model)
    model.delete()
    for related in (ModelEvaluation, ModelTrainingJob, ModelPredictionJob):
        assert not related.objects.exists(), related
