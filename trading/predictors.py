"""Layer 4: trading signals from the market regime, the asset's momentum and its sector, with range levels.

score = 0.4 x regime + 0.4 x momentum + 0.2 x sector, each in [-1, 1] (weights renormalized when
one is missing): regime = P(Bull) + P(Accumulation)/2 - P(Bear) - P(Distribution)/2 from the
latest regime analysis at or before the candle; momentum blends the close against SMA-50, RSI-14
and the MACD histogram in ranges; sector is the asset's primary sector's momentum score. A score
>= 0.25 is a buy, <= -0.25 a sell, otherwise hold; strength = |score|. A buy enters at the
close with stop = entry - 2 ranges and target = entry + 3 ranges (a sell mirrors it), so
risk/reward is 1.5; a signal is generated at the candle's close and expires after the horizon.
The range is TA-Lib's ATR-14 on real OHLC candles and, on price points (a close only, no traded
range: no ATR), close_move_14, the mean absolute close change; each signal's reasoning says which.
The backtest holds a long from the next open until a sell (filled at the next open) or its
trailing stop, checked against each bar's low (see `signal_positions`); the regime part of its
history is the regime model's walk-forward.
"""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import talib
from django.core.exceptions import ValidationError
from django.db.models import Q

from ai.choices import ModelType
from ai.registry import architecture_get, register
from ai.services import model_active
from assets.indicators import indicator_frame
from assets.models import Asset
from assets.selectors import candle_frames
from cryptopredict.choices import TIMEFRAME_DELTAS
from cryptopredict.numbers import decimal_fit, jsonable
from macro.models import AIRegimeAnalysis
from sectors.models import AISectorAnalysis, SectorMapping

from .choices import SignalStatus, SignalType
from .models import AITradingSignal
from .services import signal_risk_reward, signals_expire
from .signals import signals_created

DEFAULT_CONFIGURATION = {
    "weights": {"regime": 0.4, "momentum": 0.4, "sector": 0.2},
    "threshold": 0.25,
    "stop_atr": 2.0,
    "target_atr": 3.0,
    "horizon_periods": 3,
    "exit_at_target": False,  # backtest positions run past the target, on a trailing stop
    "lookback": 90,
    "fee_bp": 10,
    "slippage_bp": 5,
    "thresholds": {"min_sharpe_edge": 0.0, "max_drawdown": 0.8},
}


def regime_score(probabilities: dict) -> float:
    """Return the bullishness of regime probabilities in [-1, 1]."""
    p = probabilities.get
    return float(
        np.clip(p("Bull", 0) + 0.5 * p("Accumulation", 0) - p("Bear", 0) - 0.5 * p("Distribution", 0), -1, 1)
    )


def momentum_frame(close, high, low, price_point=None) -> pd.DataFrame:
    """Return momentum in [-1, 1], ATR-14 and the range the levels are set from, per candle.

    ATR-14 is TA-Lib's over real OHLC only (`price_point` marks the candles without a traded
    range; None: none); on a price point, whose high and low are its close, there is no ATR and
    the range is `close_move_14` instead: Wilder's 14-bar mean of the absolute close-to-close
    change (TA-Lib's ATR of the closes alone), which is not a True Range and is never called one.
    """
    close = pd.Series(close, dtype=float)
    points = (
        pd.Series(False, index=close.index)
        if price_point is None
        else pd.Series(price_point, index=close.index).fillna(0).astype(bool)
    )
    closes = close.to_numpy()
    indicators = indicator_frame(
        closes,
        np.asarray(high, dtype=float),
        np.asarray(low, dtype=float),
        real_ohlc=~points.to_numpy(),
    )
    atr = pd.Series(indicators["atr_14"], index=close.index)
    close_move = pd.Series(talib.ATR(closes, closes, closes, timeperiod=14), index=close.index)
    scale = atr.where(~points, close_move)  # NaN on real candles while ATR warms up
    parts = pd.DataFrame(
        {
            "trend": np.tanh(10 * (close / indicators["sma_50"] - 1)),
            # The long trend counts too (where 200 candles exist): crypto momentum is persistent.
            "long_trend": np.tanh(5 * (close / indicators["sma_200"] - 1)),
            "rsi": ((indicators["rsi_14"] - 50) / 25).clip(-1, 1),
            "macd": np.tanh(indicators["macd_hist"] / scale.replace(0, np.nan)),
        },
        index=close.index,
    )
    weights = pd.Series({"trend": 0.3, "long_trend": 0.2, "rsi": 0.25, "macd": 0.25})
    present = parts.notna().mul(weights, axis=1)
    momentum = (parts.fillna(0).mul(weights, axis=1).sum(axis=1) / present.sum(axis=1)).clip(-1, 1)
    momentum = momentum.where(parts[["trend", "rsi", "macd"]].notna().all(axis=1))
    return pd.DataFrame(
        {
            "close": close,
            "momentum": momentum,
            "atr": atr.where(~points),
            "close_move": close_move.where(points),
            "scale": scale,
            "price_point": points,
        }
    )


