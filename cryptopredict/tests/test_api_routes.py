"""Every route on the API apps' routers has a test class of the shared base (cryptopredict.testing.api)
with its basename, and every action the route serves the mixin that tests it."""

import importlib
import pkgutil

from cryptopredict.api.urls import API_APPS
from cryptopredict.testing.api import APITestCase, APIViewTestCases, registered_routes

# The action of a route -> the HTTP method that reaches it and the mixin that tests it.
ACTIONS = {
    "list": ("get", APIViewTestCases.ListObjectsViewTestCase),
    "retrieve": ("get", APIViewTestCases.GetObjectViewTestCase),
    "create": ("post", APIViewTestCases.CreateObjectViewTestCase),
    "partial_update": ("patch", APIViewTestCases.UpdateObjectViewTestCase),
    "destroy": ("delete", APIViewTestCases.DeleteObjectViewTestCase),
}


def api_test_classes() -> dict[str, list[type]]:
    """Return {basename: [test classes]} of the API test modules (`<app>/tests/test_api*.py`)."""
    classes: dict[str, list[type]] = {}
    for app in API_APPS:
        package = importlib.import_module(f"{app}.tests")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("test_api"):
                continue
            module = importlib.import_module(f"{app}.tests.{info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, APITestCase)
                    and value.__module__ == module.__name__
                    and value.basename
                    and value.__dict__.get("__test__", True)
                ):
                    classes.setdefault(value.basename, []).append(value)
    return classes


def served_actions(viewset) -> set[str]:
    methods = set(viewset.http_method_names)
    return {
        action for action, (method, _) in ACTIONS.items() if hasattr(viewset, action) and method in methods
    }


def test_every_registered_route_has_a_test_class():
    routes, tested = registered_routes(), api_test_classes()
    assert len(routes) >= 30  # the routers were read
    missing = sorted(set(routes) - set(tested))
    assert not missing, f"routes without a test class of cryptopredict.testing.api: {missing}"
    unknown = sorted(set(tested) - set(routes))
    assert not unknown, f"test classes for routes that are not registered: {unknown}"


def test_every_action_a_route_serves_is_tested():
    routes, tested = registered_routes(), api_test_classes()
    untested = []
    for basename, viewset in sorted(routes.items()):
        for action in sorted(served_actions(viewset)):
            mixin = ACTIONS[action][1]
            classes = tested.get(basename, [])
            if not any(issubclass(cls, mixin) or action in cls.untested_actions for cls in classes):
                untested.append(f"{basename}.{action} ({mixin.__name__})")
    assert not untested, f"actions served but not tested: {untested}"
