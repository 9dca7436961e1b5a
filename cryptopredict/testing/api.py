"""A shared base for REST API tests (after NetBox's APIViewTestCases and Saleor's query budgets).

From a few lines per model it generates the list, retrieve, create, update (PATCH and PUT) and
delete tests, the permission matrix of docs/api.md, bad-input tests, a filter-coverage test and
an absolute query budget per scenario. Use it like this:

    from cryptopredict.testing.api import APIViewTestCases

    class AssetAPITest(APIViewTestCases.APIViewTestCase):
        model = Asset
        basename = "asset"                       # the router's basename: api:asset-list
        factory = AssetFactory
        update_data = {"name": "Renamed"}
        bad_data = [({"asset_type": "nope"}, "asset_type")]   # (overrides, field named in the 400)
        query_budget = {"list": 3, "retrieve": 2, "create": 6, "update": 6, "destroy": 7}

        @classmethod
        def get_create_data(cls):                # at least three payloads that can coexist
            return [{"symbol": "AAA", ...}, {"symbol": "BBB", ...}, {"symbol": "CCC", ...}]

Pick only the mixins an endpoint supports, e.g. a read-only one:

    class ArchiveAPITest(APIViewTestCases.GetObjectViewTestCase, APIViewTestCases.ListObjectsViewTestCase):

Every route registered on an app's router needs a test class with its basename, and every action
the route serves the mixin that tests it (cryptopredict/tests/test_api_routes.py, from
`registered_routes()`).

Stored rows: after a create, a PATCH and a PUT the row read back from the database holds every
value sent (`assert_instance_equal`, NetBox's assertInstanceEqual); request keys that are not
stored as sent (a password) go in `instance_exclusions`.

Query budgets: `query_budget` maps "list" (25 rows; 1 row must cost the same), "retrieve",
"create", "update" (PATCH) and "destroy" to the exact number of queries the request makes
(assertNumQueries), the user loaded afresh as a real request would (its permissions not cached).
A missing budget fails with the number measured. Authentication itself (the bearer session) is
not counted: these tests use `APIClient.force_authenticate`, so they do not depend on the token flow.

Roles (`self.users[role]`, `self.login(role)`): anonymous, guest, owner and other (two public
users), staff (no model permission), staff_with_permission (add/change/delete/view of `model`) and
admin (the admin role, not a superuser). `permissions` maps each action to the expected status per
role; the default is the market-data and AI column of docs/api.md (MARKET_PERMISSIONS). For
objects owned by a user set `owner_field` (e.g. "user", or "portfolio__user" with a factory that
accepts it) and `permissions = OWNED_PERMISSIONS` (adjusted where the contract differs): objects
are then made by `create_object(owner=self.users["owner"])`, listed, read, updated and deleted
as that owner, and the other roles are tried against the owner's object. Objects that can be
shared set `public_field` (e.g. "is_public" or "watchlist__is_public"): the role "public" is then
`other` acting on the owner's public object (OWNED_PERMISSIONS: reads it, writes 404), and the
list of `other` shows the public object and hides the private one. Override `create_object` when
the factory needs more than the owner keyword, `assert_deleted` when a delete is not a removal.

Helpers: `login(role)`, `list_url(**query)`, `detail_url(obj)`, `results(response)`,
`assert_status(response, code, context)`, `assert_matches(data, expected)` (decimals and times
compared by value), `assert_instance_equal(instance, data)`, `assert_activity(action, pk, user)`
(the audit row of an API write).
"""

import datetime
import importlib
import itertools
import json
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.test import APIClient

from cryptopredict.api.urls import API_APPS
from cryptopredict.choices import UserRole
from cryptopredict.models import SoftDeleteMixin
from users.models import User, UserActivity
from users.tests.factories import UserFactory

ROLES = ("anonymous", "guest", "owner", "other", "staff", "staff_with_permission", "admin")
# Not a user: `other` acting on a public object of `owner` (classes with a public_field).
PUBLIC = "public"
SCENARIOS = ("list", "retrieve", "create", "update", "destroy")


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


# docs/api.md, market data and AI: every signed-in user reads; admins and permitted staff write.
MARKET_PERMISSIONS = {
    "list": _matrix(401, 200, 200, 200, 200, 200),
    "retrieve": _matrix(401, 200, 200, 200, 200, 200),
    "create": _matrix(401, 403, 403, 403, 201, 201),
    "partial_update": _matrix(401, 403, 403, 403, 200, 200),
    "destroy": _matrix(401, 403, 403, 403, 204, 204),
}


