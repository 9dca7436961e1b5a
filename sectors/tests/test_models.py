import pytest
from django.db import IntegrityError, transaction

from sectors.models import Sector, SectorRotationFlow
from sectors.tests.factories import (
    SectorFactory,
    SectorMappingFactory,
    SectorRotationFlowFactory,
)

pytestmark = pytest.mark.django_db


def test_deleting_a_parent_sector_keeps_its_children():
    parent = SectorFactory()
    child = SectorFactory(parent=parent)
    assert list(parent.children.all()) == [child]
    parent.delete()
    child.refresh_from_db()
    assert child.parent is None


def test_an_asset_has_many_sectors_but_one_primary():
    primary = SectorMappingFactory(is_primary=True, weight=60)
    SectorMappingFactory(asset=primary.asset, weight=40)
    assert primary.asset.sector_mappings.count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        primary.asset.sector_mappings.update(is_primary=True)


def test_sector_colours_take_either_letter_case():
    SectorFactory(color="#AbCdEf")
    assert Sector.objects.filter(color="#AbCdEf").exists()


def test_deleting_a_cross_sector_analysis_deletes_its_flows():
    flow = SectorRotationFlowFactory()
    flow.cross_analysis.delete()
    assert not SectorRotationFlow.objects.exists()
