"""The shared API contract (cryptopredict.testing.api) on the alerts endpoints: CRUD, the
permission matrix of own objects, bad input named by field, filters, ordering, query counts."""

from decimal import Decimal

from alerts.models import AlertRule, Notification, NotificationChannel
from assets.tests.factories import AssetFactory
from cryptopredict.testing.api import APIViewTestCases

from .factories import AlertRuleFactory, NotificationChannelFactory, NotificationFactory

ROLES = ("anonymous", "guest", "owner", "other", "staff", "staff_with_permission", "admin")


def row(*codes) -> dict:
    return dict(zip(ROLES, codes, strict=True))


# docs/api.md, own objects: admins and staff holding the view permission read everyone's;
# nobody but the owner writes (404, not 403: no existence leak).
OWNED = {
    "list": row(401, 403, 200, 200, 200, 200, 200),
    "retrieve": row(401, 403, 200, 404, 404, 200, 200),
    "create": row(401, 403, 201, 201, 201, 201, 201),
    "partial_update": row(401, 403, 200, 404, 404, 404, 404),
    "destroy": row(401, 403, 204, 404, 404, 404, 404),
}
# An inbox: everyone, admins included, reads only their own notifications.
INBOX = {**OWNED, "retrieve": row(401, 403, 200, 404, 404, 404, 404)}


class AlertRuleAPITest(APIViewTestCases.APIViewTestCase):
    model = AlertRule
    basename = "alertrule"
    factory = AlertRuleFactory
    owner_field = "user"
    permissions = OWNED
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
    factory = NotificationChannelFactory
    owner_field = "user"
    permissions = OWNED
    update_data = {"name": "Renamed", "is_active": False}
    bad_data = [({"kind": "sms"}, "kind"), ({"url": "not a url"}, "url"), ({"secret": "short"}, "secret")]
    filter_exclusions = ("secret", "verification_digest")

    @classmethod
    def get_create_data(cls):
        # Nothing listens on port 9: the channels are created, unverified.
        return [
            {"kind": "webhook", "url": f"http://127.0.0.1:9/hook/{n}", "secret": "0123456789abcdef"}
            for n in range(4)
        ]

    def test_create_object(self):
        """Created as sent, except that the secret is write-only: it is never shown."""
        self.login("admin")
        for data in self.get_create_data():
            response = self.client.post(self.list_url(), data, format="json")
            self.assert_status(response, 201, f"create {data}")
            self.assert_matches(response.data, {k: v for k, v in data.items() if k != "secret"})
            self.assertNotIn("secret", response.data)
            self.assertEqual(NotificationChannel.objects.get(pk=response.data["id"]).secret, data["secret"])


class NotificationAPITest(APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase):
    model = Notification
    basename = "notification"
    factory = NotificationFactory
    owner_field = "user"
    permissions = INBOX