def owned_permissions(*, creatable: bool = True) -> dict[str, dict[str, int]]:
    """Return docs/api.md's statuses for a private object of `owner` (and a public one: PUBLIC).

    Full CRUD on one's own, guests none; admins and staff holding the model's view permission read
    everyone's, other staff are public users; nobody but the owner writes it (404, not 403: no
    existence leak). A public object is read by everyone signed in and written by its owner only.
    """
    created = 201 if creatable else 405
    return {
        "list": {**_matrix(401, 403, 200, 200, 200, 200), PUBLIC: 200},
        "retrieve": {**_matrix(401, 403, 200, 404, 200, 200), "owner": 200, "other": 404, PUBLIC: 200},
        "create": _matrix(401, 403, created, created, created, created),
        "partial_update": {**_matrix(401, 403, 200, 404, 404, 404), "other": 404, PUBLIC: 404},
        "destroy": {**_matrix(401, 403, 204, 404, 404, 404), "other": 404, PUBLIC: 404},
    }


OWNED_PERMISSIONS = owned_permissions()
# An inbox: everyone, admins included, reads only their own rows.
INBOX_PERMISSIONS = {
    **OWNED_PERMISSIONS,
    "retrieve": {**OWNED_PERMISSIONS["retrieve"], "staff_with_permission": 404, "admin": 404},
}


def registered_routes() -> dict[str, type]:
    """Return {basename: viewset} of every route registered on the API apps' routers."""
    routes = {}
    for app in API_APPS:
        module = importlib.import_module(f"{app}.api.urls")
        for _prefix, viewset, basename in module.router.registry:
            routes[basename] = viewset
    return routes


def _same(actual, expected) -> bool:
    """Return whether an API or stored value equals a request value, reading decimals and times as such."""
    if actual == expected:
        return True
    if isinstance(actual, datetime.datetime):
        moment = parse_datetime(str(expected))
        return moment is not None and moment == actual
    if isinstance(actual, datetime.date):
        return parse_date(str(expected)) == actual
    if isinstance(actual, Decimal | float) and not isinstance(expected, bool):
        try:
            return Decimal(str(actual)) == Decimal(str(expected))
        except InvalidOperation:
            return False
    if isinstance(actual, str) and isinstance(expected, str | int | float | Decimal):
        moment_a, moment_e = parse_datetime(actual), parse_datetime(str(expected))
        if moment_a is not None and moment_e is not None:
            return moment_a == moment_e
        try:
            return Decimal(actual) == Decimal(str(expected))
        except InvalidOperation:
            return False
    return False


def _same_related(related, expected) -> bool:
    """Return whether a related row is the one a request named, by id or by its natural key."""
    if related is None or expected is None:
        return related is None and expected is None
    keys = {str(related.pk)} | {
        str(getattr(related, name)).casefold()
        for name in ("symbol", "slug", "email")
        if hasattr(related, name)
    }
    return str(expected).casefold() in keys