def signal_frame(
    momentum: pd.DataFrame, regime: pd.Series, sector: pd.Series, configuration: dict
) -> pd.DataFrame:
    """Return score, signal type, strength and entry / stop / target for each candle (pure).

    The levels are `stop_atr` and `target_atr` times the candle's range: its ATR-14 on real
    OHLC, its close_move_14 on a price point (see momentum_frame).
    """
    weights = configuration["weights"]
    parts = pd.DataFrame(
        {"regime": regime, "momentum": momentum["momentum"], "sector": sector}, index=momentum.index
    )
    present = parts.notna()
    weight = present.mul(pd.Series(weights)[parts.columns], axis=1)
    score = (parts.fillna(0) * weight).sum(axis=1) / weight.sum(axis=1).replace(0, np.nan)
    threshold = configuration["threshold"]
    kind = np.where(
        score >= threshold, SignalType.BUY, np.where(score <= -threshold, SignalType.SELL, SignalType.HOLD)
    )
    usable = score.notna() & momentum["scale"].gt(0) & momentum["close"].gt(0)
    kind = np.where(usable, kind, SignalType.HOLD)
    direction = np.where(kind == SignalType.BUY, 1.0, np.where(kind == SignalType.SELL, -1.0, 0.0))
    entry, scale = momentum["close"], momentum["scale"]
    stop = entry - direction * configuration["stop_atr"] * scale
    target = entry + direction * configuration["target_atr"] * scale
    # A sell's target can not fall to zero or below: floor it at 1% of the entry.
    target = target.where(target > 0, entry * 0.01)
    return pd.DataFrame(
        {
            "score": score,
            "type": kind,
            "strength": score.abs().clip(0, 1).fillna(0),
            "entry": entry,
            "atr": momentum["atr"],
            "close_move": momentum["close_move"],
            "scale": scale,
            "price_point": momentum["price_point"],
            "stop": stop.where(direction != 0),
            "target": target.where(direction != 0),
            **{f"{name}_score": parts[name] for name in parts},
        },
        index=momentum.index,
    )


def signal_positions(
    signals: pd.DataFrame, bars: pd.DataFrame, *, exit_at_target: bool = False
) -> pd.DataFrame:
    """Return the long-only position wanted after each close (1 long, 0 flat) and the intrabar exits.

    Flat -> long on a buy, filled at the next open; long -> flat on a sell, filled at the next
    open, or within a bar by the resting stop, which trails the highest close since entry by
    the entry's stop distance (a chandelier stop); with `exit_at_target` the signal's own levels
    hold instead: a fixed stop and the target. A bar reaches the stop when its low is at or
    below it (the target: its high at or above it) and the order fills at the level, or at the
    bar's open when the bar opens beyond it (a gap). When one bar reaches both, the stop is
    taken as first: a bar does not tell which came first, and the stop is the cautious guess.
    `bars` holds each candle's open, high and low (a price point's are its close, so there the
    check is on the close). Levels come from data up to the close before the bar they are
    checked in; `exit_price` is the fill of an intrabar exit (NaN where none).
    """
    position, stop, target, distance, peak = 0, None, None, None, None
    held, exits = np.zeros(len(signals)), np.full(len(signals), np.nan)
    columns = (signals["type"], signals["entry"], signals["stop"], signals["target"])
    prices = (bars["open"], bars["high"], bars["low"])
    for i, (kind, close, new_stop, new_target, open_, high, low) in enumerate(
        zip(*columns, *prices, strict=True)
    ):
        if position:
            if open_ <= stop or low <= stop:
                exits[i] = min(open_, stop)
            elif exit_at_target and (open_ >= target or high >= target):
                exits[i] = max(open_, target)
            if np.isfinite(exits[i]):
                position = 0
        if position and not exit_at_target:
            peak = max(peak, close)
            stop = max(stop, peak - distance)
        if position and kind == SignalType.SELL:
            position = 0
        elif not position and kind == SignalType.BUY:
            position, stop, target, peak = 1, new_stop, new_target, close
            distance = close - new_stop
        held[i] = position
    return pd.DataFrame({"position": held, "exit_price": exits}, index=signals.index)


