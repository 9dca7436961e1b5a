"""The AI API: registry and evaluations (shared base), jobs queued, cancelled and retried."""

from datetime import UTC, datetime

from django.urls import reverse

from ai.choices import ModelType
from ai.models import AIModel, ModelEvaluation, ModelPredictionJob, ModelTrainingJob
from ai.registry import register
from ai.tests.factories import (
    AIModelFactory,
    ModelEvaluationFactory,
    ModelPredictionJobFactory,
    ModelTrainingJobFactory,
)
from assets.tests.factories import AssetFactory
from cryptopredict.choices import JobStatus
from cryptopredict.testing.api import APITestCase, APIViewTestCases
from selection.models import Portfolio, Watchlist
from selection.tests.factories import PortfolioFactory, WatchlistFactory
from users.models import UserActivity


# Architectures of our own, so that these tests do not depend on the domain apps' models.
@register("api_test_trainable")
class TrainableForTests:
    model_type = ModelType.MACRO
    trainable = True

    def fit(self, *, model, window):
        return {}

    def predict(self, *, model, job, scope) -> int:
        return 0


@register("api_test_rules")
class RulesForTests(TrainableForTests):
    trainable = False


@register("api_test_selection")
class SelectionForTests(RulesForTests):
    model_type = "asset"
    owned_targets = {"watchlist": Watchlist, "portfolio": Portfolio}


MODEL = {"architecture": "api_test_trainable", "model_type": "macro"}


class AIModelAPITest(APIViewTestCases.APIViewTestCase):
    model = AIModel
    basename = "aimodel"
    query_budget = {"list": 2, "retrieve": 1, "create": 32, "update": 9, "destroy": 16}
    factory = AIModelFactory
    update_data = {"training_notes": "Retrained on 2024", "min_confidence_threshold": "0.70"}
    bad_data = [
        ({"architecture": "crystal_ball"}, "architecture"),
        ({"model_type": "oracle"}, "model_type"),
        ({"min_confidence_threshold": "1.5"}, "min_confidence_threshold"),
        ({"training_data_timeframe": "2d"}, "training_data_timeframe"),
        ({"name": ""}, "name"),
    ]

    @classmethod
    def get_create_data(cls):
        base = {**MODEL, "training_data_timeframe": "1d", "target_variable": "regime"}
        return [{**base, "name": f"regime-{n}", "version": "1.0"} for n in range(3)]

    def test_registration_goes_through_the_service(self):
        self.login("admin")
        data = {"name": "rules", "version": "1", "architecture": "api_test_rules", "framework": "numpy"}
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 201, "register")
        self.assertEqual((response.data["model_type"], response.data["status"]), ("macro", "inactive"))
        self.assertEqual(response.data["framework"], "numpy")
        response = self.client.post(
            self.list_url(), {**data, "version": "2", "model_type": "sector"}, format="json"
        )
        self.assert_status(response, 400, "type not made by the architecture")
        self.assertIn("model_type", response.data)
        response = self.client.post(self.list_url(), data, format="json")
        self.assert_status(response, 400, "same name and version")
        self.assertIn("version", response.data)

    def test_activate_replaces_the_active_model_and_deprecate_retires(self):
        old = AIModelFactory(name="regime", architecture="api_test_rules", model_type="macro", is_active=True)
        new = AIModelFactory(name="regime", architecture="api_test_rules", model_type="macro")
        untrained = AIModelFactory(name="regime", **MODEL)
        url = lambda obj, name: reverse(f"api:aimodel-{name}", kwargs={"pk": obj.pk})  # noqa: E731
        self.login("owner")
        self.assert_status(self.client.post(url(new, "activate")), 403, "a reader activates")
        self.login("admin")
        response = self.client.post(url(new, "activate"))
        self.assert_status(response, 200, "activate")
        self.assertTrue(response.data["is_active"])
        old.refresh_from_db()
        self.assertFalse(old.is_active)
        response = self.client.post(url(untrained, "activate"))
        self.assert_status(response, 400, "untrained")
        self.assertIn("not been trained", str(response.data))
        response = self.client.post(url(new, "deprecate"))
        self.assertEqual((response.data["status"], response.data["is_active"]), ("deprecated", False))
        self.assert_status(self.client.post(url(new, "activate")), 400, "activate a deprecated model")

    def test_lifecycle_fields_are_read_only(self):
        model = AIModelFactory()
        self.login("admin")
        self.client.patch(self.detail_url(model), {"is_active": True, "status": "active"}, format="json")
        model.refresh_from_db()
        self.assertEqual((model.is_active, model.status), (False, "inactive"))

    def test_delete_of_a_model_with_analyses_is_a_conflict(self):
        from macro.tests.factories import AIRegimeAnalysisFactory

        analysis = AIRegimeAnalysisFactory()
        self.login("admin")
        response = self.client.delete(self.detail_url(analysis.ai_model))
        self.assert_status(response, 409, "protected")
        self.assertEqual(response.data["code"], "protected")
        self.assertTrue(AIModel.objects.filter(pk=analysis.ai_model_id).exists())
        self.assertFalse(UserActivity.objects.filter(action="delete").exists())


