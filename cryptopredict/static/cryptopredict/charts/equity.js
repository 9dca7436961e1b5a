/* A model evaluation's equity and drawdown against each baseline, and its monthly returns
   as a heatmap (Apache ECharts). Data: the admin's JSON view of the evaluation (data-url). */
(function () {
  "use strict";
  const F = window.CPCharts;
  const COLORS = { model: "#2962ff", buy_and_hold: "#ff6d00", sma_200: "#2e7d32" };
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const label = (name) => name.replace(/_/g, " ");

  function theme() { return F.dark() ? "dark" : null; }

  function equity(container, data) {
    const names = Object.keys(data.series);
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    const series = [];
    for (const name of names) {
      const color = COLORS[name];
      series.push({
        name: label(name), type: "line", showSymbol: false, xAxisIndex: 0, yAxisIndex: 0, color,
        lineStyle: { width: name === "model" ? 2 : 1.2 }, data: data.time.map((t, i) => [t, data.series[name].equity[i]]),
      });
      series.push({
        name: label(name), type: "line", showSymbol: false, xAxisIndex: 1, yAxisIndex: 1, color,
        areaStyle: name === "model" ? { opacity: 0.15 } : undefined, lineStyle: { width: 1 },
        data: data.time.map((t, i) => [t, data.series[name].drawdown[i]]),
      });
    }
    chart.setOption({
      animation: false,
      legend: { data: names.map(label), top: 0 },
      tooltip: {
        trigger: "axis",
        valueFormatter: (v) => (v === null || v === undefined ? "—" : F.number(v)),
      },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      grid: [{ left: 70, right: 30, top: 36, height: "55%" }, { left: 70, right: 30, top: "72%", height: "20%" }],
      xAxis: [{ type: "time", gridIndex: 0, axisLabel: { show: false } }, { type: "time", gridIndex: 1 }],
      yAxis: [
        { type: "log", gridIndex: 0, name: "equity", axisLabel: { formatter: (v) => F.multiple(v) } },
        { type: "value", gridIndex: 1, name: "drawdown", max: 0, axisLabel: { formatter: (v) => F.percent(v, true, 0) } },
      ],
      dataZoom: [{ type: "inside", xAxisIndex: [0, 1] }, { type: "slider", xAxisIndex: [0, 1], bottom: 0, height: 18 }],
      series,
    });
    container.dataset.points = String(data.time.length);
    container.dataset.series = names.join(",");
    window.addEventListener("resize", () => chart.resize());
  }

  function heatmap(container, returns) {
    const months = Object.entries(returns || {});
    if (!months.length) return F.empty(container, "No monthly returns stored.");
    const years = [...new Set(months.map(([key]) => key.slice(0, 4)))].sort();
    const cells = months.map(([key, value]) => [Number(key.slice(5, 7)) - 1, years.indexOf(key.slice(0, 4)), value * 100]);
    const extent = Math.max(...cells.map((c) => Math.abs(c[2])), 1);
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    container.style.height = Math.max(160, 40 + years.length * 26) + "px";
    chart.resize();
    chart.setOption({
      animation: false,
      tooltip: { formatter: (p) => `${years[p.value[1]]} ${MONTHS[p.value[0]]}: ${F.percent(p.value[2])}` },
      grid: { left: 60, right: 90, top: 10, bottom: 30 },
      xAxis: { type: "category", data: MONTHS, splitArea: { show: true } },
      yAxis: { type: "category", data: years, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: -extent, max: extent, calculable: true, orient: "vertical", right: 0, top: "center",
        inRange: { color: ["#c62828", "#f5f5f5", "#2e7d32"] }, formatter: (v) => F.percent(v, false, 0),
      },
      series: [{ type: "heatmap", data: cells, label: { show: true, formatter: (p) => F.number(p.value[2], 1, 2) } }],
    });
    container.dataset.points = String(cells.length);
  }

  async function init() {
    const container = document.querySelector('[data-chart="equity"]');
    if (!container) return;
    const months = document.querySelector('[data-chart="monthly-returns"]');
    try {
      const data = await F.getJSON(container.dataset.url);
      if (!data.time.length) {
        F.empty(container, "This evaluation stored no equity curves.");
        if (months) F.empty(months, "No monthly returns stored.");
        return;
      }
      equity(container, data);
      if (months) heatmap(months, (data.monthly_returns || {}).model);
    } catch (error) {
      F.empty(container, "The chart could not load.");
      console.error(error);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
