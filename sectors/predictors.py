"""Layer 2: sector rotation from sector indices (sectors.services), writing the sector analyses.

Relative strength follows the relative rotation graph idea: RS = sector index / market index,
RS-ratio = 100 x RS / its 30-period mean, RS-momentum = 100 x RS-ratio / its 10-period mean; the
quadrant is leading (ratio > 100, momentum > 100), weakening (> 100, < 100), lagging (< 100,
< 100) or improving (< 100, > 100). Breadth is the altcoin-season figure: the share of non-BTC
assets that beat BTC over 90 periods. Flows come from the change of each sector's share of the
market cap over 7 periods: what losing sectors gave up is split among gaining sectors in
proportion to their gains. Every figure at t uses candles up to t.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from ai.choices import ModelType
from ai.registry import register
from assets.models import Asset
from cryptopredict.numbers import decimal_fit
from macro.models import MetricsSnapshot

from .choices import Outlook, RotationPhase, RotationSignal
from .models import AICrossSectorAnalysis, AISectorAnalysis, SectorRotationFlow
from .services import market_frames, sector_indices, sector_weights

RS_WINDOW, MOMENTUM_WINDOW, RETURN_WINDOW, FLOW_WINDOW, BREADTH_WINDOW = 30, 10, 30, 7, 90
DEFAULT_LOOKBACK = 365  # snapshots analysed when the job names no start
MIN_FLOW_SHARE = 0.0005  # a flow below 0.05 percentage point of market share is noise
# What a rerun over the same snapshots rewrites (the rows are unique per snapshot and model).
SECTOR_UPDATE_FIELDS = [
    "prediction_job",
    "analysis_time",
    "timeframe",
    "momentum_score",
    "relative_strength",
    "performance_rank",
    "outlook",
    "rotation_signal",
    "key_assets",
    "summary",
    "ai_confidence_score",
    "signal_agreement_score",
    "analysis_data",
]
CROSS_UPDATE_FIELDS = [
    "prediction_job",
    "analysis_time",
    "rotation_phase",
    "leading_sectors",
    "lagging_sectors",
    "correlation_matrix",
    "market_breadth",
    "summary",
    "ai_confidence_score",
    "signal_agreement_score",
    "analysis_data",
]


@dataclass(frozen=True)
class RotationContext:
    """What one prediction run computes once and every snapshot's rows read."""

    model: object
    job: object
    timeframe: str
    weights: dict[int, dict[int, float]]  # sector -> {asset: weight}
    close: pd.DataFrame  # asset closes, one column per asset
    indices: dict  # sectors.services.sector_indices
    metrics: dict[str, pd.DataFrame]  # rotation_metrics
    breadth: pd.Series  # altseason_breadth
    asset_return: pd.DataFrame  # each asset's RETURN_WINDOW return
    btc_share_change: pd.Series  # change of BTC's market share over RETURN_WINDOW
    btc: int | None
    eth: int | None
    # The same figures as numpy arrays, read by row position: a per-snapshot `.loc` / `.at`
    # on the frames cost most of a run (3 s of 4 for 365 snapshots).
    position: dict = field(default_factory=dict)  # time -> row of every frame above
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    asset_column: dict[int, int] = field(default_factory=dict)  # asset -> column of asset_return


