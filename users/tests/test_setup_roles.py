from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from users.tests.factories import UserFactory

PROJECT_APPS = ("users", "assets", "ai", "macro", "sectors", "selection", "trading")
OPERATOR_EDITS = {
    f"{verb}_{model}"
    for verb in ("add", "change")
    for model in (
        "asset",
        "pricedata",
        "pricedataarchive",
        "metricssnapshot",
        "sector",
        "sectorhistory",
        "sectormapping",
        "aimodel",
        "modeltrainingjob",
        "modelpredictionjob",
        "modelevaluation",
    )
}


def run() -> str:
    out = StringIO()
    call_command("setup_roles", stdout=out)
    return out.getvalue()


def codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def every_view_permission() -> set[str]:
    return {
        f"view_{model._meta.model_name}"
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models()
    }


@pytest.mark.django_db
def test_groups_get_exactly_their_permissions():
    run()

    views = every_view_permission()
    assert {"view_user", "view_useractivity", "view_pricedata", "view_tradeaction"} <= views
    assert codenames("Analysts") == views
    assert codenames("Operators") == views | OPERATOR_EDITS
    operators = Group.objects.get(name="Operators").permissions
    assert not operators.filter(codename__startswith="delete_").exists()
    assert not operators.exclude(content_type__app_label__in=PROJECT_APPS).exists()


@pytest.mark.django_db
def test_running_twice_changes_nothing_and_prints_one_line_per_group():
    first = run()
    before = {name: codenames(name) for name in ("Analysts", "Operators")}
    second = run()

    views = len(every_view_permission())
    assert first.splitlines() == [
        f"Analysts: {views} permissions ({views} added, 0 removed)",
        f"Operators: {views + 22} permissions ({views + 22} added, 0 removed)",
    ]
    assert second.splitlines() == [
        f"Analysts: {views} permissions (0 added, 0 removed)",
        f"Operators: {views + 22} permissions (0 added, 0 removed)",
    ]
    assert {name: codenames(name) for name in before} == before
    assert Group.objects.filter(name__in=["Analysts", "Operators"]).count() == 2


@pytest.mark.django_db
def test_permissions_that_no_longer_belong_are_removed():
    run()
    operators = Group.objects.get(name="Operators")
    operators.permissions.add(Permission.objects.get(codename="delete_user"))

    total = len(every_view_permission() | OPERATOR_EDITS)
    assert f"Operators: {total} permissions (0 added, 1 removed)" in run().splitlines()
    assert "delete_user" not in codenames("Operators")
    assert codenames("Operators") == every_view_permission() | OPERATOR_EDITS


@pytest.mark.django_db
def test_group_members_get_the_admin_pages_their_role_allows(client):
    run()
    analyst = UserFactory(is_staff=True)
    analyst.groups.add(Group.objects.get(name="Analysts"))
    operator = UserFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="Operators"))

    client.force_login(analyst)
    assert client.get(reverse("admin:assets_pricedata_changelist")).status_code == 200
    assert client.get(reverse("admin:assets_asset_add")).status_code == 403

    client.force_login(operator)
    assert client.get(reverse("admin:assets_asset_add")).status_code == 200
    assert client.get(reverse("admin:ai_modeltrainingjob_add")).status_code == 200
    assert client.get(reverse("admin:users_user_add")).status_code == 403
