"""One write path per signal rule: risk/reward by trading.services for the API, the admin and the model."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory

from trading.choices import SignalType
from trading.models import AITradingSignal
from trading.services import signal_risk_reward
from trading.tests.factories import AITradingSignalFactory
from users.tests.factories import AdminUserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "entry", "target", "stop", "ratio"),
    [
        (SignalType.BUY, "100", "120", "90", Decimal("2.0000")),
        (SignalType.SELL, "100", "70", "110", Decimal("3.0000")),
        (SignalType.BUY, "3", "4", "2.9", Decimal("10.0000")),
        (SignalType.HOLD, "100", "120", "90", None),  # a hold carries no trade
        (SignalType.BUY, "100", None, "90", None),
        (SignalType.BUY, "100", "120", "100", None),  # no risk: no ratio, not a division by zero
    ],
)
def test_risk_reward_of_a_signal(kind, entry, target, stop, ratio):
    prices = {k: Decimal(v) if v else None for k, v in (("entry", entry), ("target", target), ("stop", stop))}
    got = signal_risk_reward(
        signal_type=kind, entry_price=prices["entry"], target_price=prices["target"], stop_loss=prices["stop"]
    )
    assert got == ratio


def test_the_admin_recomputes_the_ratio_when_a_target_changes():
    signal = AITradingSignalFactory()  # stop 90 < entry 100 < target 120: 2.0
    signal.target_price = Decimal("240")
    request = RequestFactory().post("/admin/")
    request.user = AdminUserFactory()
    admin.site.get_model_admin(AITradingSignal).save_model(request, signal, form=None, change=True)
    signal.refresh_from_db()
    assert signal.risk_reward_ratio == Decimal("14.0000")
