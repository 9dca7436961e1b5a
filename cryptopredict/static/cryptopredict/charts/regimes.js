/* BTC's price with each day's regime as a coloured band behind it, and the regime
   probabilities as a stacked area below (Apache ECharts). Data: the admin's regime chart
   JSON view (data-url), one model at a time. */
(function () {
  "use strict";
  const F = window.CPCharts;
  const COLORS = {
    Bull: "#2e7d32", Bear: "#c62828", Sideways: "#9e9e9e",
    Transition: "#f9a825", Accumulation: "#1565c0", Distribution: "#6a1b9a",
  };
  const color = (name) => COLORS[name] || "#607d8b";
  let chart = null;

  // Consecutive days of one regime become one band, from its first call to the next call.
  function bands(data) {
    const out = [];
    data.regime.forEach((regime, i) => {
      const last = out[out.length - 1];
      if (last && last.regime === regime) return;
      out.push({ regime, start: data.time[i] });
    });
    return out.map((band, i) => [
      { name: band.regime, xAxis: band.start * 1000, itemStyle: { color: color(band.regime), opacity: 0.14 } },
      { xAxis: (i + 1 < out.length ? out[i + 1].start : data.time[data.time.length - 1]) * 1000 },
    ]);
  }

  function draw(container, data) {
    if (chart) chart.dispose();
    chart = echarts.init(container, F.dark() ? "dark" : null, { renderer: "canvas" });
    const ms = data.time.map((t) => t * 1000);
    const names = Object.keys(data.probabilities);
    chart.setOption({
      animation: false,
      legend: { data: ["BTC", ...names], top: 0 },
      tooltip: {
        trigger: "axis",
        formatter: (items) => {
          const i = items[0].dataIndex;
          const lines = [`${F.utc(data.time[i], false)}: <b>${data.regime[i]}</b>`, `BTC ${F.number(data.price[i])}`];
          for (const name of names) lines.push(`${name} ${F.percent(data.probabilities[name][i], true, 0)}`);
          return lines.join("<br>");
        },
      },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      grid: [{ left: 80, right: 30, top: 36, height: "52%" }, { left: 80, right: 30, top: "68%", height: "22%" }],
      xAxis: [{ type: "time", gridIndex: 0, axisLabel: { show: false } }, { type: "time", gridIndex: 1 }],
      yAxis: [
        { type: "log", gridIndex: 0, name: "BTC (USD)", min: (v) => v.min * 0.95, max: (v) => v.max * 1.05, axisLabel: { formatter: (v) => F.number(v, 0) } },
        { type: "value", gridIndex: 1, name: "probability", min: 0, max: 1, axisLabel: { formatter: (v) => F.percent(v, true, 0) } },
      ],
      dataZoom: [{ type: "inside", xAxisIndex: [0, 1] }, { type: "slider", xAxisIndex: [0, 1], bottom: 0, height: 18 }],
      series: [
        {
          name: "BTC", type: "line", showSymbol: false, xAxisIndex: 0, yAxisIndex: 0, color: "#263238",
          lineStyle: { width: 1.5 }, data: ms.map((t, i) => [t, data.price[i]]),
          markArea: { silent: true, label: { show: false }, data: bands(data) },
        },
        ...names.map((name) => ({
          name, type: "line", stack: "probability", showSymbol: false, xAxisIndex: 1, yAxisIndex: 1,
          color: color(name), lineStyle: { width: 0 }, areaStyle: { opacity: 0.8 },
          data: ms.map((t, i) => [t, data.probabilities[name][i]]),
        })),
      ],
    });
    container.dataset.points = String(data.time.length);
    container.dataset.bands = String(bands(data).length);
    container.dataset.model = String(data.model.id);
  }

  async function load(container) {
    const model = document.querySelector("[data-regime-model]");
    const inSample = document.querySelector("[data-regime-in-sample]");
    const params = new URLSearchParams();
    if (model && model.value) params.set("model", model.value);
    if (inSample && inSample.checked) params.set("in_sample", "on");
    delete container.dataset.points;
    try {
      const data = await F.getJSON(`${container.dataset.url}?${params}`);
      if (!data.time.length) {
        if (chart) { chart.dispose(); chart = null; }
        F.empty(container, "This model stored no out-of-sample regime calls.");
        return;
      }
      draw(container, data);
    } catch (error) {
      F.empty(container, "The chart could not load.");
      console.error(error);
    }
  }

  function init() {
    const container = document.querySelector('[data-chart="regimes"]');
    if (!container) return;
    for (const control of document.querySelectorAll("[data-regime-model], [data-regime-in-sample]")) {
      control.addEventListener("change", () => load(container));
    }
    window.addEventListener("resize", () => chart && chart.resize());
    load(container);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