def rotation_context(*, model, job, timeframe: str) -> RotationContext:
    """Load the sectors' weights and candles and compute the figures every snapshot reads."""
    weights = sector_weights()
    frames = market_frames(timeframe=timeframe)
    close = frames["close"]
    if close.empty or not weights:
        raise ValidationError("no active sector has mapped assets with candles: map assets to sectors first")
    indices = sector_indices(close, frames["market_cap"], weights)
    symbols = dict(Asset.objects.filter(pk__in=list(close.columns)).values_list("symbol", "pk"))
    btc, eth = symbols.get("BTC"), symbols.get("ETH")
    btc_share_change = (
        (frames["market_cap"][btc] / indices["market_cap"]).diff(RETURN_WINDOW)
        if btc in close
        else pd.Series(np.nan, index=close.index)
    )
    metrics = rotation_metrics(indices)
    breadth = altseason_breadth(close, btc)
    asset_return = close / close.shift(RETURN_WINDOW) - 1
    # Every frame and series here is on close's index, so one row position reads them all.
    arrays = {name: metrics[name].to_numpy() for name in ROW_METRICS}
    arrays |= {
        "rank": metrics["return"].rank(axis=1, ascending=False, method="min").to_numpy(),
        "breadth": breadth.to_numpy(),
        "asset_return": asset_return.to_numpy(),
        "btc_share_change": btc_share_change.to_numpy(),
        "market_cap": indices["market_cap"].to_numpy(),
        "listed": close.notna().sum(axis=1).to_numpy(),
    }
    return RotationContext(
        model=model,
        job=job,
        timeframe=timeframe,
        weights=weights,
        close=close,
        indices=indices,
        metrics=metrics,
        breadth=breadth,
        asset_return=asset_return,
        btc_share_change=btc_share_change,
        btc=btc,
        eth=eth,
        position={time: row for row, time in enumerate(close.index)},
        arrays=arrays,
        asset_column={asset: column for column, asset in enumerate(asset_return.columns)},
    )


# The metrics a snapshot's rows read at its time (rotation_metrics' names).
ROW_METRICS = ("rs_ratio", "rs_momentum", "return", "market_return", "relative_strength", "share",
               "share_change", "returns")  # fmt: skip


def rotation_metrics(indices: dict) -> dict[str, pd.DataFrame]:
    """Return RS-ratio, RS-momentum, returns, relative strength and market-share frames (pure)."""
    sector_index, market_index = indices["sector_index"], indices["market_index"]
    rs = sector_index.div(market_index, axis=0)
    rs_ratio = 100 * rs / rs.rolling(RS_WINDOW).mean()
    rs_momentum = 100 * rs_ratio / rs_ratio.rolling(MOMENTUM_WINDOW).mean()
    sector_return = sector_index / sector_index.shift(RETURN_WINDOW) - 1
    market_return = market_index / market_index.shift(RETURN_WINDOW) - 1
    share = indices["sector_caps"].div(indices["market_cap"], axis=0)
    return {
        "rs_ratio": rs_ratio,
        "rs_momentum": rs_momentum,
        "return": sector_return,
        "market_return": market_return,
        "relative_strength": (1 + sector_return).div(1 + market_return, axis=0),
        "share": share,
        "share_change": share - share.shift(FLOW_WINDOW),
        "returns": sector_index.pct_change(fill_method=None),
    }


def index_opens(
    level: pd.Series, close: pd.DataFrame, opens: pd.DataFrame, caps: pd.DataFrame, members
) -> pd.Series:
    """Return the open of a cap-weighted index: its previous level moved by its members' overnight gaps.

    The gap of an asset is open / previous close - 1, weighted like the index's own returns (by
    the previous period's weighted caps); an asset without an open has no gap.
    """
    columns = [a for a in members if a in close.columns]
    scale = pd.Series({a: members[a] for a in columns}, dtype=float)
    gaps = opens.reindex_like(close)[columns] / close[columns].shift(1) - 1
    weights = caps[columns].shift(1) * scale
    usable = gaps.notna() & weights.notna() & (weights > 0)
    total = weights.where(usable, 0).sum(axis=1)
    gap = ((gaps.where(usable, 0) * weights.where(usable, 0)).sum(axis=1) / total.replace(0, np.nan)).fillna(
        0
    )
    return (level.shift(1) * (1 + gap)).rename(level.name)


def quadrant(ratio: float, momentum: float) -> str:
    """Return the relative-rotation quadrant of an RS-ratio and RS-momentum pair."""
    if ratio >= 100:
        return "leading" if momentum >= 100 else "weakening"
    return "improving" if momentum >= 100 else "lagging"


def altseason_breadth(close: pd.DataFrame, btc_id: int | None) -> pd.Series:
    """Return, at each time, the % of non-BTC assets whose 90-period return beats BTC's (NaN if none)."""
    if btc_id is None or btc_id not in close:
        return pd.Series(np.nan, index=close.index)
    returns = close / close.shift(BREADTH_WINDOW) - 1
    alts = returns.drop(columns=[btc_id])
    known = alts.notna() & returns[btc_id].notna().to_numpy()[:, None]
    beating = alts.gt(returns[btc_id], axis=0) & known
    count = known.sum(axis=1)
    return (100 * beating.sum(axis=1) / count.replace(0, np.nan)).where(count > 0)