class ModelEvaluationAPITest(APIViewTestCases.APIViewTestCase):
    model = ModelEvaluation
    basename = "modelevaluation"
    query_budget = {"list": 2, "retrieve": 1, "create": 23, "update": 5, "destroy": 5}
    factory = ModelEvaluationFactory
    update_data = {"notes": "checked", "sharpe_ratio": "1.5000"}
    bad_data = [
        ({"period_end": "2023-01-01T00:00:00Z"}, "period_end"),
        ({"accuracy": "1.2"}, "accuracy"),
        ({"max_drawdown": "-0.1"}, "max_drawdown"),
        ({"sample_size": -3}, "sample_size"),
        ({"evaluation_type": "vibes"}, "evaluation_type"),
        ({"model": 10**9}, "model"),
    ]

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.ai_model = AIModelFactory()

    @classmethod
    def get_create_data(cls):
        return [
            {
                "model": cls.ai_model.pk,
                "evaluation_type": kind,
                "period_start": "2024-01-01T00:00:00Z",
                "period_end": "2024-04-01T00:00:00Z",
                "timeframe": "1d",
                "sample_size": 91,
                "accuracy": "0.5600",
                "win_rate": "0.5100",
                "metrics": {"accuracy": 0.56},
            }
            for kind in ("backtest", "holdout", "live")
        ]

    def test_evaluator_is_the_requesting_user(self):
        self.login("admin")
        response = self.client.post(self.list_url(), self.get_create_data()[0], format="json")
        self.assertEqual(response.data["evaluated_by"], self.users["admin"].pk)
        self.assertEqual(response.data["model_name"], self.ai_model.name)


class TrainingJobReadAPITest(
    APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase
):
    model = ModelTrainingJob
    basename = "modeltrainingjob"
    untested_actions = {"create": "JobLifecycleAPITest: a job is queued through the service"}
    query_budget = {"list": 1, "retrieve": 1}
    factory = ModelTrainingJobFactory


class PredictionJobReadAPITest(
    APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase
):
    model = ModelPredictionJob
    basename = "modelpredictionjob"
    untested_actions = {"create": "JobLifecycleAPITest: a job is queued through the service"}
    query_budget = {"list": 1, "retrieve": 1}
    factory = ModelPredictionJobFactory

    def test_filter_by_asset_symbol(self):
        job = ModelPredictionJobFactory(asset=AssetFactory(symbol="SOL"))
        ModelPredictionJobFactory()
        self.login("guest")
        for query in ({"asset": "sol"}, {"asset_symbol": "SOL"}, {"asset__in": job.asset_id}):
            rows = self.client.get(self.list_url(**query)).data["results"]
            self.assertEqual([r["id"] for r in rows], [job.pk], query)
            self.assertEqual(rows[0]["asset_symbol"], "SOL")


