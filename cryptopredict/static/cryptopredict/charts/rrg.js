/* The sectors' relative-rotation graph (RS-ratio against RS-momentum, short tails, quadrants
   labelled) and their index lines (Apache ECharts). Data: the admin's rotation JSON view. */
(function () {
  "use strict";
  const F = window.CPCharts;
  const theme = () => (F.dark() ? "dark" : null);
  const QUADRANTS = [
    ["Leading", [100, 100], [Infinity, Infinity], "#2e7d32"],
    ["Weakening", [100, -Infinity], [Infinity, 100], "#f9a825"],
    ["Lagging", [-Infinity, -Infinity], [100, 100], "#c62828"],
    ["Improving", [-Infinity, 100], [100, Infinity], "#1565c0"],
  ];

  function rotation(container, data) {
    const values = data.sectors.flatMap((s) => s.tail.flatMap((p) => [p[1], p[2]]));
    const reach = Math.max(1, ...values.map((v) => Math.abs(v - 100))) * 1.15;
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    const clip = (v) => (v === Infinity ? 100 + reach : v === -Infinity ? 100 - reach : v);
    const series = data.sectors.map((sector, i) => ({
      name: sector.name, type: "line", color: sector.color, symbolSize: (v, p) => (p.dataIndex === sector.tail.length - 1 ? 10 : 4),
      data: sector.tail.map((p) => [p[1], p[2], p[0]]),
      label: { show: true, position: "right", formatter: (p) => (p.dataIndex === sector.tail.length - 1 ? sector.name : "") },
      markArea: i ? undefined : {
        silent: true,
        data: QUADRANTS.map(([name, low, high, color]) => [
          { name, coord: [clip(low[0]), clip(low[1])], itemStyle: { color, opacity: 0.07 },
            label: { position: high[1] === Infinity ? "insideTop" : "insideBottom", color, fontWeight: "bold" } },
          { coord: [clip(high[0]), clip(high[1])] },
        ]),
      },
    }));
    chart.setOption({
      animation: false,
      legend: { top: 0, type: "scroll" },
      tooltip: { formatter: (p) => `${p.seriesName} ${F.utc(p.value[2], false)}<br>RS-ratio ${F.number(p.value[0])}<br>RS-momentum ${F.number(p.value[1])}` },
      grid: { left: 60, right: 30, top: 40, bottom: 40 },
      xAxis: { type: "value", name: "RS-ratio", nameLocation: "middle", nameGap: 26, min: 100 - reach, max: 100 + reach, axisLabel: { showMinLabel: false, showMaxLabel: false, formatter: (v) => F.number(v, 1) } },
      yAxis: { type: "value", name: "RS-momentum", min: 100 - reach, max: 100 + reach, axisLabel: { showMinLabel: false, showMaxLabel: false, formatter: (v) => F.number(v, 1) } },
      series,
    });
    container.dataset.points = String(data.sectors.reduce((n, s) => n + s.tail.length, 0));
    return chart;
  }

  function lines(container, data) {
    const chart = echarts.init(container, theme(), { renderer: "canvas" });
    chart.setOption({
      animation: false,
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis", valueFormatter: (v) => F.number(v) },
      grid: { left: 60, right: 30, top: 40, bottom: 50 },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: "index (first day = 100)", scale: true },
      dataZoom: [{ type: "inside" }, { type: "slider", bottom: 0, height: 18 }],
      series: data.sectors.map((s) => ({
        name: s.name, type: "line", showSymbol: false, color: s.color, data: data.time.map((t, i) => [t * 1000, s.index[i]]),
      })),
    });
    container.dataset.points = String(data.time.length);
    return chart;
  }

  async function init() {
    const container = document.querySelector('[data-chart="rrg"]');
    if (!container) return;
    const index = document.querySelector('[data-chart="sector-index"]');
    try {
      const data = await F.getJSON(container.dataset.url);
      if (!data.time.length) {
        F.empty(container, "No daily sector history yet.");
        if (index) F.empty(index, "No daily sector history yet.");
        return;
      }
      const charts = [rotation(container, data), index && lines(index, data)];
      window.addEventListener("resize", () => charts.forEach((c) => c && c.resize()));
    } catch (error) {
      F.empty(container, "The chart could not load.");
      console.error(error);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
