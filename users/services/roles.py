"""The back-office groups: Analysts read everything, Operators also edit market data and AI."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

# The project's own apps: the back office's groups get permissions on their models only.
ROLE_APPS = ("users", "assets", "ai", "macro", "sectors", "selection", "trading")
# Operators keep market data and the AI registry; everything else they only read.
OPERATOR_EDITS = (
    "assets.asset",
    "assets.pricedata",
    "assets.pricedataarchive",
    "macro.metricssnapshot",
    "sectors.sector",
    "sectors.sectorhistory",
    "sectors.sectormapping",
    "ai.aimodel",
    "ai.modeltrainingjob",
    "ai.modelpredictionjob",
    "ai.modelevaluation",
)


def roles_wanted() -> dict[str, set[tuple[str, str]]]:
    """Return each back-office group's permissions as (app_label, codename) pairs."""
    view = {
        (model._meta.app_label, f"view_{model._meta.model_name}")
        for label in ROLE_APPS
        for model in apps.get_app_config(label).get_models()
    }
    edits = {
        (label, f"{verb}_{model}")
        for label, model in (name.split(".") for name in OPERATOR_EDITS)
        for verb in ("add", "change")
    }
    return {"Analysts": view, "Operators": view | edits}


@transaction.atomic
def roles_setup() -> dict[str, dict[str, int]]:
    """Create or update the Analysts and Operators groups to hold exactly their permissions.

    Return, per group, how many permissions it holds and how many were added and removed.
    """
    # Permissions are made after migrate; make sure they exist even if it ran without signals.
    for label in ROLE_APPS:
        create_permissions(apps.get_app_config(label), verbosity=0)
    by_key = {
        (perm.content_type.app_label, perm.codename): perm
        for perm in Permission.objects.filter(content_type__app_label__in=ROLE_APPS).select_related(
            "content_type"
        )
    }
    summary = {}
    for name, wanted in roles_wanted().items():
        missing = sorted(f"{label}.{codename}" for label, codename in wanted - by_key.keys())
        if missing:
            raise ValueError(f"Unknown permissions for group {name}: {', '.join(missing)}.")
        group, _ = Group.objects.get_or_create(name=name)
        before = set(group.permissions.values_list("pk", flat=True))
        after = {by_key[key].pk for key in wanted}
        group.permissions.set(after)
        summary[name] = {
            "permissions": len(after),
            "added": len(after - before),
            "removed": len(before - after),
        }
    return summary