def _asof(series_times, values, index) -> pd.Series:
    """Return, at each time of `index`, the last value known at or before it (NaN before the first)."""
    known = pd.Series(values, index=pd.DatetimeIndex(series_times)).sort_index()
    known = known[~known.index.duplicated(keep="last")]
    return known.reindex(known.index.union(index)).ffill().reindex(index)


def _price(value):
    """Return a price as a Decimal with 10 significant digits (prices span 1e-10 to 1e6)."""
    return None if value is None or not np.isfinite(value) else Decimal(f"{float(value):.10g}")


def candle_bars(frames: dict, asset_id, index) -> pd.DataFrame:
    """Return one asset's open, high, low and price-point flag on `index` (its closes' times).

    A missing open is the previous close (as ai.evaluation fills it); a missing high or low is
    the bar's open and close's extreme.
    """
    close = frames["close"][asset_id][index]
    open_ = frames["open"][asset_id][index].fillna(close.shift(1)).fillna(close)
    return pd.DataFrame(
        {
            "open": open_,
            "high": frames["high"][asset_id][index].fillna(np.maximum(open_, close)),
            "low": frames["low"][asset_id][index].fillna(np.minimum(open_, close)),
            "price_point": frames["price_point"][asset_id][index].fillna(0).astype(bool),
        }
    )


def price_point_spans(price_point: pd.Series) -> dict:
    """Return how many bars are price points and each run of them as [first, last] (ISO times)."""
    flags = price_point.astype(bool)
    run = (flags != flags.shift()).cumsum()[flags]
    runs = [[times[0].isoformat(), times[-1].isoformat()] for _, times in run.index.groupby(run).items()]
    return {"bars": int(flags.sum()), "runs": sorted(runs)}


