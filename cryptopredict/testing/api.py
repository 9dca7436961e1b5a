"""A shared base for REST API tests (after NetBox's APIViewTestCases).

From a few lines per model it generates the list, retrieve, create, update (PATCH and PUT) and
delete tests, the permission matrix of design/api.md, bad-input tests, a filter-coverage test and
a query-count test (a list costs as many queries with 25 rows as with 1). Use it like this:

    from cryptopredict.testing.api import APIViewTestCases

    class AssetAPITest(APIViewTestCases.APIViewTestCase):
        model = Asset
        basename = "asset"                       # the router's basename: api:asset-list
        factory = AssetFactory
        update_data = {"name": "Renamed"}
        bad_data = [({"asset_type": "nope"}, "asset_type")]   # (overrides, field named in the 400)

        @classmethod
        def get_create_data(cls):                # at least three payloads that can coexist
            return [{"symbol": "AAA", ...}, {"symbol": "BBB", ...}, {"symbol": "CCC", ...}]

Pick only the mixins an endpoint supports, e.g. a read-only one:

    class ArchiveAPITest(APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase):

Roles (`self.users[role]`, `self.login(role)`): anonymous, guest, owner and other (two public
users), staff (no model permission), staff_with_permission (add/change/delete/view of `model`) and
admin (the admin role, not a superuser). `permissions` maps each action to the expected status per
role; the default is the market-data and AI column of design/api.md (MARKET_PERMISSIONS). For
objects owned by a user set `owner_field` (e.g. "user", or "portfolio__user" with a factory that
accepts it) and `permissions = OWNED_PERMISSIONS` (adjusted where the contract differs): objects
are then made by `create_object(owner=self.users["owner"])`, listed, read, updated and deleted
as that owner, and the other roles are tried against the owner's object. Override
`create_object` when the factory needs more than the owner keyword.

Helpers: `login(role)`, `list_url(**query)`, `detail_url(obj)`, `results(response)`,
`assert_status(response, code, context)`, `assert_matches(data, expected)` (decimals and times
compared by value), `assert_activity(action, pk, user)` (the audit row of an API write).

Authentication is `APIClient.force_authenticate`, so these tests do not depend on the token flow.
"""

import itertools
import json
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from cryptopredict.choices import UserRole
from cryptopredict.models import SoftDeleteMixin
from users.models import UserActivity
from users.tests.factories import UserFactory

ROLES = ("anonymous", "guest", "owner", "other", "staff", "staff_with_permission", "admin")


def _matrix(anonymous, guest, public, staff, staff_with_permission, admin) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "guest": guest,
        "owner": public,
        "other": public,
        "staff": staff,
        "staff_with_permission": staff_with_permission,
        "admin": admin,
    }


# design/api.md, market data and AI: every signed-in user reads; admins and permitted staff write.
MARKET_PERMISSIONS = {
    "list": _matrix(401, 200, 200, 200, 200, 200),
    "retrieve": _matrix(401, 200, 200, 200, 200, 200),
    "create": _matrix(401, 403, 403, 403, 201, 201),
    "partial_update": _matrix(401, 403, 403, 403, 200, 200),
    "destroy": _matrix(401, 403, 403, 403, 204, 204),
}

# design/api.md, own objects (a private object of "owner"): full CRUD on one's own, 404 on someone
# else's (no existence leak), guests none; admins and permitted staff read all but do not write
# others' objects. Override per endpoint where the contract differs (e.g. is_public objects).
OWNED_PERMISSIONS = {
    "list": _matrix(401, 403, 200, 200, 200, 200),
    "retrieve": {**_matrix(401, 403, 200, 404, 200, 200), "owner": 200, "other": 404},
    "create": _matrix(401, 403, 201, 201, 201, 201),
    "partial_update": {**_matrix(401, 403, 200, 404, 403, 403), "other": 404},
    "destroy": {**_matrix(401, 403, 204, 404, 403, 403), "other": 404},
}


