/* The asset page's price chart: candles and volume, indicator overlays, RSI and MACD panes,
   signal markers and regime bands; older candles load as the chart scrolls left.
   Data: the admin's JSON view (data-url), one window of candles at a time. */
(function () {
  "use strict";
  const LC = window.LightweightCharts;
  const F = window.CPCharts;
  const REGIME_COLORS = {
    Bull: "rgba(38, 166, 91, 0.13)",
    Bear: "rgba(214, 69, 65, 0.13)",
    Sideways: "rgba(149, 165, 166, 0.13)",
    Transition: "rgba(241, 196, 15, 0.13)",
    Accumulation: "rgba(52, 152, 219, 0.13)",
    Distribution: "rgba(155, 89, 182, 0.13)",
  };
  const VISIBLE = 240;
  const OVERLAYS = {
    sma: [["sma_50", "#2962ff"], ["sma_200", "#ff6d00"]],
    ema: [["ema_12", "#00897b"], ["ema_26", "#8e24aa"]],
    bollinger: [["bb_upper", "#90a4ae"], ["bb_middle", "#b0bec5"], ["bb_lower", "#90a4ae"]],
  };

  function line(chart, color, pane, options = {}) {
    return chart.addSeries(LC.LineSeries, {
      color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, ...options,
    }, pane);
  }

  function regimeAt(regimes, time) {
    let current = null;
    for (const r of regimes) { if (r.time <= time) current = r.regime; else break; }
    return current;
  }

  class CandleChart {
    constructor(container) {
      this.container = container;
      this.toolbar = document.querySelector('[data-chart-toolbar="candles"]');
      this.legend = document.querySelector('[data-chart-legend="candles"]');
      this.url = container.dataset.url;
      this.loading = false;
    }

    async start(timeframe) {
      this.container.removeAttribute("data-points");
      const data = await F.getJSON(this.query({ timeframe }));
      this.timeframe = data.timeframe;
      this.switcher(data.timeframes);
      if (!data.candles.length) return F.empty(this.container, "No candles for this asset yet.");
      this.build();
      this.data = { candles: [], indicators: {}, signals: [], regimes: [] };
      this.merge(data);
      this.draw();
      // Show the latest candles; scrolling left past the first loaded ones fetches older ones.
      const count = this.data.candles.length;
      this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, count - VISIBLE), to: count + 2 });
      this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
        if (range && range.from < 20 && this.more && !this.loading) this.older();
      });
    }

    query(params) {
      const url = new URL(this.url, window.location.href);
      for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) url.searchParams.set(key, value);
      return url;
    }

    switcher(timeframes) {
      const box = this.toolbar && this.toolbar.querySelector(".chart-timeframes");
      if (!box) return;
      box.innerHTML = "";
      for (const tf of timeframes) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = tf;
        button.dataset.timeframe = tf;
        button.setAttribute("aria-pressed", String(tf === this.timeframe));
        button.addEventListener("click", () => { if (tf !== this.timeframe) this.start(tf); });
        box.appendChild(button);
      }
    }

    build() {
      if (this.chart) this.chart.remove();
      this.container.innerHTML = "";
      const dark = F.dark();
      const text = dark ? "#d1d4dc" : "#333";
      const grid = dark ? "#2a2e39" : "#eef0f3";
      const chart = LC.createChart(this.container, {
        autoSize: true,
        layout: { background: { color: "transparent" }, textColor: text, panes: { separatorColor: grid } },
        grid: { vertLines: { color: grid }, horzLines: { color: grid } },
        timeScale: { timeVisible: !["1d", "1w", "1M"].includes(this.timeframe), secondsVisible: false },
        localization: { priceFormatter: (p) => F.number(p), timeFormatter: (t) => F.utc(t, !["1d", "1w", "1M"].includes(this.timeframe)) },
        crosshair: { mode: LC.CrosshairMode.Normal },
      });
      this.chart = chart;
      this.regimeSeries = chart.addSeries(LC.HistogramSeries, {
        priceScaleId: "regime", priceLineVisible: false, lastValueVisible: false, base: 0,
      }, 0);
      chart.priceScale("regime").applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
      this.candles = chart.addSeries(LC.CandlestickSeries, {
        upColor: "#26a69a", downColor: "#ef5350", borderVisible: false, wickUpColor: "#26a69a", wickDownColor: "#ef5350",
      }, 0);
      this.volume = chart.addSeries(LC.HistogramSeries, {
        priceScaleId: "volume", priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false,
      }, 0);
      chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
      this.overlays = {};
      for (const [group, lines] of Object.entries(OVERLAYS)) {
        this.overlays[group] = lines.map(([name, color]) => [name, line(chart, color, 0, { lineStyle: group === "bollinger" ? 2 : 0 })]);
      }
      this.rsi = line(chart, "#7e57c2", 1, { lastValueVisible: true });
      this.rsi.createPriceLine({ price: 70, color: "#ef5350", lineStyle: 2, lineWidth: 1, axisLabelVisible: false });
      this.rsi.createPriceLine({ price: 30, color: "#26a69a", lineStyle: 2, lineWidth: 1, axisLabelVisible: false });
      this.macdHist = chart.addSeries(LC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, 2);
      this.macd = line(chart, "#2962ff", 2);
      this.macdSignal = line(chart, "#ff6d00", 2);
      const panes = chart.panes();
      [4, 1, 1].forEach((factor, i) => panes[i] && panes[i].setStretchFactor(factor));
      this.markers = LC.createSeriesMarkers(this.candles, []);
      if (this.toolbar) {
        for (const box of this.toolbar.querySelectorAll("[data-overlay]")) {
          box.onchange = () => this.overlays[box.dataset.overlay].forEach(([, s]) => s.applyOptions({ visible: box.checked }));
          this.overlays[box.dataset.overlay].forEach(([, s]) => s.applyOptions({ visible: box.checked }));
        }
      }
      chart.subscribeCrosshairMove((param) => this.showLegend(param));
    }

    merge(data) {
      const known = new Set(this.data.candles.map((c) => c[0]));
      const fresh = data.candles.filter((c) => !known.has(c[0]));
      this.data.candles = [...fresh, ...this.data.candles].sort((a, b) => a[0] - b[0]);
      for (const [name, points] of Object.entries(data.indicators)) {
        const have = this.data.indicators[name] || [];
        const seen = new Set(have.map((p) => p[0]));
        this.data.indicators[name] = [...points.filter((p) => !seen.has(p[0])), ...have].sort((a, b) => a[0] - b[0]);
      }
      const signalIds = new Set(this.data.signals.map((s) => s.id));
      this.data.signals = [...data.signals.filter((s) => !signalIds.has(s.id)), ...this.data.signals].sort((a, b) => a.time - b.time);
      const regimeTimes = new Set(this.data.regimes.map((r) => r.time));
      this.data.regimes = [...data.regimes.filter((r) => !regimeTimes.has(r.time)), ...this.data.regimes].sort((a, b) => a.time - b.time);
      this.more = data.more;
    }

    draw() {
      const c = this.data.candles;
      const precision = F.pricePrecision(c.map((x) => x[3]));
      this.candles.applyOptions({ priceFormat: { type: "price", precision, minMove: Math.pow(10, -precision) } });
      this.candles.setData(c.map(([time, open, high, low, close]) => ({ time, open, high, low, close })));
      this.volume.setData(c.map(([time, open, , , close, volume]) => ({
        time, value: volume, color: close >= open ? "rgba(38,166,154,0.45)" : "rgba(239,83,80,0.45)",
      })));
      const ind = (name) => (this.data.indicators[name] || []).map(([time, value]) => ({ time, value }));
      for (const lines of Object.values(this.overlays)) for (const [name, series] of lines) series.setData(ind(name));
      this.rsi.setData(ind("rsi_14"));
      this.macd.setData(ind("macd"));
      this.macdSignal.setData(ind("macd_signal"));
      this.macdHist.setData(ind("macd_hist").map((p) => ({ ...p, color: p.value >= 0 ? "rgba(38,166,154,0.6)" : "rgba(239,83,80,0.6)" })));
      const regimes = this.data.regimes;
      this.regimeSeries.setData(regimes.length ? c.map(([time]) => {
        const regime = regimeAt(regimes, time);
        return regime ? { time, value: 1, color: REGIME_COLORS[regime] || "rgba(0,0,0,0.05)" } : { time };
      }) : []);
      this.markers.setMarkers(this.signalMarkers(c));
      this.drawSignalLines();
      this.container.dataset.points = String(c.length);
      this.container.dataset.signals = String(this.data.signals.length);
      this.container.dataset.timeframe = this.timeframe;
    }

    // Each signal marks the first candle at or after it was generated.
    signalMarkers(candles) {
      const times = candles.map((x) => x[0]);
      const markers = [];
      this.signalAt = new Map();
      for (const s of this.data.signals) {
        const index = times.findIndex((t) => t >= s.time);
        if (index < 0 || s.type === "hold") continue;
        const buy = s.type === "buy";
        this.signalAt.set(times[index], s);
        markers.push({
          time: times[index],
          position: buy ? "belowBar" : "aboveBar",
          shape: buy ? "arrowUp" : "arrowDown",
          color: buy ? "#2e7d32" : "#c62828",
          text: buy ? "B" : "S",
          id: String(s.id),
        });
      }
      return markers;
    }

    // The latest active signal's entry, stop and target as price lines.
    drawSignalLines() {
      for (const l of this.signalLines || []) this.candles.removePriceLine(l);
      this.signalLines = [];
      const active = [...this.data.signals].reverse().find((s) => s.status === "active" && s.type !== "hold");
      if (!active) return;
      for (const [key, color, title] of [["entry", "#1565c0", "entry"], ["stop", "#c62828", "stop"], ["target", "#2e7d32", "target"]]) {
        if (active[key] !== null) {
          this.signalLines.push(this.candles.createPriceLine({ price: active[key], color, lineStyle: 1, lineWidth: 1, title }));
        }
      }
    }

    async older() {
      this.loading = true;
      try {
        const first = this.data.candles[0][0];
        const data = await F.getJSON(this.query({ timeframe: this.timeframe, end: first - 1 }));
        const range = this.chart.timeScale().getVisibleLogicalRange();
        const before = this.data.candles.length;
        this.merge(data);
        this.draw();
        const added = this.data.candles.length - before;
        if (range && added) this.chart.timeScale().setVisibleLogicalRange({ from: range.from + added, to: range.to + added });
      } finally {
        this.loading = false;
      }
    }

    showLegend(param) {
      if (!this.legend) return;
      const bar = param && param.seriesData ? param.seriesData.get(this.candles) : null;
      if (!bar) { this.legend.textContent = ""; return; }
      const intraday = !["1d", "1w", "1M"].includes(this.timeframe);
      let text = `${F.utc(bar.time, intraday)}  O ${F.number(bar.open)}  H ${F.number(bar.high)}  L ${F.number(bar.low)}  C ${F.number(bar.close)}`;
      const signal = this.signalAt.get(bar.time);
      if (signal) text += `  ·  ${signal.type} @ ${F.number(signal.entry)}, stop ${F.number(signal.stop)}, target ${F.number(signal.target)} (${signal.status})`;
      const regime = regimeAt(this.data.regimes, bar.time);
      if (regime) text += `  ·  regime ${regime}`;
      this.legend.textContent = text;
    }
  }

  function init() {
    for (const container of document.querySelectorAll('[data-chart="candles"]')) {
      new CandleChart(container).start().catch((error) => { F.empty(container, "The chart could not load."); console.error(error); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
