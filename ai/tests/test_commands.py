"""The operators' commands: one-line errors and exit codes 0 / 1 / 2."""

from io import StringIO

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from ai.models import AIModel, ModelPredictionJob, ModelTrainingJob
from ai.tests.factories import ModelPredictionJobFactory, ModelTrainingJobFactory
from cryptopredict.choices import JobStatus
from macro.models import AIRegimeAnalysis
from macro.tests.factories import MetricsSnapshotFactory

pytestmark = pytest.mark.django_db


def command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args) -> CommandError:
    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=StringIO())
    return error.value


def test_register_then_run_predictions_in_process():
    for _ in range(20):
        MetricsSnapshotFactory()
    assert "registered model" in command("register_model", "rules", "1.0", "regime_rules", "--activate")
    model = AIModel.objects.get(name="rules")
    assert model.is_active
    out = command("run_predictions", "rules", "--sync")
    assert "completed: 20 rows" in out
    assert AIRegimeAnalysis.objects.filter(ai_model=model).count() == 20


def test_train_model_sync_and_evaluate(settings, tmp_path):
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    command("register_model", "rules", "1.0", "regime_rules")
    assert refused("train_model", "rules").returncode == 1  # rules have nothing to train
    error = refused("evaluate_model", "rules:1.0")
    assert error.returncode == 1 and "too few" in str(error)


def test_unknown_things_are_one_line_errors_with_exit_code_1():
    for args in (("train_model", "nope"), ("cancel_job", "999"), ("retry_job", "999")):
        error = refused(*args)
        assert error.returncode == 1 and "\n" not in str(error)
    error = refused("register_model", "x", "1", "no_such_architecture")
    assert error.returncode == 1 and "unknown architecture 'no_such_architecture'" in str(error)


def test_bad_arguments_exit_with_code_2(capsys):
    command("register_model", "rules", "1.0", "regime_rules")
    assert refused("run_predictions", "rules", "--parameters", "{oops").returncode == 2
    assert refused("train_model", "rules", "--end", "soon").returncode == 2
    # argparse's own refusal, as from a shell: manage.py's path after django.setup() (which is not
    # run again: it would bind the log handlers to this test's captured stderr). In-process, since
    # starting Django was most of this test's time; assets' test_import_commands runs the process.
    argv = ["manage.py", "cancel_job", "not-a-number"]
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(argv).fetch_command("cancel_job").run_from_argv(argv)
    assert exited.value.code == 2 and "invalid int value" in capsys.readouterr().err


def test_cancel_and_retry_jobs():
    job = ModelPredictionJobFactory(id=5001)
    assert "cancelled" in command("cancel_job", "5001")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    error = refused("cancel_job", "5001")
    assert error.returncode == 1 and "cannot become cancelled" in str(error)
    running = ModelTrainingJobFactory(id=5002, status=JobStatus.RUNNING)
    assert "retry it with force" in str(refused("retry_job", "5002"))
    command("retry_job", "5002", "--force")
    assert ModelTrainingJob.objects.get(pk=running.pk).status == JobStatus.PENDING
    ModelTrainingJobFactory(id=5001)
    assert refused("cancel_job", "5001").returncode == 2  # both tables hold 5001
    command("cancel_job", "5001", "--kind", "training")
    assert ModelTrainingJob.objects.get(pk=5001).status == JobStatus.CANCELLED
    assert ModelPredictionJob.objects.get(pk=5001).status == JobStatus.CANCELLED


def test_register_model_refuses_empty_names_and_unknown_configuration():
    error = refused("register_model", "", "1.0", "regime_rules")
    assert error.returncode == 1 and "name" in str(error)
    error = refused("register_model", "rules", "1.0", "regime_rules", "--configuration", '{"treshold": 1}')
    assert error.returncode == 1 and "unknown keys ['treshold']" in str(error)
    assert not AIModel.objects.exists()


@pytest.mark.django_db(transaction=True)  # the job is sent when its row commits, as in a real command
def test_run_predictions_without_a_broker_reports_the_job_it_ran():
    for _ in range(5):
        MetricsSnapshotFactory()
    command("register_model", "rules", "1.0", "regime_rules", "--activate")
    out = command("run_predictions", "rules")
    assert out.startswith("prediction job #") and ": completed (task " in out