def _same(actual, expected) -> bool:
    """Return whether an API value equals a request value, reading decimals and times as such."""
    if actual == expected:
        return True
    if isinstance(actual, str) and isinstance(expected, str | int | float | Decimal):
        moment_a, moment_e = parse_datetime(actual), parse_datetime(str(expected))
        if moment_a is not None and moment_e is not None:
            return moment_a == moment_e
        try:
            return Decimal(actual) == Decimal(str(expected))
        except InvalidOperation:
            return False
    return False


class APITestCase(TestCase):
    """Users of every role, an API client, URLs and small assertions."""

    model: type[models.Model] = None
    basename: str = None
    factory = None
    permissions: dict[str, dict[str, int]] = MARKET_PERMISSIONS
    # The user whose objects a list shows; None: the list shows every row.
    owner_field: str | None = None

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.users = {
            "guest": UserFactory(role=UserRole.GUEST),
            "owner": UserFactory(role=UserRole.PUBLIC),
            "other": UserFactory(role=UserRole.PUBLIC),
            "staff": UserFactory(role=UserRole.PUBLIC, is_staff=True),
            "staff_with_permission": UserFactory(role=UserRole.PUBLIC, is_staff=True),
            "admin": UserFactory(role=UserRole.ADMIN),
        }
        if cls.model is not None:
            content_type = ContentType.objects.get_for_model(cls.model)
            cls.users["staff_with_permission"].user_permissions.set(
                Permission.objects.filter(content_type=content_type)
            )

    def setUp(self):
        super().setUp()
        self.client = APIClient()

    # Helpers -----------------------------------------------------------------------------

    def login(self, role: str) -> None:
        """Authenticate the client as the user of `role` ("anonymous": nobody)."""
        self.client.force_authenticate(None if role == "anonymous" else self.users[role])

    def list_url(self, **query) -> str:
        url = reverse(f"api:{self.basename}-list")
        return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def detail_url(self, obj) -> str:
        return reverse(f"api:{self.basename}-detail", args=[obj.pk])

    def create_object(self, owner=None, **kwargs):
        """Return a new saved object; owned models put `owner` in `owner_field`."""
        if self.owner_field and owner is not None:
            kwargs[self.owner_field] = owner
        return self.factory(**kwargs)

    def assert_status(self, response, expected: int, context: str = "") -> None:
        body = getattr(response, "data", None)
        self.assertEqual(response.status_code, expected, f"{context}: {body!r}"[:2000])

    def assert_matches(self, data: dict, expected: dict) -> None:
        """Assert that every field of `expected` has the same value in the response `data`."""
        for key, value in expected.items():
            self.assertIn(key, data)
            self.assertTrue(_same(data[key], value), f"{key}: {data[key]!r} != {value!r}")

    def assert_activity(self, action: str, obj_pk, user) -> UserActivity:
        """Assert that the API wrote one audit row for `action` on the object and return it."""
        rows = UserActivity.objects.filter(
            activity_type="api", action=action, entity_type=self.model._meta.label_lower, entity_id=obj_pk
        )
        self.assertEqual(len(rows), 1, f"expected one {action} activity for {obj_pk}")
        self.assertEqual(rows[0].user_id, user.pk)
        return rows[0]

    def results(self, response) -> list:
        return response.data["results"] if isinstance(response.data, dict) else response.data

    def reader_role(self) -> str:
        return "owner" if self.owner_field else "admin"