def rotation_phase(
    *, market_return: float, breadth: float, alt_count: int, eth_edge: float, btc_share_change: float
) -> str:
    """Return the rotation phase from the market's 30-period return, breadth and BTC/ETH figures."""
    if np.isfinite(market_return) and market_return < -0.15:
        return RotationPhase.RISK_OFF
    if alt_count >= 3 and np.isfinite(breadth) and breadth >= 75:
        return RotationPhase.ALT_SEASON
    if np.isfinite(eth_edge) and eth_edge > 0.05:
        return RotationPhase.ETH_SEASON
    if np.isfinite(btc_share_change) and btc_share_change > 0.01:
        return RotationPhase.BTC_SEASON
    return RotationPhase.LARGE_CAPS


def rotation_flows(share_change: pd.Series, market_cap: float) -> list[dict]:
    """Return flows from sectors that lost market share to those that gained it (pure)."""
    return _flows(share_change.index, share_change.to_numpy(dtype=float), market_cap)


def _flows(sectors, change: np.ndarray, market_cap: float) -> list[dict]:
    """Return rotation_flows of the share changes `change` of `sectors` (numpy: once per snapshot)."""
    gains, losses = change > 0, change < 0  # NaN is neither
    total = float(change[gains].sum())
    if total < MIN_FLOW_SHARE or not losses.any():
        return []
    flows = []
    for source, lost in zip(sectors[losses], -change[losses], strict=True):
        for target, gained in zip(sectors[gains], change[gains], strict=True):
            moved = float(lost) * float(gained) / total
            if moved < MIN_FLOW_SHARE:
                continue
            flows.append(
                {
                    "from": int(source),
                    "to": int(target),
                    "strength": min(1.0, moved / total),
                    "usd": moved * market_cap if np.isfinite(market_cap) else None,
                    # A shift of 2 percentage points of market share in a week is a clear one.
                    "confidence": min(1.0, moved / 0.02),
                }
            )
    return flows


def _snapshots(scope, times: pd.DatetimeIndex) -> dict:
    """Return {time: snapshot id} of the snapshots in scope that have market data."""
    snapshots = MetricsSnapshot.objects.filter(timeframe=scope.timeframe)
    bounds = {}
    for key in ("start", "end"):
        value = scope.parameters.get(key)
        if value is not None:
            bounds[key] = parse_datetime(value) if isinstance(value, str) else None
            if bounds[key] is None:
                raise ValidationError({"parameters": f"{key} must be an ISO 8601 date-time, got {value!r}"})
    if "end" in bounds:
        snapshots = snapshots.filter(snapshot_time__lte=bounds["end"])
    if "start" in bounds:
        snapshots = snapshots.filter(snapshot_time__gte=bounds["start"]).order_by("snapshot_time")
        pairs = list(snapshots.values_list("snapshot_time", "id"))
    else:
        lookback = int(scope.parameters.get("lookback", DEFAULT_LOOKBACK))
        pairs = list(snapshots.order_by("-snapshot_time").values_list("snapshot_time", "id")[:lookback])[::-1]
    known = set(times)
    return {time: pk for time, pk in pairs if pd.Timestamp(time) in known}


