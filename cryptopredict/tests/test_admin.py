from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.forms import modelform_factory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ai.models import ModelTrainingJob
from ai.registry import architecture_get, architecture_names
from ai.tests.factories import AIModelFactory, ModelTrainingJobFactory
from assets.models import PriceData
from assets.services.writing import candles_upsert
from assets.tests.factories import AssetFactory, PriceDataFactory
from cryptopredict.admin import ConstraintForm, EstimatedCountPaginator
from cryptopredict.choices import JobStatus, Timeframe
from sectors.models import SectorMapping
from sectors.tests.factories import SectorMappingFactory
from selection.models import WatchlistAsset
from selection.tests.factories import PortfolioAssetFactory, WatchlistAssetFactory, WatchlistFactory
from trading.choices import TradeStatus
from trading.models import TradeAction
from trading.tests.factories import TradeActionFactory
from users.models import User, UserActivity
from users.tests.factories import PASSWORD, AdminUserFactory, UserActivityFactory

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def make_row(model):
    """Create one row of `model` with its factory (`<app>.tests.factories.<Model>Factory`)."""
    if model is Group:
        return Group.objects.create(name=f"Group {Group.objects.count()}")
    if model._meta.app_label == "django_celery_beat":  # schedules, edited in the admin
        return getattr(import_module("marketdata.tests.beat_factories"), f"{model.__name__}Factory")()
    factories = import_module(f"{model._meta.app_label}.tests.factories")
    return getattr(factories, f"{model.__name__}Factory")()


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser():
    return AdminUserFactory()


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_every_admin_page_renders(staff_client, superuser, rf, model, model_admin):
    row = make_row(model)

    response = staff_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert row.pk in [obj.pk for obj in response.context["cl"].result_list]

    request = rf.get("/")
    request.user = superuser
    response = staff_client.get(url(model, "add"))
    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)

    response = staff_client.get(url(model, "change", row.pk))
    assert response.status_code == 200
    assert response.context["original"] == row


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_changelist_queries_do_not_grow_with_rows(staff_client, model, model_admin):
    make_row(model)
    with CaptureQueriesContext(connection) as one_row:
        staff_client.get(url(model, "changelist"))
    make_row(model)
    make_row(model)
    with CaptureQueriesContext(connection) as three_rows:
        response = staff_client.get(url(model, "changelist"))

    assert response.context["cl"].result_count >= 3
    assert len(three_rows) == len(one_row), [q["sql"] for q in three_rows]


@pytest.mark.django_db
def test_asset_search_matches_symbol_and_name(staff_client):
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    AssetFactory(symbol="ETH", name="Ethereum")

    for term in ("btc", "bitco"):
        response = staff_client.get(url(btc, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [btc]


@pytest.mark.django_db
def test_price_data_search_and_filter(staff_client):
    btc, eth = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    daily = PriceDataFactory(asset=btc)
    hourly = PriceDataFactory(asset=btc, timeframe=Timeframe.H1)
    PriceDataFactory(asset=eth)

    response = staff_client.get(url(PriceData, "changelist"), {"q": "BTC"})
    assert {c.pk for c in response.context["cl"].result_list} == {daily.pk, hourly.pk}

    response = staff_client.get(url(PriceData, "changelist"), {"timeframe__exact": "1h"})
    assert [c.pk for c in response.context["cl"].result_list] == [hourly.pk]
    assert response.context["cl"].result_count == 1


def candle_form(asset, **changes) -> dict:
    form = {
        "asset": asset.pk,
        "timeframe": "1h",
        "candle_time_0": "2024-01-01",
        "candle_time_1": "00:00:00",
        "open_price": "10",
        "high_price": "12",
        "low_price": "8",
        "close_price": "11",
        "volume": "1",
    }
    return form | changes


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"candle_time_1": "00:30:00"}, "candle_time", "is not aligned to 1h"),
        ({"high_price": "5"}, "high_price", "is below"),
        ({"low_price": "11.5"}, "low_price", "above"),
    ],
)
def test_candle_admin_names_the_field_of_a_bad_candle(staff_client, changes, field, message):
    asset = AssetFactory()
    response = staff_client.post(url(PriceData, "add"), candle_form(asset, **changes))
    assert response.status_code == 200
    assert any(message in error for error in response.context["adminform"].form.errors[field])
    assert not PriceData.objects.exists()
    response = staff_client.post(url(PriceData, "add"), candle_form(asset))
    assert response.status_code == 302 and PriceData.objects.count() == 1