class APIViewTestCases:
    class GetObjectViewTestCase(APITestCase):
        def test_get_object(self):
            obj = self.create_object(owner=self.users["owner"])
            self.login(self.reader_role())
            response = self.client.get(self.detail_url(obj))
            self.assert_status(response, 200, "retrieve")
            self.assertEqual(response.data["id"], obj.pk)

        def test_get_object_not_found(self):
            self.login("admin")
            response = self.client.get(reverse(f"api:{self.basename}-detail", args=[10**9]))
            self.assert_status(response, 404, "retrieve of a missing id")

        def test_get_object_permissions(self):
            obj = self.create_object(owner=self.users["owner"])
            for role, expected in self.permissions["retrieve"].items():
                with self.subTest(role=role):
                    self.login(role)
                    self.assert_status(self.client.get(self.detail_url(obj)), expected, f"retrieve as {role}")

    class ListObjectsViewTestCase(APITestCase):
        # Concrete fields that need no filter (JSON needs none; text must be in search_fields).
        filter_exclusions: tuple[str, ...] = ()

        def view_class(self):
            from django.urls import resolve

            return resolve(self.list_url()).func.cls

        def test_list_objects(self):
            objects = [self.create_object(owner=self.users["owner"]) for _ in range(3)]
            self.login(self.reader_role())
            response = self.client.get(self.list_url(page_size=500))
            self.assert_status(response, 200, "list")
            ids = {row["id"] for row in self.results(response)}
            self.assertTrue({obj.pk for obj in objects} <= ids)

        def test_list_objects_permissions(self):
            self.create_object(owner=self.users["owner"])
            for role, expected in self.permissions["list"].items():
                with self.subTest(role=role):
                    self.login(role)
                    self.assert_status(self.client.get(self.list_url()), expected, f"list as {role}")

        def test_list_page_size_limit(self):
            self.login(self.reader_role())
            response = self.client.get(self.list_url(page_size=501))
            self.assert_status(response, 400, "oversized page")
            self.assertIn("page_size", response.data)

        def test_list_query_count(self):
            """The number of queries of a list does not depend on the number of rows."""
            self.login(self.reader_role())
            self.create_object(owner=self.users["owner"])
            counts = []
            for extra in (0, 24):
                for _ in range(extra):
                    self.create_object(owner=self.users["owner"])
                with CaptureQueriesContext(connection) as queries:
                    response = self.client.get(self.list_url(page_size=100))
                self.assert_status(response, 200, "list")
                self.assertEqual(len(self.results(response)), 1 + extra)
                counts.append(len(queries))
            self.assertEqual(counts[0], counts[1], f"1 row: {counts[0]} queries, 25 rows: {counts[1]}")

        def test_ordering_on_indexed_fields(self):
            """Every ordering field sorts, and its next page (a cursor on time series) is served."""
            for _ in range(3):
                self.create_object(owner=self.users["owner"])
            self.login(self.reader_role())
            for field in self.view_class().ordering_fields:
                for term in (field, f"-{field}"):
                    with self.subTest(ordering=term):
                        response = self.client.get(self.list_url(ordering=term, page_size=2))
                        self.assert_status(response, 200, term)
                        self.assert_status(self.client.get(response.data["next"]), 200, f"{term}, next page")

        def test_filters_cover_fields(self):
            """Every column a client would filter on has a filter; long text is searchable instead."""
            view = self.view_class()
            filters = view.filterset_class.base_filters.values()
            filtered = {f.field_name.split("__")[0] for f in filters}
            searchable = {name.split("__")[0].lstrip("^=@$") for name in getattr(view, "search_fields", ())}
            for field in self.model._meta.concrete_fields:
                if field.name in self.filter_exclusions or isinstance(field, models.JSONField):
                    continue
                with self.subTest(field=field.name):
                    if isinstance(field, models.TextField):
                        self.assertIn(
                            field.name, searchable, f"{field.name} is text: add it to search_fields"
                        )
                    else:
                        self.assertIn(field.name, filtered, f"no filter on {field.name}")

    class CreateObjectViewTestCase(APITestCase):
        # (overrides of the first create payload, the field the 400 answer must name)
        bad_data: list[tuple[dict, str]] = []

        @classmethod
        def get_create_data(cls) -> list[dict]:
            """Return at least three payloads that can all be created (override)."""
            raise NotImplementedError

        def test_create_object(self):
            self.login("admin")
            for data in self.get_create_data():
                response = self.client.post(self.list_url(), data, format="json")
                self.assert_status(response, 201, f"create {data}")
                self.assert_matches(response.data, data)
                self.assertTrue(self.model.objects.filter(pk=response.data["id"]).exists())
                activity = self.assert_activity("create", response.data["id"], self.users["admin"])
                self.assertTrue(set(activity.details["changed_fields"]) >= set(data))

        def test_create_object_permissions(self):
            payloads = itertools.cycle(self.get_create_data())
            for role, expected in self.permissions["create"].items():
                with self.subTest(role=role):
                    self.login(role)
                    data = next(payloads) if expected == 201 else self.get_create_data()[-1]
                    self.assert_status(self.client.post(self.list_url(), data, format="json"), expected, role)

        def test_create_bad_input(self):
            self.login("admin")
            for overrides, field in self.bad_data:
                with self.subTest(bad=overrides):
                    data = {**self.get_create_data()[0], **overrides}
                    response = self.client.post(self.list_url(), data, format="json")
                    self.assert_status(response, 400, f"bad input {overrides}")
                    self.assertIn(field, response.data, json.dumps(response.data, default=str))

    class UpdateObjectViewTestCase(APITestCase):
        update_data: dict = {}

        def test_update_object(self):
            obj = self.create_object(owner=self.users["owner"])
            user = self.users["owner" if self.owner_field else "admin"]
            self.client.force_authenticate(user)
            response = self.client.patch(self.detail_url(obj), self.update_data, format="json")
            self.assert_status(response, 200, "partial update")
            self.assert_matches(response.data, self.update_data)
            activity = self.assert_activity("update", obj.pk, user)
            self.assertEqual(activity.details["changed_fields"], sorted(self.update_data))

        def test_full_update_object(self):
            """PUT of the object as read, with update_data applied, is accepted."""
            obj = self.create_object(owner=self.users["owner"])
            self.client.force_authenticate(self.users["owner" if self.owner_field else "admin"])
            current = self.client.get(self.detail_url(obj)).data
            response = self.client.put(self.detail_url(obj), {**current, **self.update_data}, format="json")
            self.assert_status(response, 200, "full update")
            self.assert_matches(response.data, self.update_data)

        def test_update_object_permissions(self):
            for role, expected in self.permissions["partial_update"].items():
                with self.subTest(role=role):
                    obj = self.create_object(owner=self.users["owner"])
                    self.login(role)
                    response = self.client.patch(self.detail_url(obj), self.update_data, format="json")
                    self.assert_status(response, expected, f"update as {role}")

    class DeleteObjectViewTestCase(APITestCase):
        def test_delete_object(self):
            obj = self.create_object(owner=self.users["owner"])
            user = self.users["owner" if self.owner_field else "admin"]
            self.client.force_authenticate(user)
            self.assert_status(self.client.delete(self.detail_url(obj)), 204, "delete")
            remaining = self.model.objects.filter(pk=obj.pk)
            if issubclass(self.model, SoftDeleteMixin):
                remaining = remaining.alive()
            self.assertFalse(remaining.exists())
            self.assert_activity("delete", obj.pk, user)

        def test_delete_object_permissions(self):
            for role, expected in self.permissions["destroy"].items():
                with self.subTest(role=role):
                    obj = self.create_object(owner=self.users["owner"])
                    self.login(role)
                    self.assert_status(
                        self.client.delete(self.detail_url(obj)), expected, f"delete as {role}"
                    )

    class APIViewTestCase(
        GetObjectViewTestCase,
        ListObjectsViewTestCase,
        CreateObjectViewTestCase,
        UpdateObjectViewTestCase,
        DeleteObjectViewTestCase,
    ):
        """All of the above: a model with full CRUD."""
