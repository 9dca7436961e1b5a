/* A portfolio's daily value with cash against a BTC benchmark, its allocation now and the PnL
   of each holding (Apache ECharts). Data: the admin's portfolio chart JSON view (data-url). */
(function () {
  "use strict";
  const F = window.CPCharts;
  const theme = () => (F.dark() ? "dark" : null);

  function value(container, data) {
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    const ms = data.time.map((t) => t * 1000);
    const line = (name, values, color, extra) => ({
      name, type: "line", showSymbol: false, color, data: ms.map((t, i) => [t, values[i]]), ...extra,
    });
    const series = [line("value with cash", data.value, "#2962ff", { lineStyle: { width: 2 } }), line("BTC", data.benchmark, "#ff6d00")];
    if (data.cash_now !== null) series.push(line("cash", data.cash, "#9e9e9e", { areaStyle: { opacity: 0.15 }, lineStyle: { width: 1 } }));
    chart.setOption({
      animation: false,
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : `${F.number(v)} ${data.currency}`) },
      grid: { left: 90, right: 30, top: 36, bottom: 50 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: data.currency, scale: true, axisLabel: { formatter: (v) => F.number(v, 0) } },
      dataZoom: [{ type: "inside" }, { type: "slider", bottom: 0, height: 18 }],
      series,
    });
    container.dataset.points = String(data.time.length);
    return chart;
  }

  function allocation(container, data) {
    const slices = data.holdings.filter((h) => h.value > 0).map((h) => ({ name: h.asset, value: h.value }));
    if (data.cash_now) slices.push({ name: "cash", value: data.cash_now, itemStyle: { color: "#9e9e9e" } });
    if (!slices.length) return F.empty(container, "Nothing held.");
    const total = slices.reduce((sum, s) => sum + s.value, 0);
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    chart.setOption({
      animation: false,
      title: { text: "Allocation now", left: "center", textStyle: { fontSize: 13 } },
      tooltip: { formatter: (p) => `${p.name}: ${F.number(p.value)} ${data.currency} (${F.percent(p.value / total, true, 1)})` },
      series: [{ type: "pie", radius: ["40%", "70%"], data: slices, label: { formatter: (p) => `${p.name} ${F.percent(p.value / total, true, 1)}` } }],
    });
    container.dataset.points = String(slices.length);
    return chart;
  }

  function pnl(container, data) {
    if (!data.holdings.length) return F.empty(container, "No holdings.");
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    const assets = data.holdings.map((h) => h.asset);
    const bar = (name, key, color) => ({ name, type: "bar", stack: "pnl", color, data: data.holdings.map((h) => h[key]) });
    chart.setOption({
      animation: false,
      title: { text: "PnL per holding", left: "center", textStyle: { fontSize: 13 } },
      legend: { bottom: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => `${F.number(v)} ${data.currency}` },
      grid: { left: 90, right: 20, top: 36, bottom: 40 },
      xAxis: { type: "category", data: assets },
      yAxis: { type: "value", axisLabel: { formatter: (v) => F.number(v, 0) } },
      series: [bar("unrealized", "unrealized_pnl", "#2962ff"), bar("realized", "realized_pnl", "#2e7d32")],
    });
    container.dataset.points = String(assets.length);
    return chart;
  }

  async function init() {
    const container = document.querySelector('[data-chart="portfolio"]');
    if (!container) return;
    const parts = ["allocation", "holding-pnl"].map((name) => document.querySelector(`[data-chart="${name}"]`));
    try {
      const data = await F.getJSON(container.dataset.url);
      const charts = [];
      if (data.time.length) charts.push(value(container, data));
      else F.empty(container, "No daily prices of the holdings yet.");
      if (parts[0]) charts.push(allocation(parts[0], data));
      if (parts[1]) charts.push(pnl(parts[1], data));
      window.addEventListener("resize", () => charts.forEach((c) => c && c.resize()));
    } catch (error) {
      F.empty(container, "The chart could not load.");
      console.error(error);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
