"""Trades and their accounting on holdings and cash.

Fee convention: fees are in the portfolio's base currency. A buy costs quantity * price + fee: the
fee is part of the cost basis (so average_buy_price = cost_basis / quantity includes it) and, when
the portfolio tracks cash, all of it comes out of cash. A sell brings quantity * price - fee: the
fee lowers the proceeds, hence the realized PnL and the cash received. A sell takes out the cost of
the units sold at the average cost (cost_basis * sold / held; all of it when the position closes),
so selling leaves average_buy_price unchanged.

Recording and executing a trade take `actor=` (the User who asked; None for a command or the
demo) and add one row to the audit trail in their transaction: a trade recorded and executed at
once is one "create".
"""

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assets.models import Asset
from cryptopredict.audit import activity_record
from cryptopredict.choices import ActivityAction
from cryptopredict.numbers import DecimalOverflow, decimal_for_field
from selection.models import Portfolio, PortfolioAsset
from selection.services import MONEY_STEP, portfolio_totals_refresh
from users.models import User

from .choices import ActionType, SignalStatus, SignalType, TradeStatus
from .models import AITradingSignal, TradeAction

PRICE_STEP = Decimal("1e-18")  # the 18 decimal places of the price columns
# Enough digits for products and quotients of 38-digit columns (the default context has 28).
PRECISION = 80


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_STEP, rounding=ROUND_HALF_EVEN)


def _check_fits(obj, field_name: str, *, blame: str) -> None:
    """Refuse, naming the input field `blame`, a result too large for its decimal column."""
    field = obj._meta.get_field(field_name)
    try:
        decimal_for_field(getattr(obj, field_name), field)
    except DecimalOverflow as exc:
        noun = f"{obj._meta.verbose_name} {field_name}"
        raise ValidationError({blame: f"The trade would make the {noun} too large: {exc}."}) from None


def trade_action_create(
    *,
    portfolio: Portfolio,
    asset: Asset,
    user: User,
    action_type: str,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal = Decimal(0),
    fee_currency: str | None = None,
    executed_at: datetime | None = None,
    execute: bool = True,
    signal: AITradingSignal | None = None,
    exchange: str | None = None,
    external_order_id: str | None = None,
    notes: str = "",
    actor: User | None = None,
) -> TradeAction:
    """Record a trade and, unless execute is False, execute it at once; all or nothing."""
    quantity, price, fee = Decimal(quantity), Decimal(price), Decimal(fee)
    with localcontext(prec=PRECISION):
        total_value = _money(quantity * price)
    errors = {}
    if portfolio.deleted_at is not None:
        errors["portfolio"] = "The portfolio is deleted: no trade can be recorded in it."
    if action_type not in ActionType.values:
        errors["action_type"] = f"Must be one of {', '.join(ActionType.values)}."
    if quantity <= 0:
        errors["quantity"] = "Must be greater than 0."
    if price <= 0:
        errors["price"] = "Must be greater than 0."
    if fee < 0:
        errors["fee"] = "Must be 0 or more."
    if fee_currency not in (None, portfolio.base_currency):
        errors["fee_currency"] = (
            f"Fees are accounted in the portfolio's base currency, {portfolio.base_currency}."
        )
    if executed_at is not None and executed_at > timezone.now():
        errors["executed_at"] = "Cannot be in the future."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        trade = TradeAction(
            portfolio=portfolio,
            asset=asset,
            user=user,
            signal=signal,
            action_type=action_type,
            status=TradeStatus.PENDING,
            quantity=quantity,
            price=price,
            fee=fee,
            fee_currency=portfolio.base_currency,
            total_value=total_value,
            executed_at=executed_at,
            exchange=exchange,
            external_order_id=external_order_id,
            notes=notes,
        )
        _check_fits(trade, "total_value", blame="quantity")
        trade.save()
        if execute:
            trade = _trade_execute(trade)
        changed = ["portfolio", "asset", "action_type", "quantity", "price", "fee", "executed_at", "status"]
        activity_record(
            actor=actor, action=ActivityAction.CREATE, entity=trade, details={"changed_fields": changed}
        )
    return trade