class JobLifecycleAPITest(APITestCase):
    model = ModelPredictionJob

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.trainable = AIModelFactory(**MODEL)
        cls.rules = AIModelFactory(architecture="api_test_rules", model_type="macro")
        cls.selection = AIModelFactory(architecture="api_test_selection", model_type="asset")

    def test_writer_queues_a_training_job(self):
        self.login("admin")
        data = {"model": self.trainable.pk, "parameters": {"epochs": 3}, "training_data_start": "2024-01-01"}
        data["training_data_start"] = "2024-01-01T00:00:00Z"
        response = self.client.post(reverse("api:modeltrainingjob-list"), data, format="json")
        self.assert_status(response, 201, "queue training")
        job = ModelTrainingJob.objects.get(pk=response.data["id"])
        self.assertEqual(
            (job.status, job.requested_by, job.parameters), ("pending", self.users["admin"], {"epochs": 3})
        )
        self.assertTrue(job.task_id)
        self.assertEqual(response.data["timeframe"], self.trainable.training_data_timeframe)

    def test_training_job_bad_input(self):
        self.login("admin")
        url = reverse("api:modeltrainingjob-list")
        for data, field in (
            ({"model": self.rules.pk}, "model"),  # rule-based: nothing to train
            ({"model": 10**9}, "model"),
            ({"model": self.trainable.pk, "parameters": [1]}, "parameters"),
            ({"model": self.trainable.pk, "timeframe": "2d"}, "timeframe"),
            (
                {
                    "model": self.trainable.pk,
                    "training_data_start": "2024-02-01T00:00:00Z",
                    "training_data_end": "2024-01-01T00:00:00Z",
                },
                "training_data_end",
            ),
        ):
            with self.subTest(data=data):
                response = self.client.post(url, data, format="json")
                self.assert_status(response, 400, str(data))
                self.assertIn(field, response.data)

    def test_readers_may_not_queue_training(self):
        for role, expected in (("anonymous", 401), ("guest", 403), ("owner", 403), ("staff", 403)):
            with self.subTest(role=role):
                self.login(role)
                response = self.client.post(
                    reverse("api:modeltrainingjob-list"), {"model": self.trainable.pk}, format="json"
                )
                self.assert_status(response, expected, role)

    def test_jobs_are_never_edited(self):
        job = ModelTrainingJobFactory()
        self.login("admin")
        url = reverse("api:modeltrainingjob-detail", kwargs={"pk": job.pk})
        self.assert_status(self.client.patch(url, {"status": "completed"}, format="json"), 405, "patch")
        self.assert_status(self.client.delete(url), 405, "delete")

    def test_cancel_then_retry(self):
        job = ModelTrainingJobFactory(model=self.trainable)
        url = lambda name: reverse(f"api:modeltrainingjob-{name}", kwargs={"pk": job.pk})  # noqa: E731
        self.login("owner")
        self.assert_status(self.client.post(url("cancel")), 403, "a reader cancels")
        self.login("admin")
        response = self.client.post(url("cancel"))
        self.assert_status(response, 200, "cancel")
        self.assertEqual(response.data["status"], JobStatus.CANCELLED)
        response = self.client.post(url("cancel"))
        self.assert_status(response, 409, "cancel twice")
        self.assertEqual(response.data["code"], "transition")
        response = self.client.post(url("retry"))
        self.assert_status(response, 200, "retry")
        self.assertEqual(response.data["status"], JobStatus.PENDING)
        self.assertEqual(
            list(
                UserActivity.objects.filter(entity_id=job.pk)
                .order_by("pk")
                .values_list("details__status", flat=True)
            ),
            ["cancelled", "pending"],
        )

    def test_retry_of_a_completed_job_is_a_conflict(self):
        job = ModelPredictionJobFactory(
            model=self.rules,
            status=JobStatus.COMPLETED,
            started_at=datetime(2024, 1, 1, tzinfo=UTC),
            completed_at=datetime(2024, 1, 2, tzinfo=UTC),
        )
        self.login("admin")
        response = self.client.post(reverse("api:modelpredictionjob-retry", kwargs={"pk": job.pk}))
        self.assert_status(response, 409, "retry completed")

    def test_writer_queues_a_prediction_for_an_asset(self):
        asset = AssetFactory()
        self.login("staff_with_permission")
        response = self.client.post(
            reverse("api:modelpredictionjob-list"), {"model": self.rules.pk, "asset": asset.pk}, format="json"
        )
        self.assert_status(response, 201, "queue prediction")
        self.assertEqual(response.data["asset_symbol"], asset.symbol)

    def test_public_user_queues_a_prediction_for_what_it_owns(self):
        url = reverse("api:modelpredictionjob-list")
        owner, other = self.users["owner"], self.users["other"]
        watchlist, portfolio = WatchlistFactory(user=owner), PortfolioFactory(user=owner)
        self.login("owner")
        for parameters in ({"watchlist": watchlist.pk}, {"portfolio": portfolio.pk}):
            response = self.client.post(
                url, {"model": self.selection.pk, "parameters": parameters}, format="json"
            )
            self.assert_status(response, 201, str(parameters))
            self.assertEqual(response.data["requested_by"], owner.pk)
        self.login("other")
        response = self.client.post(
            url, {"model": self.selection.pk, "parameters": {"watchlist": watchlist.pk}}, format="json"
        )
        self.assert_status(response, 404, "someone else's watchlist")
        own = WatchlistFactory(user=other)
        response = self.client.post(
            url, {"model": self.rules.pk, "parameters": {"watchlist": own.pk}}, format="json"
        )
        self.assert_status(response, 403, "a model that does not run on watchlists")
        response = self.client.post(url, {"model": self.selection.pk, "asset": AssetFactory().pk})
        self.assert_status(response, 403, "a public user predicting an asset")
        self.login("guest")
        guest_list = WatchlistFactory(user=self.users["guest"])
        response = self.client.post(
            url, {"model": self.selection.pk, "parameters": {"watchlist": guest_list.pk}}, format="json"
        )
        self.assert_status(response, 403, "guest")
        self.login("anonymous")
        self.assert_status(self.client.post(url, {"model": self.rules.pk}), 401, "anonymous")
        self.assertEqual(ModelPredictionJob.objects.count(), 2)
        self.assertEqual(other.activities.count(), 0)
