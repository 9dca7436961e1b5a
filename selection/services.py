"""Writes on watchlists and portfolios with their business rules."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from cryptopredict.audit import activity_record
from cryptopredict.choices import ActivityAction
from cryptopredict.numbers import DecimalOverflow, decimal_for_field

from .models import Portfolio, WatchlistAsset
from .selectors import holdings_valued
from .signals import watchlist_item_saved

MONEY_STEP = Decimal("0.00000001")  # the 8 decimal places of the money columns


def portfolio_totals_refresh(*, portfolio: Portfolio) -> Portfolio:
    """Recompute and store the portfolio's cached total_value and total_cost_basis.

    total_value is the holdings at their latest close (at cost where no price exists); cash is
    not included (it is cash_balance).
    """
    totals = holdings_valued(portfolio.holdings.all()).aggregate(
        value=Sum("current_value"), cost=Sum("cost_basis")
    )
    portfolio.total_value = Decimal(totals["value"] or 0).quantize(MONEY_STEP)
    portfolio.total_cost_basis = Decimal(totals["cost"] or 0).quantize(MONEY_STEP)
    portfolio.save(update_fields=["total_value", "total_cost_basis", "updated_at"])
    return portfolio


def portfolio_cash_move(*, portfolio: Portfolio, amount: Decimal, actor=None) -> Portfolio:
    """Deposit (amount > 0) or withdraw (amount < 0) cash; return the portfolio with its new balance.

    The one write of cash_balance besides the trades (trading.services). Refused, naming `amount`:
    a portfolio that does not track cash, a zero or unrounded amount, a withdrawal beyond the
    balance and a balance its column cannot hold. The balance changes in one conditional UPDATE,
    so two racing withdrawals cannot both spend the same cash. `actor` (the User who asked; None
    for a command or the demo) is recorded in the audit trail with the move.
    """
    if not portfolio.track_cash:
        raise ValidationError({"amount": "This portfolio does not track cash (set track_cash first)."})
    if amount == 0 or amount != amount.quantize(MONEY_STEP):
        raise ValidationError({"amount": f"Must be a non-zero amount with at most 8 decimals, not {amount}."})
    try:
        decimal_for_field(portfolio.cash_balance + amount, Portfolio._meta.get_field("cash_balance"))
    except DecimalOverflow as exc:
        raise ValidationError({"amount": f"The balance would not fit: {exc}."}) from None
    with transaction.atomic():
        moved = Portfolio.objects.filter(pk=portfolio.pk, cash_balance__gte=-amount).update(
            cash_balance=F("cash_balance") + amount, updated_at=timezone.now()
        )
        if not moved:
            portfolio.refresh_from_db(fields=["cash_balance"])
            raise ValidationError(
                {"amount": f"Cannot withdraw {-amount}: the balance is {portfolio.cash_balance}."}
            )
        portfolio.refresh_from_db(fields=["cash_balance", "updated_at"])
        activity_record(
            actor=actor,
            action=ActivityAction.UPDATE,
            entity=portfolio,
            details={"changed_fields": ["cash_balance"], "amount": str(amount)},
        )
    return portfolio


def watchlist_item_save(*, item: WatchlistAsset, actor=None, changed_fields=None) -> WatchlistAsset:
    """Save a new or changed watchlist item and announce it (selection.signals.watchlist_item_saved)
    in one transaction: the alerts app mirrors its alert_price_above / below as price rules, which
    commit with the item or not at all. The one write of a watchlist item's thresholds; `actor`
    (None: a command or the demo) is recorded with `changed_fields` in the audit trail."""
    action = ActivityAction.CREATE if item._state.adding else ActivityAction.UPDATE
    with transaction.atomic():
        item.save()
        watchlist_item_saved.send(sender=WatchlistAsset, item=item)
        details = {"changed_fields": list(changed_fields or ())}
        activity_record(actor=actor, action=action, entity=item, details=details)
    return item
