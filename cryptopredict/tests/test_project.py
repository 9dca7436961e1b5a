import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from cryptopredict.numbers import decimal_fit

PRODUCTION_ENV = {
    "ENV_FILE": "/dev/null",
    "DEBUG": "false",
    "SECRET_KEY": "x7!prod-like-secret-key-with-enough-length-and-variety-0123456789",
    "ALLOWED_HOSTS": "cryptopredict.example.com",
    "MAIL_OPTIONS": '{"host": "smtp.example.com", "port": 587, "use_tls": true}',
}


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.django_db
def test_migrations_are_committed():
    """Every model change has a migration in the repository."""
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.fixture(scope="module")
def production_run() -> subprocess.CompletedProcess:
    """Run `check --deploy` in a process started with production's environment and an empty
    DATABASE_URL, then print the database engine: one Django start for two tests."""
    code = (
        "from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING'); "
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    )
    env = {**os.environ, **PRODUCTION_ENV, "DATABASE_URL": ""}
    return run_manage("shell", "--no-imports", "-c", code, env=env)


def test_check_deploy_passes_with_production_settings(production_run):
    assert production_run.returncode == 0, production_run.stdout + production_run.stderr
    assert "System check identified no issues" in production_run.stdout


def test_check_deploy_reports_a_missing_mail_host():
    env = {**os.environ, **PRODUCTION_ENV}
    del env["MAIL_OPTIONS"]
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "cryptopredict.W001" in result.stderr + result.stdout
    assert "no mail host is set" in result.stderr + result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = {**os.environ, **PRODUCTION_ENV}
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_empty_database_url_counts_as_unset(production_run):
    assert production_run.returncode == 0, production_run.stderr
    assert production_run.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3"


@pytest.mark.parametrize(
    ("value", "args", "expected"),
    [
        (0.123456, (4,), Decimal("0.1235")),
        (float("nan"), (4,), None),
        (None, (4,), None),
        (3.5, (2, 0, 1), Decimal("1.0")),
        (999999.99994, (4,), Decimal("999999.9999")),
        (1e6, (4,), Decimal("1000000.0")),
    ],
)
def test_decimal_fit_rounds_and_clamps(value, args, expected):
    assert decimal_fit(value, *args) == expected


def test_decimal_fit_refuses_what_the_column_cannot_hold():
    assert decimal_fit(999999.9999, 4, digits=10) == Decimal("999999.9999")
    assert decimal_fit(1e6, 4, digits=10) is None
    assert decimal_fit(-1e6, 4, digits=10) is None


# Importing the tasks runs Celery's Django fixup, whose system checks may ask SQLite for its JSON support.
@pytest.mark.django_db
def test_beat_schedule_holds_every_app_s_periodic_task():
    """Each app adds its periodic tasks to the one schedule; none replaces another's."""
    from cryptopredict.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    expected = {"backoffice.history_prune", "alerts.deliveries_dispatch", "alerts.stale_check"}
    expected |= {"cryptopredict.refresh_aggregates"}
    assert expected | {"alerts.prune"} <= tasks
    app.loader.import_default_modules()
    assert tasks <= set(app.tasks), "scheduled tasks that no app registers"
