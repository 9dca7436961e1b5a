"""Every column with a default has it in the database too, so rows written by SQL get it.

An ETL, a replica tool or `COPY` writes rows around Django: a default that lives only in Python
(`default=`) leaves such a row without it, or refuses it when the column is NOT NULL. Each column
with a Python default therefore has the same `db_default`, checked here model by model and then
by writing rows with raw SQL that name only the columns without one.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import NOT_PROVIDED, Expression
from django.db.models.functions import Now
from django.utils import timezone

from assets.models import PriceData
from assets.tests.factories import AssetFactory
from cryptopredict.tests.test_constraints import FACTORIES, PROJECT_APPS

# Python-only defaults, each for a reason the database cannot share.
EXCEPTIONS = {
    # A random code from the project's own alphabet and length, checked for collisions in Python.
    ("users.User", "referral_code"): "generated in Python",
    # uuid4 has no SQLite function (Django's UUID4 needs PostgreSQL or MySQL).
    ("alerts.NotificationDelivery", "idempotency_key"): "random uuid4, no SQLite function",
}
# Columns a valid row needs although they have a default: the row's rules ask for more than it.
KEEP = {
    # A webhook channel (the factory's) is refused without its URL and signing secret.
    "alerts.NotificationChannel": ("url", "secret"),
}


def model_fields():
    """Yield (label, field) for every concrete column of the project's models, history included."""
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.concrete_fields:
                yield model._meta.label, field


def python_default(field) -> bool:
    return field.has_default() or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def test_every_python_default_is_also_a_database_default():
    missing = [
        f"{label}.{field.name}"
        for label, field in model_fields()
        if python_default(field)
        and not field.primary_key
        and field.db_default is NOT_PROVIDED
        and (label.replace(".Historical", "."), field.name) not in EXCEPTIONS
    ]
    assert missing == [], "columns with a Python default and no db_default"


def test_exceptions_are_still_python_only_defaults():
    fields = {(label, field.name): field for label, field in model_fields()}
    for key in EXCEPTIONS:
        field = fields[key]
        assert field.has_default() and field.db_default is NOT_PROVIDED, key


def test_database_default_is_the_python_default():
    wrong = []
    for label, field in model_fields():
        if not python_default(field) or field.db_default is NOT_PROVIDED:
            continue
        if not field.has_default() or field.default is timezone.now:
            # auto_now, auto_now_add or timezone.now: the database's clock.
            same = isinstance(field.db_default, Now)
        elif isinstance(field.db_default, Expression):
            same = False
        else:
            same = field.db_default == field.get_default()
        if not same:
            wrong.append(f"{label}.{field.name}: {field.get_default()!r} against {field.db_default!r}")
    assert wrong == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_database_default_is_in_the_schema():
    """The migrations put each db_default on its column (no model ahead of its migration)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_default IS NOT NULL"
        )
        with_default = set(cursor.fetchall())
    columns = [
        (f.model._meta.db_table, f.column) for _, f in model_fields() if f.db_default is not NOT_PROVIDED
    ]
    absent = [column for column in columns if column not in with_default]
    assert absent == []


def insert_with_required_columns(row) -> None:
    """Replace `row` by a raw SQL INSERT naming only its columns without a database default."""
    model = type(row)
    keep = KEEP.get(model._meta.label, ())
    fields = [f for f in model._meta.concrete_fields if f.db_default is NOT_PROVIDED or f.name in keep]
    values = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        # The copy takes the original's id and place: its unique columns stay unique, and the
        # rows pointing to it (deferred foreign keys) point to the copy.
        cursor.execute(f"DELETE FROM {table} WHERE {quote(model._meta.pk.column)} = %s", [row.pk])
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


def assert_database_defaults(stored, start: datetime, end: datetime, skip=()):
    for field in stored._meta.concrete_fields:
        if field.db_default is NOT_PROVIDED or field.name in skip:
            continue
        value = getattr(stored, field.attname)
        if isinstance(field.db_default, Now):
            assert start - timedelta(seconds=1) <= value <= end + timedelta(seconds=1), field.name
        else:
            assert value == field.db_default, field.name


@pytest.mark.django_db
@pytest.mark.parametrize("factory_class", FACTORIES, ids=lambda f: f.__name__)
def test_row_inserted_by_sql_gets_the_defaults(factory_class):
    row = factory_class()
    model = type(row)
    start = timezone.now()
    insert_with_required_columns(row)
    end = timezone.now()
    stored = model._base_manager.get(pk=row.pk)
    assert_database_defaults(stored, start, end, skip=KEEP.get(model._meta.label, ()))


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_into_price_data_without_the_defaulted_columns():
    asset = AssetFactory()
    start = timezone.now()
    with connection.cursor() as cursor:
        columns = "asset_id, timeframe, candle_time, open_price, high_price, low_price, close_price"
        with cursor.copy(f"COPY price_data ({columns}) FROM STDIN") as copy:
            copy.write_row((asset.pk, "1d", datetime(2025, 1, 1, tzinfo=UTC), 100, 110, 95, 105))
            copy.write_row((asset.pk, "1d", datetime(2025, 1, 2, tzinfo=UTC), 105, 106, 101, 102))
    end = timezone.now()
    candles = list(PriceData.objects.filter(asset=asset).order_by("candle_time"))
    assert [c.close_price for c in candles] == [Decimal("105"), Decimal("102")]
    for candle in candles:
        assert candle.is_validated is False
        assert candle.is_price_point is False
        assert candle.volume == 0
        assert candle.technical_indicators == {}
        assert start - timedelta(seconds=1) <= candle.created_at <= end + timedelta(seconds=1)
        assert candle.updated_at == candle.created_at