@register("sector_rotation")
class SectorRotation:
    """Relative-rotation quadrants, breadth and market-share flows of the sectors (rules, no training)."""

    model_type = ModelType.SECTOR
    trainable = False
    framework = "pandas"
    target_variable = "sector_outlook"
    features = ["rs_ratio", "rs_momentum", "return_30", "market_share_change_7", "altseason_breadth"]
    default_configuration = {"fee_bp": 10, "slippage_bp": 5, "thresholds": {"min_sharpe_edge": 0.0}}
    lookahead_parameters = {"lookback": 100_000}  # check_lookahead analyses every snapshot

    def parameters_validate(self, *, parameters: dict, asset=None, sector=None) -> None:
        """Raise ValidationError for a lookback that is not a positive integer."""
        lookback = parameters.get("lookback", DEFAULT_LOOKBACK)
        if not isinstance(lookback, int) or lookback < 1:
            raise ValidationError({"parameters": "lookback must be a positive integer"})

    def evaluate(self, *, model, timeframe: str, parameters: dict) -> dict:
        """Return rotation's decisions: the leading sector with the best RS-momentum, else the market.

        Each choice uses figures up to the close it is made at; ai.evaluation fills it at the
        next open (a switch is an exit and an entry) against the market index. The rules fit
        nothing, so the walk-forward is a single causal pass.
        """
        weights = sector_weights()
        frames = market_frames(timeframe=timeframe)
        if frames["close"].empty or not weights:
            raise ValidationError(
                "no active sector has mapped assets with candles: map assets to sectors first"
            )
        close = frames["close"]
        indices = sector_indices(close, frames["market_cap"], weights)
        rotation = rotation_metrics(indices)
        ratio, momentum = rotation["rs_ratio"], rotation["rs_momentum"]
        leading = momentum.where((ratio >= 100) & (momentum >= 100))
        ready = ratio.notna().any(axis=1).to_numpy()
        if ready.sum() < 30:
            raise ValidationError(f"too few {timeframe} periods of sector history for a backtest")
        start = int(ready.argmax())
        levels = pd.concat([indices["sector_index"], indices["market_index"].rename("market")], axis=1)
        opens = pd.concat(
            [
                index_opens(levels[sector], close, frames["open"], frames["market_cap"], members)
                for sector, members in [
                    *((s, weights[s]) for s in indices["sector_index"].columns),
                    ("market", {a: 1.0 for a in close.columns}),
                ]
            ],
            axis=1,
        )
        window = leading.iloc[start:]
        choice = window.fillna(-np.inf).idxmax(axis=1).astype(object).where(window.notna().any(axis=1))
        choice = choice.fillna("market")
        period = levels.index[start:]
        return {
            "kind": "trading",
            "opens": opens.loc[period],
            "closes": levels.loc[period],
            "decisions": choice,
            "execution": {
                "opens": "estimated, not traded: no sector index has stored opens, so each index's open "
                "is its previous close moved by its members' cap-weighted overnight gaps (open / "
                "previous close); a member stored as price points has its close as its open, so there "
                "the whole day's move counts as the gap and the fill is at that day's close",
            },
            "benchmark": "market",
            "benchmark_history": levels["market"],
            "period_start": period[0],
            "period_end": period[-1],
            "extra": {
                "time_in_market_index": float((choice == "market").mean()),
                "switches": int((choice != choice.shift(1)).iloc[1:].sum()),
            },
            "notes": "rotation into the leading sector with the best RS-momentum, else the market index; "
            "filled at the next bar's open, estimated from the members' overnight gaps",
        }

    def predict(self, *, model, job, scope) -> int:
        """Write sector, cross-sector and flow rows for each snapshot in scope; return the rows written."""
        context = rotation_context(model=model, job=job, timeframe=scope.timeframe)
        snapshots = _snapshots(scope, context.close.index)
        scope.checkpoint(40)
        sector_rows, cross_rows, flows_by_snapshot = [], [], {}
        for time, snapshot_id in snapshots.items():
            sector_rows += _sector_rows(context, time, snapshot_id)
            cross, flows_by_snapshot[snapshot_id] = _cross_row(context, time, snapshot_id)
            cross_rows.append(cross)
        scope.checkpoint(70)
        AISectorAnalysis.objects.bulk_create(
            sector_rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["sector", "metrics_snapshot", "ai_model"],
            update_fields=SECTOR_UPDATE_FIELDS,
        )
        AICrossSectorAnalysis.objects.bulk_create(
            cross_rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["metrics_snapshot", "ai_model", "timeframe"],
            update_fields=CROSS_UPDATE_FIELDS,
        )
        flow_count = _flows_replace(context, snapshots, flows_by_snapshot)
        scope.output.update(
            sector_analyses=len(sector_rows), cross_analyses=len(cross_rows), flows=flow_count
        )
        return len(sector_rows) + len(cross_rows) + flow_count


