"""Cash moves only through trades and portfolio_cash_move (POST portfolios/{id}/cash/), never a PATCH."""

from decimal import Decimal as D

import pytest
from rest_framework.test import APIClient

from selection.models import Portfolio
from selection.tests.factories import PortfolioFactory
from users.models import UserActivity
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def client(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


def cash_url(portfolio):
    return f"/api/v1/portfolios/{portfolio.pk}/cash/"


def test_a_patch_cannot_set_the_cash_balance(client, owner):
    portfolio = PortfolioFactory(user=owner, track_cash=True, cash_balance=D("100"))
    response = client.patch(
        f"/api/v1/portfolios/{portfolio.pk}/", {"cash_balance": "1000000", "description": "x"}, format="json"
    )
    assert response.status_code == 200
    portfolio.refresh_from_db()
    assert (portfolio.cash_balance, portfolio.description) == (D("100"), "x")


def test_deposits_and_withdrawals_move_the_balance_and_are_audited(client, owner):
    portfolio = PortfolioFactory(user=owner, track_cash=True, cash_balance=D("100"))
    response = client.post(cash_url(portfolio), {"amount": "250.5"}, format="json")
    assert response.status_code == 200 and D(response.data["cash_balance"]) == D("350.5")
    response = client.post(cash_url(portfolio), {"amount": "-350.5"}, format="json")
    assert response.status_code == 200 and D(response.data["cash_balance"]) == D(0)
    assert Portfolio.objects.get(pk=portfolio.pk).cash_balance == D(0)
    audits = UserActivity.objects.filter(user=owner, entity_type="selection.portfolio", action="update")
    assert [a.details["amount"] for a in audits.order_by("pk")] == ["250.50000000", "-350.50000000"]


@pytest.mark.parametrize(
    ("track_cash", "amount", "message"),
    [
        (True, "-100.01", "Cannot withdraw 100.01000000: the balance is 100"),
        (True, "0", "non-zero"),
        (False, "5", "does not track cash"),
    ],
)
def test_a_refused_move_names_the_amount_and_changes_nothing(client, owner, track_cash, amount, message):
    portfolio = PortfolioFactory(user=owner, track_cash=track_cash, cash_balance=D("100"))
    response = client.post(cash_url(portfolio), {"amount": amount}, format="json")
    assert response.status_code == 400 and message in str(response.data["amount"])
    assert Portfolio.objects.get(pk=portfolio.pk).cash_balance == D("100")


def test_someone_elses_portfolio_does_not_exist(client):
    portfolio = PortfolioFactory(user=UserFactory(), track_cash=True, is_public=True, cash_balance=D("100"))
    assert client.post(cash_url(portfolio), {"amount": "5"}, format="json").status_code == 404
    assert Portfolio.objects.get(pk=portfolio.pk).cash_balance == D("100")
