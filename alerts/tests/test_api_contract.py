"""The shared API contract (cryptopredict.testing.api) on the alerts endpoints: CRUD, the
permission matrix of own objects, bad input named by field, filters, ordering, query counts."""

from decimal import Decimal

from alerts.models import AlertRule, Notification, NotificationChannel
from assets.tests.factories import AssetFactory
from cryptopredict.testing.api import INBOX_PERMISSIONS, OWNED_PERMISSIONS, APIViewTestCases

from .factories import AlertRuleFactory, NotificationChannelFactory, NotificationFactory


class AlertRuleAPITest(APIViewTestCases.APIViewTestCase):
    model = AlertRule
    basename = "alertrule"
    query_budget = {"list": 3, "retrieve": 2, "create": 34, "update": 9, "destroy": 8}
    factory = AlertRuleFactory
    owner_field = "user"
    permissions = OWNED_PERMISSIONS
    update_data = {"name": "Renamed", "is_active": False}
    bad_data = [({"level": "0"}, "level"), ({"kind": "moon"}, "kind"), ({"timeframe": "2d"}, "timeframe")]

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.btc = AssetFactory(symbol="BTC")

    @classmethod
    def get_create_data(cls):
        return [
            {"kind": "price_above", "asset": cls.btc.pk, "level": str(Decimal(90000 + n))} for n in range(4)
        ]


class NotificationChannelAPITest(APIViewTestCases.APIViewTestCase):
    model = NotificationChannel
    basename = "notificationchannel"
    query_budget = {"list": 2, "retrieve": 1, "create": 17, "update": 5, "destroy": 7}
    factory = NotificationChannelFactory
    owner_field = "user"
    permissions = OWNED_PERMISSIONS
    update_data = {"name": "Renamed", "is_active": False}
    bad_data = [({"kind": "sms"}, "kind"), ({"url": "not a url"}, "url"), ({"secret": "short"}, "secret")]
    filter_exclusions = ("secret", "verification_digest")
    write_only_fields = ("secret",)

    @classmethod
    def get_create_data(cls):
        # Nothing listens on port 9: the channels are created, unverified.
        return [
            {"kind": "webhook", "url": f"http://127.0.0.1:9/hook/{n}", "secret": "0123456789abcdef"}
            for n in range(4)
        ]


class NotificationAPITest(APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase):
    model = Notification
    basename = "notification"
    query_budget = {"list": 1, "retrieve": 1}
    factory = NotificationFactory
    owner_field = "user"
    permissions = INBOX_PERMISSIONS