def _flows_replace(context: RotationContext, snapshots: dict, flows_by_snapshot: dict) -> int:
    """Replace the flows of the cross-sector rows just written; return how many were written."""
    cross_ids = dict(
        AICrossSectorAnalysis.objects.filter(
            ai_model=context.model,
            timeframe=context.timeframe,
            metrics_snapshot_id__in=list(flows_by_snapshot),
        ).values_list("metrics_snapshot_id", "id")
    )
    SectorRotationFlow.objects.filter(cross_analysis_id__in=list(cross_ids.values())).delete()
    flow_rows = [
        SectorRotationFlow(
            cross_analysis_id=cross_ids[snapshot_id],
            from_sector_id=flow["from"],
            to_sector_id=flow["to"],
            flow_strength=decimal_fit(flow["strength"], 4, 0, 1),
            estimated_flow_usd=decimal_fit(flow["usd"], 2, digits=30),
            timeframe=context.timeframe,
            detected_at=time,
            confidence=decimal_fit(flow["confidence"], 2, 0, 1),
        )
        for (time, snapshot_id) in snapshots.items()
        for flow in flows_by_snapshot[snapshot_id]
    ]
    SectorRotationFlow.objects.bulk_create(flow_rows, batch_size=500)
    return len(flow_rows)


def sector_outlook(place: str, momentum_score: float) -> str:
    """Return a sector's outlook from its quadrant and the sign of its momentum."""
    if place == "leading" or (place == "improving" and momentum_score > 0):
        return Outlook.BULLISH
    if place == "lagging" or (place == "weakening" and momentum_score < 0):
        return Outlook.BEARISH
    return Outlook.NEUTRAL


def rotation_signal(relative_change: float) -> str:
    """Return inflow / outflow for a change of more than 2% of a sector's own market share."""
    if relative_change > 0.02:
        return RotationSignal.INFLOW
    if relative_change < -0.02:
        return RotationSignal.OUTFLOW
    return RotationSignal.NEUTRAL


def _key_assets(context: RotationContext, row: int, members: dict) -> list[dict]:
    """Return the sector's five members with the best RETURN_WINDOW return at row `row`."""
    returns = context.arrays["asset_return"][row]
    column = context.asset_column
    found = (
        {"asset": int(a), "weight": round(w, 4), "return_30": round(float(returns[column[a]]), 4)}
        for a, w in members.items()
        if a in column and np.isfinite(returns[column[a]])
    )
    return sorted(found, key=lambda item: -item["return_30"])[:5]


def _sector_rows(context: RotationContext, time, snapshot_id) -> list[AISectorAnalysis]:
    """Return the (unsaved) analysis of each sector with figures at `time`."""
    row, arrays = context.position[time], context.arrays
    ratios, momenta, returns = arrays["rs_ratio"][row], arrays["rs_momentum"][row], arrays["return"][row]
    shares, share_changes, ranks = arrays["share"][row], arrays["share_change"][row], arrays["rank"][row]
    strengths = arrays["relative_strength"][row]
    rows = []
    for column, sector_id in enumerate(context.metrics["rs_ratio"].columns):
        ratio, momentum, sector_return = ratios[column], momenta[column], returns[column]
        if not (np.isfinite(ratio) and np.isfinite(momentum) and np.isfinite(sector_return)):
            continue
        place = quadrant(ratio, momentum)
        momentum_score = float(np.tanh(5 * sector_return))
        outlook = sector_outlook(place, momentum_score)
        share, change = shares[column], share_changes[column]
        relative_change = change / share if share and np.isfinite(change) else 0.0
        agree = outlook != Outlook.NEUTRAL and (outlook == Outlook.BULLISH) == (momentum_score > 0)
        rows.append(
            AISectorAnalysis(
                sector_id=sector_id,
                metrics_snapshot_id=snapshot_id,
                ai_model=context.model,
                prediction_job=context.job,
                analysis_time=time,
                timeframe=context.timeframe,
                momentum_score=decimal_fit(momentum_score, 4, -1, 1),
                relative_strength=decimal_fit(strengths[column], 4, digits=10),
                performance_rank=int(ranks[column]),
                outlook=outlook,
                rotation_signal=rotation_signal(relative_change),
                key_assets=_key_assets(context, row, context.weights[sector_id]),
                summary=f"{place}: RS-ratio {ratio:.1f}, RS-momentum {momentum:.1f}, "
                f"30d {sector_return:+.1%}",
                ai_confidence_score=decimal_fit(min(1.0, abs(ratio - 100) / 10), 2, 0, 1),
                signal_agreement_score=Decimal("1.00") if agree else Decimal("0.50"),
                analysis_data={
                    "quadrant": place,
                    "rs_ratio": round(float(ratio), 4),
                    "rs_momentum": round(float(momentum), 4),
                    "return_30": round(float(sector_return), 6),
                    "market_share": round(float(share), 6) if np.isfinite(share) else None,
                },
            )
        )
    return rows