def trade_action_execute(*, trade: TradeAction, actor: User | None = None) -> TradeAction:
    """Execute a pending trade: update the holding, the cash and the portfolio's totals together.

    Trades apply in executed_at order (then by id). A trade at or after the portfolio's latest
    executed one is applied to the stored holding and cash; a backdated one replays the
    portfolio's history with it in its place (see _history_replay). Refuse (ValidationError,
    nothing changed) a sell of more than is held or a buy costing more than the cash of a
    portfolio that tracks cash, at the trade's time ("quantity") or, for a backdated trade,
    anywhere in the history it rewrites ("executed_at"); a trade in a deleted portfolio, and a
    trade that is not pending.
    """
    with transaction.atomic():
        trade = _trade_execute(trade)
        changed = ["executed_at", "status"]
        activity_record(
            actor=actor, action=ActivityAction.UPDATE, entity=trade, details={"changed_fields": changed}
        )
    return trade


def _trade_execute(trade: TradeAction) -> TradeAction:
    """Execute a pending trade (trade_action_execute without its audit record)."""
    with transaction.atomic(), localcontext(prec=PRECISION):
        # Locking the portfolio first serializes every trade of that portfolio.
        portfolio = Portfolio.objects.select_for_update().get(pk=trade.portfolio_id)
        trade = TradeAction.objects.select_for_update().select_related("asset").get(pk=trade.pk)
        if trade.status != TradeStatus.PENDING:
            raise ValidationError(
                {"status": f"Only a pending trade can be executed; this one is {trade.status}."}
            )
        if portfolio.deleted_at is not None:
            raise ValidationError({"portfolio": "The portfolio is deleted: no trade can be executed in it."})
        trade.executed_at = trade.executed_at or timezone.now()
        holding = (
            PortfolioAsset.objects.select_for_update().filter(portfolio=portfolio, asset=trade.asset).first()
        )
        if _executed_after(trade).exists():
            holding = _history_replay(portfolio=portfolio, holding=holding, trade=trade)
        else:
            holding = holding or PortfolioAsset(portfolio=portfolio, asset=trade.asset)
            _trade_apply(portfolio=portfolio, holding=holding, trade=trade)
        for field_name in ("quantity", "cost_basis", "realized_pnl", "average_buy_price"):
            _check_fits(holding, field_name, blame="quantity")
        _check_fits(portfolio, "cash_balance", blame="price")
        holding.save()
        portfolio.save(update_fields=["cash_balance", "updated_at"])
        trade.status = TradeStatus.EXECUTED
        trade.save(update_fields=["status", "executed_at", "updated_at"])
        portfolio_totals_refresh(portfolio=portfolio)
    return trade


def _executed_after(trade: TradeAction):
    """Return the portfolio's executed trades that come after `trade` in (executed_at, id) order."""
    later = Q(executed_at__gt=trade.executed_at) | Q(executed_at=trade.executed_at, pk__gt=trade.pk)
    return TradeAction.objects.filter(later, portfolio_id=trade.portfolio_id, status=TradeStatus.EXECUTED)


def _cash_effect(trade: TradeAction) -> Decimal:
    """Return what a trade does to the cash: minus its cost for a buy, plus its proceeds for a sell."""
    if trade.action_type == ActionType.BUY:
        return -(trade.total_value + trade.fee)
    return trade.total_value - trade.fee


def _history_replay(*, portfolio: Portfolio, holding: PortfolioAsset | None, trade: TradeAction):
    """Apply the portfolio's executed trades and `trade` from scratch in (executed_at, id) order.

    Return the trade's holding as the replay leaves it, with portfolio.cash_balance set to the
    cash after the last trade. Cash moves only through trades, so the cash before the first one
    is today's balance less the effect of every executed trade (a deposit counts as made before
    the first trade). Raise a ValidationError naming executed_at when, at some trade's time, a
    sell exceeds what was held or a buy the cash there was.
    """
    history = TradeAction.objects.filter(portfolio=portfolio, status=TradeStatus.EXECUTED)
    if not portfolio.track_cash:
        history = history.filter(asset=trade.asset)  # then only the trade's position can change
    trades = sorted([*history.select_related("asset"), trade], key=lambda t: (t.executed_at, t.pk))
    if portfolio.track_cash:
        portfolio.cash_balance -= sum((_cash_effect(t) for t in trades if t.pk != trade.pk), Decimal(0))
    positions = {}
    for step in trades:
        position = positions.setdefault(step.asset_id, PortfolioAsset(portfolio=portfolio, asset=step.asset))
        try:
            _trade_apply(portfolio=portfolio, holding=position, trade=step)
        except ValidationError as error:
            reason = " ".join(message for messages in error.message_dict.values() for message in messages)
            when = f"{trade.executed_at:%Y-%m-%d %H:%M} UTC"
            if step.pk != trade.pk:
                reason = (
                    f"then the {step.action_type} of {step.executed_at:%Y-%m-%d %H:%M} UTC fails: {reason}"
                )
            raise ValidationError({"executed_at": f"At {when}, {reason[0].lower()}{reason[1:]}"}) from None
    replayed = positions[trade.asset_id]
    holding = holding or PortfolioAsset(portfolio=portfolio, asset=trade.asset)
    for field_name in HOLDING_FIGURES:
        setattr(holding, field_name, getattr(replayed, field_name))
    return holding