@pytest.mark.django_db
def test_job_changelist_shows_status_and_progress_and_filters_by_status(staff_client):
    running = ModelTrainingJobFactory(status=JobStatus.RUNNING, progress_percent=42)
    ModelTrainingJobFactory(status=JobStatus.PENDING)

    response = staff_client.get(url(running, "changelist"), {"status__exact": "running"})
    assert [job.pk for job in response.context["cl"].result_list] == [running.pk]
    assert {"status", "progress_percent"} <= set(response.context["cl"].list_display)
    assert b">42<" in response.content


def architecture(*, trainable: bool) -> str:
    return next(name for name in architecture_names() if architecture_get(name).trainable is trainable)


@pytest.mark.django_db
def test_training_job_added_in_the_admin_is_queued_by_the_service(staff_client, superuser):
    model = AIModelFactory(architecture=architecture(trainable=True))

    response = staff_client.post(
        url(ModelTrainingJob, "add"), {"model": model.pk, "parameters": '{"epochs": 3}', "timeframe": "1d"}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    job = ModelTrainingJob.objects.get()
    assert (job.status, job.progress_percent, job.requested_by) == (JobStatus.PENDING, 0, superuser)
    assert job.parameters == {"epochs": 3}
    assert job.task_id
    activity = UserActivity.objects.get()
    assert (activity.action, activity.entity_id) == ("create", job.pk)


@pytest.mark.django_db
def test_training_job_the_service_refuses_shows_its_error_on_the_form(staff_client):
    model = AIModelFactory(architecture=architecture(trainable=False))

    response = staff_client.post(url(ModelTrainingJob, "add"), {"model": model.pk, "parameters": "{}"})

    assert response.status_code == 200
    assert "nothing to train" in str(response.context["adminform"].form.errors["model"])
    assert not ModelTrainingJob.objects.exists()


@pytest.mark.django_db
def test_soft_deleted_filter_splits_live_and_deleted_watchlists(staff_client):
    live, gone = WatchlistFactory(), WatchlistFactory()
    gone.soft_delete()

    for value, expected in (("no", [live]), ("yes", [gone])):
        response = staff_client.get(url(live, "changelist"), {"deleted": value})
        assert list(response.context["cl"].result_list) == expected


@pytest.mark.django_db
def test_user_changelist_filters_by_role(staff_client, superuser):
    public = make_row(User)

    response = staff_client.get(url(User, "changelist"), {"role__exact": "public"})
    assert list(response.context["cl"].result_list) == [public]
    response = staff_client.get(url(User, "changelist"), {"q": superuser.email})
    assert list(response.context["cl"].result_list) == [superuser]


@pytest.mark.django_db
def test_user_add_form_takes_email_and_password_twice(staff_client):
    response = staff_client.post(
        url(User, "add"), {"email": " New.User@Example.com ", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.user@example.com")
    assert user.check_password(PASSWORD)
    activity = UserActivity.objects.get(activity_type="admin", entity_id=user.pk)
    assert (activity.action, activity.entity_type) == ("create", "users.user")


@pytest.mark.django_db
def test_user_add_form_refuses_mismatched_passwords(staff_client):
    response = staff_client.post(
        url(User, "add"), {"email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"}
    )

    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="x@example.com").exists()


@pytest.mark.django_db
def test_user_activity_admin_refuses_add_change_and_delete(staff_client, superuser, rf):
    activity = UserActivityFactory(action="login")
    model_admin = admin.site._registry[UserActivity]
    request = rf.get("/")
    request.user = superuser

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, activity)
    assert not model_admin.has_delete_permission(request, activity)
    assert staff_client.get(url(UserActivity, "add")).status_code == 403
    assert staff_client.post(url(UserActivity, "add"), {"action": "x"}).status_code == 403
    assert staff_client.post(url(UserActivity, "change", activity.pk), {"action": "x"}).status_code == 403
    assert staff_client.post(url(UserActivity, "delete", activity.pk), {"post": "yes"}).status_code == 403
    activity.refresh_from_db()
    assert activity.action == "login"


def item_form(item: WatchlistAsset, **changes) -> dict:
    data = {
        "watchlist": item.watchlist_id,
        "asset": item.asset_id,
        "sort_order": item.sort_order,
        "notes": item.notes,
        "target_price": item.target_price,
        "alert_price_above": item.alert_price_above,
        "alert_price_below": item.alert_price_below,
    }
    return {**data, **changes}


@pytest.mark.django_db
def test_admin_change_writes_one_activity_and_keeps_log_entry(staff_client, superuser):
    item = WatchlistAssetFactory(notes="")

    response = staff_client.post(url(item, "change", item.pk), item_form(item, sort_order=3, notes="watch"))

    assert response.status_code == 302
    activity = UserActivity.objects.get()
    assert (activity.user, activity.activity_type, activity.action) == (superuser, "admin", "update")
    assert (activity.entity_type, activity.entity_id) == ("selection.watchlistasset", item.pk)
    assert activity.details == {"changed_fields": ["sort_order", "notes"]}
    assert activity.ip_address == "127.0.0.1"
    assert LogEntry.objects.get().action_flag == CHANGE
    item.refresh_from_db()
    assert (item.notes, item.last_modified_by) == ("watch", superuser)


@pytest.mark.django_db
def test_admin_add_and_delete_write_activities(staff_client, superuser):
    template = WatchlistAssetFactory.build(watchlist=WatchlistFactory(), asset=AssetFactory())

    response = staff_client.post(url(WatchlistAsset, "add"), item_form(template))
    assert response.status_code == 302
    item = WatchlistAsset.objects.get()
    assert (item.added_by, item.last_modified_by) == (superuser, superuser)

    response = staff_client.post(url(item, "delete", item.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not WatchlistAsset.objects.exists()

    activities = UserActivity.objects.order_by("id")
    assert [(a.action, a.entity_id) for a in activities] == [("create", item.pk), ("delete", item.pk)]
    assert "target_price" in activities[0].details["changed_fields"]
    assert LogEntry.objects.count() == 2


@pytest.mark.django_db
def test_admin_change_through_an_inline_names_the_inline(staff_client, superuser):
    watchlist = WatchlistFactory(name="Majors")
    asset = AssetFactory()
    data = {
        "user": watchlist.user_id,
        "name": "Majors 2",
        "description": "",
        "sort_order": 0,
        "is_active": "on",
        "items-TOTAL_FORMS": 1,
        "items-INITIAL_FORMS": 0,
        "items-0-asset": asset.pk,
        "items-0-sort_order": 1,
        "items-0-target_price": "50000",
    }

    response = staff_client.post(url(watchlist, "change", watchlist.pk), data)

    assert response.status_code == 302, response.context["errors"]
    item = watchlist.items.get()
    # The watchlist's row names the inline; the item, saved by its service, has its own.
    activity = UserActivity.objects.get(entity_type="selection.watchlist")
    assert activity.details == {"changed_fields": ["name", "items"]}
    item_row = UserActivity.objects.get(entity_type="selection.watchlistasset")
    assert (item_row.entity_id, item_row.action, item_row.activity_type) == (item.pk, "create", "admin")
    assert UserActivity.objects.count() == 2
    assert (item.asset, item.target_price, item.added_by) == (asset, Decimal("50000"), superuser)


@pytest.mark.django_db
def test_filtered_candles_are_counted_exactly():
    btc = AssetFactory()
    PriceDataFactory.create_batch(3, asset=btc)
    PriceDataFactory()
    if connection.vendor == "postgresql":
        # The whole table's size is read from the statistics, which other tests' (rolled back)
        # rows leave behind: analyze so they describe this test's table.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE price_data")

    paginator = EstimatedCountPaginator(PriceData.objects.filter(asset=btc), 50)
    assert (paginator.count, paginator.count_label) == (3, "3")
    assert EstimatedCountPaginator(PriceData.objects.all(), 50).count == 4


@pytest.mark.django_db
def test_counts_stop_at_the_cap_and_say_so(monkeypatch):
    # A cap above the number of candle partitions: the plan counts at least one row for each.
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 20)
    asset = AssetFactory()
    PriceDataFactory.create_batch(2, asset=asset)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE price_data")  # statistics that call the table small
    PriceDataFactory.create_batch(20, asset=asset)

    with CaptureQueriesContext(connection) as queries:
        paginator = EstimatedCountPaginator(PriceData.objects.filter(volume__gte=0), 2)
        assert (paginator.count, paginator.count_label) == (20, "20+")
    assert all_counts_bounded(queries)


@pytest.mark.django_db
def test_pages_stop_at_the_offset_limit(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 20)  # above the partitions' number
    monkeypatch.setattr(EstimatedCountPaginator, "max_offset", 4)
    monkeypatch.setattr(admin.site._registry[PriceData], "list_per_page", 2)
    asset = AssetFactory()
    PriceDataFactory.create_batch(2, asset=asset)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE price_data")
    PriceDataFactory.create_batch(20, asset=asset)

    response = staff_client.get(url(PriceData, "changelist"), {"timeframe__exact": "1d"})
    assert response.context["cl"].paginator.num_pages == 2
    assert "20+ price data" in response.content.decode()
    assert "Pages reach the first 4 rows" in response.content.decode()
    # A page beyond the limit is not an OFFSET the database has to walk: Django's "bad lookup" redirect.
    response = staff_client.get(url(PriceData, "changelist"), {"timeframe__exact": "1d", "p": "3"})
    assert response.status_code == 302


def count_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def all_counts_bounded(queries) -> bool:
    """Return whether every COUNT in `queries` counts a LIMITed subquery, never a whole table."""
    return all("LIMIT" in sql.upper() for sql in count_queries(queries))


@pytest.mark.postgres
@pytest.mark.django_db
def test_price_data_changelist_runs_no_full_count_on_postgres(staff_client):
    PriceDataFactory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"))

    assert response.status_code == 200
    assert all_counts_bounded(queries)
    assert response.context["cl"].result_count == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_price_data_estimate_after_analyze_is_close_and_not_counted(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 20)
    asset = AssetFactory()
    PriceDataFactory.create_batch(120, asset=asset)

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"))

    assert count_queries(queries) == []
    assert abs(response.context["cl"].result_count - 120) <= 12
    assert any("pg_class" in q["sql"] for q in queries)
    assert response.context["cl"].paginator.count_label.startswith("about ")


@pytest.mark.postgres
@pytest.mark.django_db
def test_filtered_estimate_comes_from_the_plan(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 20)
    asset = AssetFactory()
    PriceDataFactory.create_batch(120, asset=asset)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"), {"timeframe__exact": "1d"})

    assert count_queries(queries) == []
    assert any(q["sql"].startswith("EXPLAIN") for q in queries)
    assert abs(response.context["cl"].result_count - 120) <= 12


@pytest.mark.postgres
@pytest.mark.django_db
def test_stale_statistics_give_a_capped_count_not_a_full_one(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 50)
    asset = AssetFactory()
    PriceDataFactory.create_batch(2, asset=asset)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")
    PriceDataFactory.create_batch(100, asset=asset)

    paginator = EstimatedCountPaginator(PriceData.objects.all(), 50)
    assert (paginator.count, paginator.count_label) == (50, "50+")


@pytest.mark.django_db
def test_candle_sorts_are_those_an_index_serves(staff_client):
    PriceDataFactory.create_batch(2)
    changelist = url(PriceData, "changelist")

    response = staff_client.get(changelist)
    assert set(response.context["cl"].sortable_by) == {"id", "candle_time", "volume", "volume_shown"}
    response = staff_client.get(changelist, {"timeframe__exact": "1d"})
    assert response.context["cl"].sortable_by == ("candle_time",)
    # volume is column 7 (shown formatted): asked for by URL under a filter, it is ignored, not run.
    volume = list(response.context["cl"].list_display).index("volume_shown")
    response = staff_client.get(changelist, {"timeframe__exact": "1d", "o": f"-{volume}"})
    assert "volume" not in str(response.context["cl"].queryset.query.order_by)


@pytest.mark.django_db
def test_candle_search_finds_the_asset_first(staff_client):
    btc = AssetFactory(symbol="BTC")
    candle = PriceDataFactory(asset=btc)
    PriceDataFactory()

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"), {"q": "btc"})
    assert [c.pk for c in response.context["cl"].result_list] == [candle.pk]
    candle_queries = [q["sql"] for q in queries if 'FROM "price_data"' in q["sql"]]
    assert candle_queries and not any("UPPER" in sql for sql in candle_queries)
    response = staff_client.get(url(PriceData, "changelist"), {"q": "NOPE"})
    assert list(response.context["cl"].result_list) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"alert_price_above": "10", "alert_price_below": "100"}, "alert_price_below", "alert_price_below <"),
        ({"target_price": "-1"}, "target_price", "target_price > 0"),
    ],
)
def test_a_broken_constraint_is_named_on_its_field(staff_client, changes, field, rule):
    item = WatchlistAssetFactory()
    response = staff_client.post(url(item, "change", item.pk), item_form(item, **changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(rule in message for message in errors[field]), errors
    assert "is violated" not in str(errors)


@pytest.mark.django_db
def test_holdings_are_not_added_or_moved_in_the_admin(staff_client):
    holding = PortfolioAssetFactory()
    assert staff_client.get(url(holding, "add")).status_code == 403
    form = staff_client.get(url(holding, "change", holding.pk)).context["adminform"].form
    assert {"portfolio", "asset", "quantity", "cost_basis"}.isdisjoint(form.fields)
    assert "target_allocation" in form.fields


@pytest.mark.django_db
def test_executed_trades_cannot_be_deleted_in_the_admin(staff_client):
    executed = TradeActionFactory(status=TradeStatus.EXECUTED, executed_at="2025-01-01T00:00:00Z")
    pending = TradeActionFactory(status=TradeStatus.PENDING)
    assert staff_client.post(url(executed, "delete", executed.pk), {"post": "yes"}).status_code == 403
    assert staff_client.post(url(pending, "delete", pending.pk), {"post": "yes"}).status_code == 302
    assert list(TradeAction.objects.values_list("pk", flat=True)) == [executed.pk]


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_every_form_names_the_field_of_a_broken_constraint(model, model_admin):
    """Main forms and inline rows use ConstraintForm (Django alone says "Constraint … is violated")."""
    if model._meta.app_label == "django_celery_beat":
        pytest.skip("django-celery-beat's own admin forms (its models declare no database constraints)")
    forms = [] if model in (User, Group) else [model_admin.form]
    forms += [inline.form for inline in model_admin.inlines]
    assert all(issubclass(form, ConstraintForm) for form in forms), forms


@pytest.mark.django_db
def test_constraint_form_puts_the_rule_on_the_field():
    mapping = SectorMappingFactory()
    form_class = modelform_factory(SectorMapping, form=ConstraintForm, fields=["asset", "sector", "weight"])
    form = form_class(
        {"asset": mapping.asset_id, "sector": mapping.sector_id, "weight": "0"}, instance=mapping
    )
    assert not form.is_valid()
    assert "chk_sector_mapping_weight" in " ".join(form.errors["weight"])


@pytest.mark.django_db
def test_sector_mapping_admin_keeps_an_assets_weights_within_100(staff_client):
    first = SectorMappingFactory(weight=70)
    other_sector = SectorMappingFactory().sector
    data = {
        "asset": first.asset_id,
        "sector": other_sector.pk,
        "weight": "40",
        "confidence": "1",
        "source": "manual",
    }
    response = staff_client.post(url(SectorMapping, "add"), data)
    assert response.status_code == 200
    assert "would sum to 110" in " ".join(response.context["adminform"].form.errors["weight"])
    response = staff_client.post(url(SectorMapping, "add"), {**data, "weight": "30"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_row_checkbox_is_djangos_without_its_widget_template():
    from django import forms
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.utils.html import format_html

    asset = AssetFactory(symbol="B&B", name='<Say "hi">')
    model_admin = admin.site._registry[type(asset)]
    label = format_html("Select this object for an action - {}", str(asset))
    django_s = forms.CheckboxInput(
        {"class": "action-select", "aria-label": label}, lambda value: False
    ).render(ACTION_CHECKBOX_NAME, str(asset.pk))
    assert model_admin.action_checkbox(asset) == django_s


@pytest.mark.django_db
def test_the_candle_timeframe_filter_reads_the_latest_candle_view_in_one_query(staff_client):
    PriceDataFactory(timeframe=Timeframe.H1)
    PriceDataFactory(timeframe=Timeframe.D1)

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"))

    timeframe_filter = next(f for f in response.context["cl"].filter_specs if f.title == "timeframe")
    assert [value for value, _ in timeframe_filter.lookup_choices] == ["1h", "1d"]
    timeframe_queries = [
        q["sql"] for q in queries if "timeframe" in q["sql"] and "price_data" not in q["sql"]
    ]
    assert len(timeframe_queries) == 1 and "latest_candles" in timeframe_queries[0]
    assert not [q["sql"] for q in queries if 'FROM "price_data" WHERE "price_data"."timeframe"' in q["sql"]]


def plan_indexes(sql: str) -> set[str]:
    """Return the definitions of the indexes PostgreSQL's plan for `sql` reads (sequential scans
    and sorts off: the test's tables are tiny, the real ones are not)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]

        def walk(node):
            if "Index Name" in node:
                yield node["Index Name"]
            for child in node.get("Plans", []):
                yield from walk(child)

        names = sorted(set(walk(plan[0]["Plan"])))
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = ANY(%s) AND tablename LIKE %s",
            [names, "price_data%"],
        )
        return {row[0].split(" USING ", 1)[1] for row in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"asset__id__exact": "ASSET"}, "btree (asset_id, candle_time)"),
        ({"q": "BTC"}, "btree (asset_id, candle_time)"),
        ({"is_price_point__exact": "1"}, "btree (candle_time) WHERE is_price_point"),
    ],
)
def test_filtered_candle_pages_walk_an_index_of_the_filter_not_every_candle(staff_client, params, index):
    # Walking the candle_time index for one asset's (or a rare flag's) candles read the others'
    # on the way: 9.9 s for an asset whose candles ended before the others', 2.7 s for no price point.
    # (The validated filter's index is chosen at 10M, not on tables this small: benchmarks/scale.py.)
    btc, other = AssetFactory(symbol="BTC"), AssetFactory(symbol="ETH")
    PriceDataFactory(asset=btc, is_validated=True)
    # Enough other candles, analysed, that the planner sees the filters select few of them.
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "candle_time": start + timedelta(hours=i),
            "open": "10",
            "high": "11",
            "low": "9",
            "close": "10",
            "volume": "1",
        }
        for i in range(300)
    ]
    candles_upsert(asset=other, timeframe="1h", rows=rows, indicators=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE price_data")
    params = {key: btc.pk if value == "ASSET" else value for key, value in params.items()}
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(url(PriceData, "changelist"), params)
    assert response.status_code == 200
    page = next(q["sql"] for q in queries if q["sql"].startswith('SELECT "price_data"."id"'))

    assert plan_indexes(page) == {index}
