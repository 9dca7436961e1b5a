"""The alerts API: channels verified by a signed ping or a mailed link, rules of every kind with
field-named errors and plan limits, notifications newest first with unread and read-all; other
users' objects are 404."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.choices import RuleKind
from alerts.models import AlertRule, Notification, NotificationChannel
from assets.tests.factories import AssetFactory
from cryptopredict.choices import UserRole
from selection.services import watchlist_item_save
from selection.tests.factories import WatchlistAssetFactory, WatchlistFactory
from users.choices import SubscriptionPlan
from users.tests.factories import UserFactory

from .conftest import SECRET
from .factories import AlertFiringFactory, AlertRuleFactory, NotificationChannelFactory, NotificationFactory

API = "/api/v1"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def btc():
    return AssetFactory(symbol="BTC", name="Bitcoin")


# --- Channels ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_webhook_channel_is_verified_by_a_signed_ping(api, webhook_receiver):
    response = api.post(
        f"{API}/notification-channels/",
        {"kind": "webhook", "url": webhook_receiver.url, "secret": SECRET},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["is_verified"] is True and body["last_error"] == "" and "secret" not in body
    assert webhook_receiver.bad_signatures == 0 and webhook_receiver.accepted("channel.ping")
    assert NotificationChannel.objects.get(pk=body["id"]).secret == SECRET


@pytest.mark.django_db
def test_a_webhook_that_does_not_answer_2xx_stays_unverified_until_it_does(api, webhook_receiver):
    webhook_receiver.fail_first = 1
    response = api.post(
        f"{API}/notification-channels/",
        {"kind": "webhook", "url": webhook_receiver.url, "secret": SECRET},
        format="json",
    )
    body = response.json()
    assert response.status_code == 201 and body["is_verified"] is False
    assert body["last_error"].startswith("HTTP 503")
    again = api.post(f"{API}/notification-channels/{body['id']}/verify/")
    assert again.status_code == 200 and again.json()["is_verified"] is True


@pytest.mark.django_db
def test_an_email_channel_is_verified_by_its_confirmation_link(api, user):
    response = api.post(f"{API}/notification-channels/", {"kind": "email", "email": "ada@example.com"})
    assert response.status_code == 201 and response.json()["is_verified"] is False
    link = re.search(r"http\S+", mail.outbox[-1].body).group(0)
    assert mail.outbox[-1].to == ["ada@example.com"]

    confirmed = APIClient().get(link.replace("http://127.0.0.1:8000", ""))  # the link works signed out
    assert confirmed.status_code == 200 and confirmed.json()["is_verified"] is True
    assert NotificationChannel.objects.get(pk=response.json()["id"]).is_verified
    assert APIClient().get(link.replace("http://127.0.0.1:8000", "")).status_code == 400  # used once


@pytest.mark.django_db
def test_a_telegram_channel_is_verified_through_the_bot_api(api, telegram_api):
    ok = api.post(f"{API}/notification-channels/", {"kind": "telegram", "chat_id": "42"})
    unknown = api.post(f"{API}/notification-channels/", {"kind": "telegram", "chat_id": "7"})
    assert ok.json()["is_verified"] is True and len(telegram_api.messages) == 1
    assert unknown.json()["is_verified"] is False
    assert unknown.json()["last_error"] == "Telegram 400: Bad Request: chat not found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "webhook", "secret": SECRET}, "url"),
        ({"kind": "webhook", "url": "ftp://example.com/x", "secret": SECRET}, "url"),
        ({"kind": "webhook", "url": "https://example.com/x"}, "secret"),
        ({"kind": "webhook", "url": "https://example.com/x", "secret": "short"}, "secret"),
        ({"kind": "email", "email": "not-an-address"}, "email"),
        ({"kind": "telegram"}, "chat_id"),
        ({"kind": "sms"}, "kind"),
    ],
)
def test_bad_channels_are_400_naming_the_field(api, payload, field):
    response = api.post(f"{API}/notification-channels/", payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not NotificationChannel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1"),
        ("http://localhost/hook", "localhost resolves to"),  # a name that resolves to loopback
        ("http://[::1]/hook", "::1"),
        ("http://10.0.0.7/hook", "10.0.0.7"),
        ("https://192.168.1.1/hook", "192.168.1.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # cloud metadata
        ("http://[::ffff:127.0.0.1]/hook", "127.0.0.1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),
    ],
)
def test_a_webhook_to_a_private_or_local_address_is_400_naming_the_url(api, settings, url, address):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = api.post(
        f"{API}/notification-channels/", {"kind": "webhook", "url": url, "secret": SECRET}, format="json"
    )
    assert response.status_code == 400, response.json()
    (message,) = response.json()["url"]
    assert address in message and message.endswith("a private or local address; use a public one."), message
    assert not NotificationChannel.objects.exists()


@pytest.mark.django_db
def test_a_webhook_to_a_host_that_does_not_resolve_is_400_naming_the_url(api):
    url = "https://no-such-host.invalid/hook"
    response = api.post(
        f"{API}/notification-channels/", {"kind": "webhook", "url": url, "secret": SECRET}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["url"] == ["The host no-such-host.invalid does not resolve."]


@pytest.mark.django_db
def test_a_stored_webhook_that_now_points_inside_is_not_posted(settings):
    from alerts.services.transport import SendError, webhook_post

    settings.WEBHOOK_ALLOW_LOOPBACK = False
    channel = NotificationChannelFactory(url="http://127.0.0.1:9/hook")  # e.g. a name rebound since
    with pytest.raises(SendError, match=r"resolves to 127\.0\.0\.1"):
        webhook_post(channel=channel, payload={}, idempotency_key="k", event="channel.ping")


# --- Rules ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_a_price_rule_by_symbol_with_a_channel(api, user, btc):
    channel = NotificationChannelFactory(user=user)
    response = api.post(
        f"{API}/alert-rules/",
        {"kind": "price_above", "asset": "BTC", "level": "100000", "channels": [channel.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["asset"] == btc.pk and body["asset_symbol"] == "BTC" and Decimal(body["level"]) == 100000
    assert body["channels"] == [channel.pk] and body["is_armed"] is True and body["user"] == user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "percent_change", "asset": "BTC", "timeframe": "1h", "window": "PT24H", "percent": "-5"},
        {"kind": "indicator_below", "asset": "BTC", "indicator": "rsi_14", "level": "30"},
        {"kind": "indicator_above", "asset": "BTC", "indicator": "rsi_14", "level": "70"},
        {"kind": "price_below", "asset": "BTC", "level": "20000"},
        {"kind": "new_signal", "asset": "BTC", "signal_type": "buy"},
        {"kind": "regime_change"},
        {"kind": "job_failed", "model_type": "macro"},
        {"kind": "data_stale", "asset": "BTC", "timeframe": "1h", "max_age": "PT3H"},
    ],
    ids=lambda payload: payload["kind"],
)
def test_each_kind_is_created_with_its_own_fields(api, btc, payload):
    response = api.post(f"{API}/alert-rules/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert AlertRule.objects.get(pk=response.json()["id"]).kind == payload["kind"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "price_above", "asset": "BTC"}, "level"),
        ({"kind": "price_above", "asset": "BTC", "level": "0"}, "level"),
        ({"kind": "price_above", "level": "1"}, "asset"),
        ({"kind": "price_above", "asset": "NOPE", "level": "1"}, "asset"),
        ({"kind": "price_above", "asset": "BTC", "level": "1", "indicator": "rsi_14"}, "indicator"),
        ({"kind": "indicator_below", "asset": "BTC", "indicator": "rsi_99", "level": "30"}, "indicator"),
        ({"kind": "percent_change", "asset": "BTC", "percent": "5"}, "window"),
        ({"kind": "percent_change", "asset": "BTC", "window": "PT90M", "percent": "5"}, "window"),
        ({"kind": "percent_change", "asset": "BTC", "window": "P1D", "percent": "0"}, "percent"),
        ({"kind": "data_stale", "asset": "BTC"}, "max_age"),
        ({"kind": "new_signal", "signal_type": "moon"}, "signal_type"),
        ({"kind": "job_failed", "model_type": "nope"}, "model_type"),
        ({"kind": "price_above", "asset": "BTC", "level": "1", "timeframe": "2d"}, "timeframe"),
        ({"kind": "moon"}, "kind"),
    ],
)
def test_bad_rules_are_400_naming_the_field(api, btc, payload, field):
    response = api.post(f"{API}/alert-rules/", payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_another_users_channel_or_watchlist_cannot_be_named(api, btc):
    other = UserFactory()
    channel = NotificationChannelFactory(user=other)
    response = api.post(
        f"{API}/alert-rules/",
        {"kind": "price_above", "asset": "BTC", "level": "1", "channels": [channel.pk]},
        format="json",
    )
    assert response.status_code == 400 and "channels" in response.json()
    watchlist = WatchlistFactory(user=other)
    response = api.post(
        f"{API}/alert-rules/", {"kind": "new_signal", "watchlist": watchlist.pk}, format="json"
    )
    assert response.status_code == 400 and "watchlist" in response.json()


@pytest.mark.django_db
def test_other_users_rules_channels_and_notifications_are_404(api):
    other = UserFactory()
    rule = AlertRuleFactory(user=other)
    channel = NotificationChannelFactory(user=other)
    note = NotificationFactory(user=other)
    for url in (
        f"alert-rules/{rule.pk}/",
        f"notification-channels/{channel.pk}/",
        f"notifications/{note.pk}/",
    ):
        assert api.get(f"{API}/{url}").status_code == 404
    assert api.patch(f"{API}/alert-rules/{rule.pk}/", {"level": "5"}).status_code == 404
    assert api.delete(f"{API}/alert-rules/{rule.pk}/").status_code == 404
    assert api.post(f"{API}/notifications/{note.pk}/read/").status_code == 404
    assert api.get(f"{API}/alert-rules/").json()["results"] == []
    assert AlertRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.django_db
def test_guests_keep_no_rules_and_strangers_get_401(btc):
    guest = APIClient()
    guest.force_authenticate(UserFactory(role=UserRole.GUEST))
    assert guest.post(f"{API}/alert-rules/", {"kind": "regime_change"}).status_code == 403
    assert APIClient().get(f"{API}/alert-rules/").status_code == 401


@pytest.mark.django_db
def test_the_free_plan_allows_five_rules(api, user, btc):
    for n in range(5):
        assert (
            api.post(
                f"{API}/alert-rules/", {"kind": "price_above", "asset": "BTC", "level": str(n + 1)}
            ).status_code
            == 201
        )
    response = api.post(f"{API}/alert-rules/", {"kind": "regime_change"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Your free plan allows 5 alert rules; delete one or upgrade the plan."
    assert AlertRule.objects.filter(user=user).count() == 5


@pytest.mark.django_db
def test_the_pro_plan_allows_a_hundred_and_an_expired_plan_counts_as_free(api, user, btc):
    user.subscription_plan = SubscriptionPlan.PRO
    user.save()
    AlertRule.objects.bulk_create([AlertRule(user=user, kind=RuleKind.REGIME_CHANGE) for _ in range(99)])
    assert api.post(f"{API}/alert-rules/", {"kind": "regime_change"}).status_code == 201
    assert api.post(f"{API}/alert-rules/", {"kind": "regime_change"}).status_code == 403
    AlertRule.objects.filter(
        pk__in=list(AlertRule.objects.filter(user=user).values_list("pk", flat=True)[:95])
    ).delete()
    user.subscription_expires_at = timezone.now() - timedelta(days=1)
    user.save()
    response = api.post(f"{API}/alert-rules/", {"kind": "regime_change"})
    assert response.status_code == 403 and "free plan allows 5" in response.json()["detail"]


@pytest.mark.django_db
def test_pause_snooze_and_a_changed_level_rearms(api, user, btc):
    rule = AlertRuleFactory(user=user, asset=btc, is_armed=False)
    until = (timezone.now() + timedelta(hours=3)).isoformat()
    response = api.patch(f"{API}/alert-rules/{rule.pk}/", {"is_active": False, "snoozed_until": until})
    assert response.status_code == 200 and response.json()["is_armed"] is False
    response = api.patch(f"{API}/alert-rules/{rule.pk}/", {"level": "250"})
    assert response.status_code == 200 and response.json()["is_armed"] is True
    rule.refresh_from_db()
    assert rule.level == 250 and not rule.is_active and rule.snoozed_until is not None
    response = api.patch(f"{API}/alert-rules/{rule.pk}/", {"indicator": "rsi_14"})
    assert response.status_code == 400 and "indicator" in response.json()


@pytest.mark.django_db
def test_watchlist_thresholds_become_price_rules(user, btc):
    item = watchlist_item_save(
        item=WatchlistAssetFactory.build(
            watchlist=WatchlistFactory(user=user),
            asset=btc,
            alert_price_above=Decimal("120"),
            alert_price_below=Decimal("80"),
        )
    )
    rules = {rule.kind: rule for rule in AlertRule.objects.filter(watchlist_asset=item)}
    assert rules.keys() == {"price_above", "price_below"}
    assert rules["price_above"].level == 120 and rules["price_above"].user == user
    item.alert_price_above, item.alert_price_below = Decimal("130"), None
    watchlist_item_save(item=item)
    assert list(AlertRule.objects.filter(watchlist_asset=item).values_list("kind", "level")) == [
        ("price_above", Decimal("130"))
    ]


def _rules(item) -> list:
    return sorted(AlertRule.objects.filter(watchlist_asset=item).values_list("kind", "level"))


@pytest.mark.django_db
def test_thresholds_set_through_the_api_become_rules(api, user, btc):
    watchlist = WatchlistFactory(user=user)
    data = {"watchlist": watchlist.pk, "asset": btc.pk, "alert_price_above": "120"}
    response = api.post(f"{API}/watchlist-assets/", data, format="json")
    assert response.status_code == 201, response.json()
    item = watchlist.items.get()
    assert _rules(item) == [("price_above", Decimal("120"))]
    response = api.patch(f"{API}/watchlist-assets/{item.pk}/", {"alert_price_below": "80"}, format="json")
    assert response.status_code == 200, response.json()
    assert _rules(item) == [("price_above", Decimal("120")), ("price_below", Decimal("80"))]


@pytest.mark.django_db
def test_thresholds_set_in_the_admin_become_rules(client, btc):
    from django.urls import reverse

    from users.tests.factories import AdminUserFactory

    client.force_login(AdminUserFactory())
    item = WatchlistAssetFactory(asset=btc, alert_price_above=None, alert_price_below=None)
    data = {"watchlist": item.watchlist_id, "asset": btc.pk, "sort_order": 0, "alert_price_above": "150"}
    response = client.post(reverse("admin:selection_watchlistasset_change", args=[item.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _rules(item) == [("price_above", Decimal("150"))]
    watchlist = item.watchlist
    inline = {
        "name": watchlist.name,
        "user": watchlist.user_id,
        "description": "",
        "sort_order": 0,
        "is_active": "on",
        "items-TOTAL_FORMS": 1,
        "items-INITIAL_FORMS": 1,
        "items-0-id": item.pk,
        "items-0-watchlist": watchlist.pk,
        "items-0-asset": btc.pk,
        "items-0-sort_order": 0,
        "items-0-alert_price_above": "",
        "items-0-alert_price_below": "70",
    }
    response = client.post(reverse("admin:selection_watchlist_change", args=[watchlist.pk]), inline)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert _rules(item) == [("price_below", Decimal("70"))]


# --- Notifications ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_notifications_newest_first_unread_and_read_all(api, user):
    now = timezone.now()
    old = NotificationFactory(user=user, created_at=now - timedelta(hours=2), title="old")
    mid = NotificationFactory(user=user, created_at=now - timedelta(hours=1), title="mid", read_at=now)
    new = NotificationFactory(user=user, created_at=now, title="new")
    NotificationFactory(title="someone else's")

    listed = api.get(f"{API}/notifications/").json()["results"]
    assert [n["id"] for n in listed] == [new.pk, mid.pk, old.pk]
    unread = api.get(f"{API}/notifications/", {"unread": "true"}).json()["results"]
    assert [n["id"] for n in unread] == [new.pk, old.pk]

    one = api.post(f"{API}/notifications/{old.pk}/read/")
    assert one.status_code == 200 and one.json()["is_read"] is True
    assert api.post(f"{API}/notifications/read-all/").json() == {"marked": 1}
    assert api.get(f"{API}/notifications/", {"unread": "true"}).json()["results"] == []
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # the other user's


@pytest.mark.django_db
def test_lists_cost_the_same_queries_for_one_row_or_many(api, user):
    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    channel = NotificationChannelFactory(user=user)
    AlertRuleFactory(user=user).channels.add(channel)
    NotificationFactory(user=user, firing=AlertFiringFactory(rule__user=user))
    one = {
        url: queries(url)
        for url in (f"{API}/alert-rules/", f"{API}/notifications/", f"{API}/notification-channels/")
    }
    for _ in range(5):
        AlertRuleFactory(user=user).channels.add(NotificationChannelFactory(user=user))
        NotificationFactory(user=user)
    assert {url: queries(url) for url in one} == one
