/* Number formatting of the charts, the same rules as cryptopredict/formatting.py:
   thousands separators, no trailing zeros, at least 4 significant digits for tiny values. */
(function () {
  "use strict";

  function places(value, decimals, significant) {
    if (!value) return decimals;
    const exponent = Math.floor(Math.log10(Math.abs(value)));
    return Math.min(20, Math.max(decimals, significant - 1 - exponent));
  }

  function number(value, decimals = 2, significant = 4) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    const digits = places(value, decimals, significant);
    return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }

  function percent(value, fraction = false, decimals = 2) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    return number(fraction ? value * 100 : value, decimals, 2) + "%";
  }

  function multiple(value) {
    if (value === null || value === undefined || !isFinite(value)) return "—";
    return number(value, 2, 2) + "x";
  }

  // Precision of a price axis: enough decimals for the smallest price of the series.
  function pricePrecision(values) {
    const positive = values.filter((v) => v > 0);
    if (!positive.length) return 2;
    return places(Math.min(...positive), 2, 4);
  }

  function utc(seconds, withTime = true) {
    const iso = new Date(seconds * 1000).toISOString();
    return withTime ? iso.slice(0, 16).replace("T", " ") + " UTC" : iso.slice(0, 10);
  }

  // Fetch JSON with the session cookie; throw with the server's message on failure.
  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    return response.json();
  }

  function empty(container, message) {
    container.innerHTML = "";
    const note = document.createElement("p");
    note.className = "chart-empty";
    note.textContent = message;
    container.appendChild(note);
    container.dataset.points = "0";
  }

  const dark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
    && document.documentElement.dataset.theme !== "light" || document.documentElement.dataset.theme === "dark";

  window.CPCharts = { number, percent, multiple, pricePrecision, utc, getJSON, empty, dark };
})();