def _ordered(ids: np.ndarray, values: np.ndarray, *, descending: bool) -> list[int]:
    """Return `ids` ordered by `values`, ties as pandas' Series.sort_values orders them."""
    if descending:  # pandas reverses, sorts ascending and reverses back
        return [int(i) for i in ids[::-1][values[::-1].argsort(kind="quicksort")][::-1]]
    return [int(i) for i in ids[values.argsort(kind="quicksort")]]


def _cross_row(context: RotationContext, time, snapshot_id) -> tuple[AICrossSectorAnalysis, list[dict]]:
    """Return the (unsaved) cross-sector analysis at `time` and the flows detected then."""
    row, arrays, btc, eth = context.position[time], context.arrays, context.btc, context.eth
    sectors = context.metrics["rs_ratio"].columns
    ratios = arrays["rs_ratio"][row]
    known = ~np.isnan(ratios)
    ids, ratios, momenta = sectors.to_numpy()[known], ratios[known], arrays["rs_momentum"][row][known]
    places = {s: quadrant(r, m) for s, r, m in zip(ids, ratios, momenta, strict=True)}
    leading = [s for s in _ordered(ids, ratios, descending=True) if places[s] in ("leading", "improving")]
    lagging = [s for s in _ordered(ids, ratios, descending=False) if places[s] in ("lagging", "weakening")]
    returns = context.metrics["returns"]
    window = returns.iloc[max(0, row + 1 - RS_WINDOW) : row + 1]
    correlation = window.corr(min_periods=RS_WINDOW // 2).to_numpy()
    matrix = {
        str(a): {
            str(b): round(float(v), 4) for b, v in zip(returns.columns, values, strict=True) if np.isfinite(v)
        }
        for a, values in zip(returns.columns, correlation, strict=True)
    }
    column, asset_return = context.asset_column, arrays["asset_return"][row]
    eth_edge = (
        asset_return[column[eth]] - asset_return[column[btc]] if btc in column and eth in column else np.nan
    )
    breadth, market_return = arrays["breadth"][row], arrays["market_return"][row]
    phase = rotation_phase(
        market_return=market_return,
        breadth=breadth,
        alt_count=int(arrays["listed"][row]) - 1,
        eth_edge=eth_edge,
        btc_share_change=arrays["btc_share_change"][row],
    )
    flows = _flows(sectors, arrays["share_change"][row], float(arrays["market_cap"][row]))
    cross = AICrossSectorAnalysis(
        metrics_snapshot_id=snapshot_id,
        ai_model=context.model,
        prediction_job=context.job,
        analysis_time=time,
        timeframe=context.timeframe,
        rotation_phase=phase,
        leading_sectors=leading,
        lagging_sectors=lagging,
        correlation_matrix=matrix,
        market_breadth=decimal_fit(breadth, 2, 0, 100),
        summary=f"{RotationPhase(phase).label}; {len(leading)} sectors leading or improving, "
        f"{len(lagging)} lagging or weakening",
        ai_confidence_score=decimal_fit(abs(len(leading) - len(lagging)) / max(1, len(places)), 2, 0, 1),
        analysis_data={
            "quadrants": {str(s): p for s, p in places.items()},
            "eth_btc_edge_30": None if not np.isfinite(eth_edge) else round(float(eth_edge), 4),
            "market_return_30": _round(market_return),
        },
    )
    return cross, flows


def _round(value, places: int = 6):
    return round(float(value), places) if value is not None and np.isfinite(value) else None