@register("signal_confluence")
class SignalConfluence:
    """Trading signals where regime, momentum and sector agree (rules, no training)."""

    model_type = ModelType.TIMING
    trainable = False
    framework = "pandas"
    target_variable = "trade_signal"
    features = ["regime_score", "momentum", "sector_momentum", "atr_14", "close_move_14"]
    default_configuration = DEFAULT_CONFIGURATION
    lookahead_parameters = {"lookback": 100_000}  # check_lookahead signals every candle

    def parameters_validate(self, *, parameters: dict, asset=None, sector=None) -> None:
        """Raise ValidationError for a lookback that is not a positive integer."""
        lookback = parameters.get("lookback", 1)
        if not isinstance(lookback, int) or lookback < 1:
            raise ValidationError({"parameters": "lookback must be a positive integer"})

    def evaluate(self, *, model, timeframe: str, parameters: dict) -> dict:
        """Return the signals' long-only decisions on one asset (BTC unless `asset` names a symbol).

        The regime comes from `regime_architecture`'s walk-forward history (each value from a
        model that saw only earlier data); the sector part is left out, as no sector history is
        replayed. The rules fit nothing, so the walk-forward is a single causal pass; decisions
        are filled at the next bar's open by ai.evaluation.
        """
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        symbol = parameters.get("asset", "BTC")
        asset = Asset.objects.filter(symbol=symbol).first()
        if asset is None:
            raise ValidationError({"asset": f"unknown asset {symbol!r}"})
        frames = candle_frames(
            timeframe=timeframe,
            asset_ids=[asset.pk],
            fields=("open", "close", "high", "low", "price_point"),
        )
        if frames["close"].empty:
            raise ValidationError(f"no {timeframe} candles of {symbol} to backtest on")
        close = frames["close"][asset.pk].dropna()
        bars = candle_bars(frames, asset.pk, close.index)
        momentum = momentum_frame(close, bars["high"], bars["low"], bars["price_point"])
        regime_model = architecture_get(configuration.get("regime_architecture", "regime_rules"))
        probabilities = regime_model.history(timeframe=timeframe, configuration=configuration)
        regime = _asof(
            probabilities.index, [regime_score(row) for row in probabilities.to_dict("records")], close.index
        )
        signals = signal_frame(momentum, regime, pd.Series(np.nan, index=close.index), configuration)
        ready = signals["score"].notna() & signals["scale"].notna() & momentum["momentum"].notna()
        if ready.sum() < 30:
            raise ValidationError(f"too few {timeframe} candles of {symbol} for a backtest")
        start = ready.idxmax()
        signals, period, bars = signals[start:], close[start:], bars[start:]
        positions = signal_positions(signals, bars, exit_at_target=configuration["exit_at_target"])
        decisions = positions["position"].map({1.0: symbol, 0.0: None})
        points = price_point_spans(bars["price_point"])
        return {
            "kind": "trading",
            "opens": bars["open"].to_frame(symbol),
            "closes": period.to_frame(symbol),
            "decisions": decisions,
            "exits": positions["exit_price"].to_frame(symbol),
            "execution": {
                "intrabar_exits": "a stop fills when the bar's low reaches it, at the stop or at the "
                "open if the bar opens below it; the stop first when one bar reaches stop and target",
                "levels": "stop and target in ATR-14 on real OHLC; in close_move_14 (mean absolute "
                "close change, no ATR) on price points, where the low and the open are the close",
            },
            "benchmark": symbol,
            "benchmark_history": close,
            "period_start": period.index[0],
            "period_end": period.index[-1],
            "extra": {
                "asset": symbol,
                "signal_counts": signals["type"].value_counts().to_dict(),
                "stop_exits": int(positions["exit_price"].notna().sum()),
                "price_points": points,
            },
            "notes": f"long-only backtest of {symbol}, filled at the next bar's open, stops within the "
            f"bar; regime from {regime_model.architecture_name}'s walk-forward history, no sector "
            "component"
            + (
                f"; price points (no OHLC range, no ATR) in {points['bars']} of {len(bars)} bars"
                if points["bars"]
                else ""
            ),
        }

    def predict(self, *, model, job, scope) -> int:
        """Write a signal per asset in scope for each of its last `lookback` candles not signalled yet."""
        signals_expire()
        configuration = {**DEFAULT_CONFIGURATION, **(model.configuration or {})}
        lookback = int(scope.parameters.get("lookback", configuration["lookback"]))
        asset_ids = [scope.asset.pk] if scope.asset is not None else None
        frames = candle_frames(
            timeframe=scope.timeframe,
            asset_ids=asset_ids,
            fields=("open", "close", "high", "low", "price_point"),
        )
        if frames["close"].empty:
            raise ValidationError(f"no {scope.timeframe} candles to signal on: import candles first")
        step = TIMEFRAME_DELTAS.get(scope.timeframe, timedelta(days=1))
        regime = self._regime_series(scope)
        sectors = self._sector_series(list(frames["close"].columns))
        existing = set(
            AITradingSignal.objects.filter(ai_model=model, timeframe=scope.timeframe).values_list(
                "asset_id", "generated_at"
            )
        )
        scope.checkpoint(30)
        rows = []
        for asset_id in frames["close"].columns:
            close = frames["close"][asset_id].dropna()
            bars = candle_bars(frames, asset_id, close.index)
            momentum = momentum_frame(close, bars["high"], bars["low"], bars["price_point"])
            regime_values = _asof(regime["time"], regime["score"], close.index) if len(regime) else None
            regime_ids = _asof(regime["time"], regime["id"], close.index) if len(regime) else None
            sector = sectors.get(asset_id)
            sector_values = (
                _asof(sector["time"], sector["score"], close.index) if sector is not None else None
            )
            sector_ids = _asof(sector["time"], sector["id"], close.index) if sector is not None else None
            signals = signal_frame(
                momentum,
                regime_values if regime_values is not None else pd.Series(np.nan, index=close.index),
                sector_values if sector_values is not None else pd.Series(np.nan, index=close.index),
                configuration,
            ).tail(lookback)
            # Plain dicts: a pandas row and a Series.get per signal cost most of a run.
            regime_ids = regime_ids.to_dict() if regime_ids is not None else None
            sector_ids = sector_ids.to_dict() if sector_ids is not None else None
            for time, row in zip(signals.index, signals.to_dict("records"), strict=True):
                generated = time + step
                if (asset_id, generated) in existing or not np.isfinite(row["score"]):
                    continue
                rows.append(
                    self._row(
                        model,
                        job,
                        scope,
                        asset_id,
                        generated,
                        step,
                        row,
                        configuration,
                        regime_ids,
                        sector_ids,
                        time,
                    )
                )
        scope.checkpoint(70)
        AITradingSignal.objects.bulk_create(rows, batch_size=500)
        signals_expire()
        # In the job's transaction: listeners (alerts) write with the signals.
        signals_created.send(sender=AITradingSignal, signals=rows)
        scope.output["signals"] = len(rows)
        return len(rows)

    def _row(
        self, model, job, scope, asset_id, generated, step, row, configuration, regime_ids, sector_ids, time
    ):
        kind = row["type"]
        horizon = configuration["horizon_periods"] * step
        entry, stop, target = _price(row["entry"]), _price(row["stop"]), _price(row["target"])
        ordered = (kind == SignalType.BUY and stop < entry < target) or (
            kind == SignalType.SELL and target < entry < stop
        )
        if kind != SignalType.HOLD and not ordered:
            kind = SignalType.HOLD  # levels that rounding made equal cannot carry a trade
        present = [
            row[f"{n}_score"] for n in ("regime", "momentum", "sector") if np.isfinite(row[f"{n}_score"])
        ]
        agreement = (
            sum(1 for v in present if np.sign(v) == np.sign(row["score"])) / len(present) if present else 0
        )
        regime_id = regime_ids.get(time) if regime_ids is not None else None
        sector_id = sector_ids.get(time) if sector_ids is not None else None
        return AITradingSignal(
            asset_id=asset_id,
            ai_model=model,
            prediction_job=job,
            regime_analysis_id=int(regime_id) if regime_id is not None and np.isfinite(regime_id) else None,
            sector_analysis_id=int(sector_id) if sector_id is not None and np.isfinite(sector_id) else None,
            signal_type=kind,
            timeframe=scope.timeframe,
            strength=decimal_fit(row["strength"], 4),
            entry_price=entry,
            target_price=target if kind != SignalType.HOLD else None,
            stop_loss=stop if kind != SignalType.HOLD else None,
            risk_reward_ratio=signal_risk_reward(
                signal_type=kind, entry_price=entry, target_price=target, stop_loss=stop
            ),
            time_horizon_hours=int(horizon.total_seconds() // 3600) or 1,
            status=SignalStatus.ACTIVE,
            generated_at=generated,
            expires_at=generated + horizon,
            ai_confidence_score=decimal_fit(min(1.0, float(row["strength"])), 2),
            signal_agreement_score=decimal_fit(agreement, 2),
            reasoning=jsonable(
                {
                    "score": round(float(row["score"]), 4),
                    "components": {n: row[f"{n}_score"] for n in ("regime", "momentum", "sector")},
                    # A price point has no traded range: no ATR, levels from close_move_14.
                    "price_point": bool(row["price_point"]),
                    **(
                        {"close_move_14": row["close_move"]} if row["price_point"] else {"atr_14": row["atr"]}
                    ),
                    "levels": f"{configuration['stop_atr']} / {configuration['target_atr']} x "
                    + ("close_move_14" if row["price_point"] else "atr_14"),
                    "rule": f"buy >= {configuration['threshold']}, sell <= -{configuration['threshold']}",
                }
            ),
        )

    @staticmethod
    def _regime_series(scope) -> dict:
        """Return the out-of-sample regime scores of the active macro model (else the latest-written one)."""
        model = model_active(model_type=ModelType.MACRO)
        # In-sample rows say what a model learnt about its training period, not what it knew then.
        rows = AIRegimeAnalysis.objects.filter(in_sample=False)
        if model is not None and rows.filter(ai_model=model).exists():
            rows = rows.filter(ai_model=model)
        else:
            latest = rows.order_by("-created_at").values_list("ai_model_id", flat=True).first()
            rows = rows.filter(ai_model_id=latest)
        values = list(
            rows.filter(metrics_snapshot__timeframe=scope.timeframe)
            .order_by("analysis_time")
            .values_list("id", "analysis_time", "regime_probabilities")
        )
        return (
            {
                "id": [v[0] for v in values],
                "time": [v[1] for v in values],
                "score": [regime_score(v[2]) for v in values],
            }
            if values
            else {}
        )

    @staticmethod
    def _sector_series(asset_ids: list[int]) -> dict[int, dict]:
        """Return, per asset, the momentum scores of its primary sector's latest-model analyses, by time."""
        primary = dict(
            SectorMapping.objects.filter(Q(is_primary=True), asset_id__in=asset_ids).values_list(
                "asset_id", "sector_id"
            )
        )
        if not primary:
            return {}
        model = model_active(model_type=ModelType.SECTOR)
        rows = AISectorAnalysis.objects.filter(sector_id__in=set(primary.values()), in_sample=False)
        if model is not None and rows.filter(ai_model=model).exists():
            rows = rows.filter(ai_model=model)
        else:
            latest = rows.order_by("-created_at").values_list("ai_model_id", flat=True).first()
            rows = rows.filter(ai_model_id=latest)
        by_sector: dict[int, dict] = {}
        for pk, sector_id, time, score in rows.order_by("analysis_time").values_list(
            "id", "sector_id", "analysis_time", "momentum_score"
        ):
            if score is None:
                continue
            entry = by_sector.setdefault(sector_id, {"id": [], "time": [], "score": []})
            entry["id"].append(pk)
            entry["time"].append(time)
            entry["score"].append(float(score))
        return {asset: by_sector[sector] for asset, sector in primary.items() if sector in by_sector}
