"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

One browser for the session; each test gets a fresh page, signed in as a superuser, that
fails the test when the console logs an error or a script throws.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.test import Client

from users.tests.factories import AdminUserFactory

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests (they all live in this package)."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not at {CHROMIUM}: the CI setup (make browser) installs it.")
        pytest.skip(f"Chromium is not at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while it is open; the ORM calls
    # of the tests are still plain synchronous calls. Only for these tests: `check --deploy`
    # rightly refuses the variable, and later tests see no loop once the browser is closed.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which(CHROMIUM), args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def admin_user(transactional_db):
    return AdminUserFactory(email="analyst@cryptopredict.local")


@pytest.fixture
def page(request, browser, live_server, admin_user):
    """A 1440 px wide page signed in as `admin_user`; console errors fail the test.

    With BROWSER_SCREENSHOTS=<folder>, each test leaves a full-page screenshot there.
    """
    client = Client()
    client.force_login(admin_user)
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.base_url = live_server.url
    yield page
    if folder := os.environ.get("BROWSER_SCREENSHOTS"):
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], f"the browser console logged errors: {errors}"


def drawn(page, name: str) -> int:
    """Wait until the chart `name` is drawn and return how many points it drew."""
    selector = f'[data-chart="{name}"][data-points]'
    page.wait_for_selector(selector)
    return int(page.get_attribute(selector, "data-points"))
