"""Existing watchlist thresholds (alert_price_above / alert_price_below) become price rules.

From here on alerts.receivers keeps them in step on every save of a watchlist item
(services.watchlist_rules_sync); this brings the rows written before the alerts app existed.
"""

from django.db import migrations

KINDS = (("price_above", "alert_price_above"), ("price_below", "alert_price_below"))


def forwards(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    WatchlistAsset = apps.get_model("selection", "WatchlistAsset")
    items = WatchlistAsset.objects.select_related("watchlist", "asset").exclude(
        alert_price_above__isnull=True, alert_price_below__isnull=True
    )
    rules = []
    for item in items.iterator():
        for kind, column in KINDS:
            level = getattr(item, column)
            if level is not None:
                rules.append(
                    AlertRule(user_id=item.watchlist.user_id, kind=kind, asset_id=item.asset_id, timeframe="1d",
                              level=level, watchlist_asset=item,
                              name=f"{item.watchlist.name}: {item.asset.symbol} {kind.replace('_', ' ')} {level}")
                )
    AlertRule.objects.bulk_create(rules, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_alert_rules_channels_outbox"),
        ("selection", "0002_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
