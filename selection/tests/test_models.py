import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from selection.models import Portfolio, Watchlist
from selection.tests.factories import (
    PortfolioAssetFactory,
    PortfolioFactory,
    WatchlistAssetFactory,
    WatchlistFactory,
)
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("factory", [WatchlistFactory, PortfolioFactory], ids=lambda f: f.__name__)
def test_soft_delete_and_restore(factory):
    row, other = factory(), factory()
    row.soft_delete(by=other.user)
    row.refresh_from_db()
    assert row.is_deleted
    assert row.deleted_by == other.user
    model = type(row)
    assert list(model.objects.alive()) == [other]
    assert list(model.objects.dead()) == [row]

    row.restore()
    row.refresh_from_db()
    assert (row.is_deleted, row.deleted_by) == (False, None)
    assert set(model.objects.alive()) == {row, other}


@pytest.mark.parametrize("factory", [WatchlistFactory, PortfolioFactory], ids=lambda f: f.__name__)
def test_a_soft_deleted_list_frees_its_name_and_default(factory):
    user = UserFactory()
    old = factory(user=user, name="Main", is_default=True)
    old.soft_delete()
    new = factory(user=user, name="Main", is_default=True)
    assert type(new).objects.filter(user=user, name="Main").count() == 2
    # Restoring the old one would make two live defaults with the same name.
    with pytest.raises(IntegrityError), transaction.atomic():
        old.restore()


def test_names_are_per_user():
    first = WatchlistFactory(name="Majors")
    WatchlistFactory(name="Majors")
    PortfolioFactory(user=first.user, name="Majors")
    assert Watchlist.objects.filter(name="Majors").count() == 2
    assert Portfolio.objects.filter(name="Majors").count() == 1


def test_an_asset_in_a_watchlist_or_portfolio_cannot_be_deleted():
    item = WatchlistAssetFactory()
    holding = PortfolioAssetFactory()
    for asset in (item.asset, holding.asset):
        with pytest.raises(ProtectedError):
            asset.delete()


def test_deleting_a_watchlist_deletes_its_items():
    item = WatchlistAssetFactory()
    item.watchlist.delete()
    assert not type(item).objects.exists()