class APITestCase(TestCase):
    """Users of every role, an API client, URLs and small assertions."""

    model: type[models.Model] = None
    basename: str = None
    factory = None
    permissions: dict[str, dict[str, int]] = MARKET_PERMISSIONS
    # The user whose objects a list shows; None: the list shows every row.
    owner_field: str | None = None
    # The flag that shares an object with everyone (see PUBLIC); None: objects are never shared.
    public_field: str | None = None
    # Exact queries per scenario (SCENARIOS); a scenario the class tests must have one.
    query_budget: dict[str, int] = {}
    # Request keys that are not stored as sent (assert_instance_equal skips them).
    instance_exclusions: tuple[str, ...] = ()
    # {action: where it is tested instead} for an action the route serves without its mixin here.
    untested_actions: dict[str, str] = {}

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

    def create_public_object(self, owner, public: bool = True):
        """Return a new object of `owner`, shared with everyone when `public` (see public_field)."""
        return self.create_object(owner=owner, **{self.public_field: public})

    def roles(self, action: str):
        """Yield (role, expected status) of the action's matrix, PUBLIC only where objects are shared."""
        for role, expected in self.permissions[action].items():
            if role != PUBLIC or self.public_field:
                yield role, expected

    def object_for(self, role: str):
        """Sign in as `role` and return an object of `owner` to try: a public one for PUBLIC."""
        if role == PUBLIC:
            self.login("other")
            return self.create_public_object(self.users["owner"])
        self.login(role)
        return self.create_object(owner=self.users["owner"])

    def login_afresh(self, role: str) -> None:
        """Authenticate as `role` with the user read again, as a real request does (no cached perms)."""
        self.client.force_authenticate(User.objects.get(pk=self.users[role].pk))

    def within_budget(self, scenario: str, request):
        """Return request()'s response, asserting it made exactly the scenario's budget of queries."""
        budget = self.query_budget.get(scenario)
        if budget is None:
            with CaptureQueriesContext(connection) as queries:
                request()
            self.fail(
                f"{type(self).__name__} has no query budget for {scenario!r}: it made {len(queries)}"
                f" queries; set query_budget[{scenario!r}] = {len(queries)}"
            )
        with self.assertNumQueries(budget):
            return request()

    def assert_instance_equal(self, instance, data: dict) -> None:
        """Assert that the row in the database holds every value of `data` (NetBox's assertInstanceEqual)."""
        instance = type(instance).objects.get(pk=instance.pk)
        for key, expected in data.items():
            if key in self.instance_exclusions:
                continue
            try:
                field = instance._meta.get_field(key)
            except FieldDoesNotExist:
                self.fail(f"{key} is not a column of {self.model.__name__}: add it to instance_exclusions")
            if field.many_to_many:
                stored = {str(pk) for pk in getattr(instance, key).values_list("pk", flat=True)}
                self.assertEqual(stored, {str(v) for v in expected}, f"stored {key}")
            elif field.is_relation:
                related = getattr(instance, key)
                self.assertTrue(
                    _same_related(related, expected), f"stored {key}: {related!r} != {expected!r}"
                )
            else:
                stored = getattr(instance, key)
                self.assertTrue(_same(stored, expected), f"stored {key}: {stored!r} != {expected!r}")

    def assert_no_activity(self, obj_pk) -> None:
        """Assert that no API write was recorded on the object (a refused write leaves no audit row)."""
        rows = UserActivity.objects.filter(
            activity_type="api", entity_type=self.model._meta.label_lower, entity_id=obj_pk
        )
        self.assertFalse(rows.exists(), f"refused write recorded: {list(rows.values('action', 'user'))}")

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
            self.login_afresh(self.reader_role())
            response = self.within_budget("retrieve", lambda: self.client.get(self.detail_url(obj)))
            self.assert_status(response, 200, "retrieve")
            self.assertEqual(response.data["id"], obj.pk)

        def test_get_object_not_found(self):
            self.login("admin")
            response = self.client.get(reverse(f"api:{self.basename}-detail", args=[10**9]))
            self.assert_status(response, 404, "retrieve of a missing id")

        def test_get_object_permissions(self):
            for role, expected in self.roles("retrieve"):
                with self.subTest(role=role):
                    obj = self.object_for(role)
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
            for role, expected in self.roles("list"):
                with self.subTest(role=role):
                    self.object_for(role)
                    self.assert_status(self.client.get(self.list_url()), expected, f"list as {role}")

        def test_list_shows_others_public_objects_only(self):
            """Another user's list holds the owner's public objects, never the private ones."""
            if not self.public_field:
                self.skipTest("objects of this endpoint are never shared")
            public = self.create_public_object(self.users["owner"])
            private = self.create_public_object(self.users["owner"], public=False)
            own = self.create_object(owner=self.users["other"])
            self.login("other")
            ids = {row["id"] for row in self.results(self.client.get(self.list_url(page_size=500)))}
            self.assertEqual(ids & {public.pk, private.pk, own.pk}, {public.pk, own.pk})

        def test_list_page_size_limit(self):
            self.login(self.reader_role())
            response = self.client.get(self.list_url(page_size=501))
            self.assert_status(response, 400, "oversized page")
            self.assertIn("page_size", response.data)

        def test_list_query_count(self):
            """A list makes exactly its budget of queries, with 1 row as with 25."""
            self.create_object(owner=self.users["owner"])
            shown = None
            for extra in (0, 24):
                for _ in range(extra):
                    self.create_object(owner=self.users["owner"])
                self.login_afresh(self.reader_role())
                response = self.within_budget("list", lambda: self.client.get(self.list_url(page_size=100)))
                self.assert_status(response, 200, "list")
                rows = len(self.results(response))
                self.assertEqual(rows, (shown or rows) + extra, "the new rows are listed")
                shown = rows

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
        # Request keys stored but never shown (a secret): absent from the answer, checked in the row.
        write_only_fields: tuple[str, ...] = ()

        # Who creates in test_create_object: "admin", or "owner" where payloads name one's own parents.
        creator_role = "admin"

        @classmethod
        def get_create_data(cls) -> list[dict]:
            """Return at least three payloads that can all be created (override, or create_data)."""
            raise NotImplementedError

        def create_data(self, role: str) -> list[dict]:
            """Return payloads `role` may create (override when they name the user's own rows)."""
            return self.get_create_data()

        def test_create_object(self):
            role = self.creator_role
            for number, data in enumerate(self.create_data(role)):
                self.login_afresh(role)
                post = lambda data=data: self.client.post(self.list_url(), data, format="json")  # noqa: E731
                # The budget is the first create's: later ones may find rows it made (a series' state).
                response = self.within_budget("create", post) if number == 0 else post()
                self.assert_status(response, 201, f"create {data}")
                shown = {k: v for k, v in data.items() if k not in self.write_only_fields}
                self.assert_matches(response.data, shown)
                for name in self.write_only_fields:
                    self.assertNotIn(name, response.data, f"{name} is write-only")
                self.assert_instance_equal(self.model(pk=response.data["id"]), data)
                activity = self.assert_activity("create", response.data["id"], self.users[role])
                self.assertTrue(set(activity.details["changed_fields"]) >= set(data))

        def test_create_object_permissions(self):
            created = itertools.count()
            for role, expected in self.roles("create"):
                if role == PUBLIC:
                    continue  # nothing is shared before it exists
                with self.subTest(role=role):
                    self.login(role)
                    payloads = self.create_data("owner" if role == "anonymous" else role)
                    data = payloads[next(created) % len(payloads)] if expected == 201 else payloads[-1]
                    self.assert_status(self.client.post(self.list_url(), data, format="json"), expected, role)

        def test_create_bad_input(self):
            self.login(self.creator_role)
            for overrides, field in self.bad_data:
                with self.subTest(bad=overrides):
                    data = {**self.create_data(self.creator_role)[0], **overrides}
                    before = self.model.objects.count()
                    response = self.client.post(self.list_url(), data, format="json")
                    self.assert_status(response, 400, f"bad input {overrides}")
                    self.assertIn(field, response.data, json.dumps(response.data, default=str))
                    self.assertEqual(self.model.objects.count(), before, "a refused create stored a row")

    class UpdateObjectViewTestCase(APITestCase):
        update_data: dict = {}

        def writer_role(self) -> str:
            return "owner" if self.owner_field else "admin"

        def test_update_object(self):
            obj = self.create_object(owner=self.users["owner"])
            self.login_afresh(self.writer_role())
            response = self.within_budget(
                "update", lambda: self.client.patch(self.detail_url(obj), self.update_data, format="json")
            )
            self.assert_status(response, 200, "partial update")
            self.assert_matches(response.data, self.update_data)
            self.assert_instance_equal(obj, self.update_data)
            activity = self.assert_activity("update", obj.pk, self.users[self.writer_role()])
            self.assertEqual(activity.details["changed_fields"], sorted(self.update_data))

        def test_full_update_object(self):
            """PUT of the object as read, with update_data applied, is accepted and stored."""
            obj = self.create_object(owner=self.users["owner"])
            self.login(self.writer_role())
            current = self.client.get(self.detail_url(obj)).data
            response = self.client.put(self.detail_url(obj), {**current, **self.update_data}, format="json")
            self.assert_status(response, 200, "full update")
            self.assert_matches(response.data, self.update_data)
            self.assert_instance_equal(obj, self.update_data)

        def test_update_object_permissions(self):
            for role, expected in self.roles("partial_update"):
                with self.subTest(role=role):
                    obj = self.object_for(role)
                    response = self.client.patch(self.detail_url(obj), self.update_data, format="json")
                    self.assert_status(response, expected, f"update as {role}")
                    if expected >= 400:
                        self.assert_no_activity(obj.pk)

    class DeleteObjectViewTestCase(APITestCase):
        def assert_deleted(self, pk) -> None:
            """Assert that the object is gone (soft-deleted models: no longer alive)."""
            remaining = self.model.objects.filter(pk=pk)
            if issubclass(self.model, SoftDeleteMixin):
                remaining = remaining.alive()
            self.assertFalse(remaining.exists(), "deleted object still there")

        def assert_delete_recorded(self, pk, user) -> None:
            """Assert that the delete left its audit row."""
            self.assert_activity("delete", pk, user)

        def test_delete_object(self):
            obj = self.create_object(owner=self.users["owner"])
            user = self.users["owner" if self.owner_field else "admin"]
            self.login_afresh("owner" if self.owner_field else "admin")
            response = self.within_budget("destroy", lambda: self.client.delete(self.detail_url(obj)))
            self.assert_status(response, 204, "delete")
            self.assert_deleted(obj.pk)
            self.assert_delete_recorded(obj.pk, user)

        def test_delete_object_permissions(self):
            for role, expected in self.roles("destroy"):
                with self.subTest(role=role):
                    obj = self.object_for(role)
                    response = self.client.delete(self.detail_url(obj))
                    self.assert_status(response, expected, f"delete as {role}")
                    if expected >= 400:
                        self.assertTrue(self.model.objects.filter(pk=obj.pk).exists())
                        self.assert_no_activity(obj.pk)

    class APIViewTestCase(
        GetObjectViewTestCase,
        ListObjectsViewTestCase,
        CreateObjectViewTestCase,
        UpdateObjectViewTestCase,
        DeleteObjectViewTestCase,
    ):
        """All of the above: a model with full CRUD."""