# The figures of a holding that its trades determine.
HOLDING_FIGURES = (
    "quantity",
    "cost_basis",
    "average_buy_price",
    "realized_pnl",
    "first_purchase_at",
    "last_transaction_at",
)


def _trade_apply(*, portfolio: Portfolio, holding: PortfolioAsset, trade: TradeAction) -> None:
    """Apply one trade to a holding and to the portfolio's cash (in memory), or refuse it."""
    if trade.action_type == ActionType.BUY:
        _buy_apply(portfolio=portfolio, holding=holding, trade=trade)
        if holding.first_purchase_at is None or trade.executed_at < holding.first_purchase_at:
            holding.first_purchase_at = trade.executed_at
    else:
        _sell_apply(portfolio=portfolio, holding=holding, trade=trade)
    if holding.last_transaction_at is None or trade.executed_at > holding.last_transaction_at:
        holding.last_transaction_at = trade.executed_at


def _buy_apply(*, portfolio: Portfolio, holding: PortfolioAsset, trade: TradeAction) -> None:
    cost = trade.total_value + trade.fee
    if portfolio.track_cash and cost > portfolio.cash_balance:
        raise ValidationError(
            {
                "quantity": f"The buy costs {cost} {portfolio.base_currency} with fees, more than the cash "
                f"balance of {portfolio.cash_balance}."
            }
        )
    holding.quantity += trade.quantity
    holding.cost_basis = _money(holding.cost_basis + cost)
    holding.average_buy_price = (holding.cost_basis / holding.quantity).quantize(PRICE_STEP)
    if portfolio.track_cash:
        portfolio.cash_balance -= cost


def _sell_apply(*, portfolio: Portfolio, holding: PortfolioAsset, trade: TradeAction) -> None:
    held = holding.quantity
    if trade.quantity > held:
        raise ValidationError(
            {"quantity": f"Cannot sell {trade.quantity} {trade.asset.symbol}: the portfolio holds {held}."}
        )
    proceeds = trade.total_value - trade.fee
    if proceeds < 0:
        raise ValidationError(
            {"fee": f"The fee {trade.fee} is larger than the sale's value {trade.total_value}."}
        )
    if trade.quantity == held:
        cost_sold = holding.cost_basis
    else:
        cost_sold = _money(holding.cost_basis * trade.quantity / held)
    holding.realized_pnl = _money(holding.realized_pnl + proceeds - cost_sold)
    holding.quantity -= trade.quantity
    holding.cost_basis -= cost_sold
    if holding.quantity == 0:
        holding.average_buy_price = Decimal(0)
    if portfolio.track_cash:
        portfolio.cash_balance += proceeds


def signal_risk_reward(
    *, signal_type: str, entry_price: Decimal | None, target_price: Decimal | None, stop_loss: Decimal | None
) -> Decimal | None:
    """Return reward / risk of a buy or sell signal (4 decimals), or None for a hold or missing prices.

    The one computation of AITradingSignal.risk_reward_ratio: the API, the admin and the signal
    model all store what this returns.
    """
    if signal_type == SignalType.HOLD or None in (entry_price, target_price, stop_loss):
        return None
    if entry_price == stop_loss:
        return None
    ratio = abs(target_price - entry_price) / abs(entry_price - stop_loss)
    return ratio.quantize(Decimal("0.0001"))


def signals_expire(*, now: datetime | None = None) -> int:
    """Mark the active signals whose expiry has passed as expired; return how many."""
    now = now or timezone.now()
    return AITradingSignal.objects.filter(status=SignalStatus.ACTIVE, expires_at__lte=now).update(
        status=SignalStatus.EXPIRED, updated_at=now
    )
