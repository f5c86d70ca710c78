/* Usage charts drawn as inline SVG: quota per day of a period stacked by model, and totals
   per model.
   The theme picks the style (body[data-chart-style] = "bars" or "area") and the colours
   (CSS custom properties --chart-1 … --chart-6). */
(() => {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  function node(name, attrs, text) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function palette() {
    const style = getComputedStyle(document.body);
    const colours = [];
    for (let i = 1; i <= 6; i += 1) colours.push(style.getPropertyValue(`--chart-${i}`).trim() || "#888");
    return colours;
  }

  function legend(models, colours) {
    const list = document.createElement("ul");
    list.className = "chart-legend";
    models.forEach((model, index) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colours[index % colours.length];
      item.append(swatch, document.createTextNode(model));
      list.append(item);
    });
    return list;
  }

  function empty(element, message) {
    element.replaceChildren();
    const text = document.createElement("p");
    text.className = "muted chart-empty";
    text.textContent = message;
    element.append(text);
  }

  /* The last n UTC days as YYYY-MM-DD, the form the dashboard API reports days in. */
  function lastDays(n) {
    const today = Date.now();
    return Array.from({length: n}, (_, i) => new Date(today - i * 86400000).toISOString().slice(0, 10));
  }

  /* rows: [{day, model, quota, requests}] ; format: quota -> label ; period: the days to draw
     (YYYY-MM-DD, oldest first), the last 7 when not given */
  function daily(element, rows, format, period) {
    if (!rows.length) return empty(element, "No usage in this period.");
    const style = document.body.dataset.chartStyle || "bars";
    const days = period && period.length ? period : lastDays(7).sort();
    const models = [...new Set(rows.map((row) => row.model))].sort();
    const colours = palette();
    const value = (day, model) => rows.filter((row) => row.day === day && row.model === model)
      .reduce((sum, row) => sum + row.quota, 0);
    const totals = days.map((day) => models.reduce((sum, model) => sum + value(day, model), 0));
    const max = Math.max(...totals, 1);
    const width = 640, height = 270, left = 78, bottom = 30, top = 12, right = 12;
    const plotW = width - left - right, plotH = height - top - bottom;
    const svg = node("svg", {viewBox: `0 0 ${width} ${height}`, class: `chart-svg chart-${style}`,
      preserveAspectRatio: "xMidYMid meet"});
    for (let i = 0; i <= 4; i += 1) {
      const y = top + plotH - (plotH * i) / 4;
      svg.append(node("line", {x1: left, x2: width - right, y1: y, y2: y, class: "grid"}));
      svg.append(node("text", {x: left - 6, y: y + 4, "text-anchor": "end", class: "axis"}, format((max * i) / 4)));
    }
    const step = plotW / days.length;
    const every = Math.ceil(days.length / 10);  // at most ten day labels
    days.forEach((day, index) => {
      if ((days.length - 1 - index) % every) return;  // counted back from the last day, always shown
      svg.append(node("text", {x: left + step * index + step / 2, y: height - 10, "text-anchor": "middle",
        class: "axis"}, day.slice(5)));
    });
    if (style === "area") {
      const base = days.map(() => 0);
      models.forEach((model, m) => {
        const upper = days.map((day, index) => base[index] + value(day, model));
        const x = (index) => left + step * index + step / 2;
        const y = (v) => top + plotH - (plotH * v) / max;
        const line = upper.map((v, index) => `${x(index)},${y(v)}`).join(" ");
        const back = base.map((v, index) => `${x(index)},${y(v)}`).reverse().join(" ");
        svg.append(node("polygon", {points: `${line} ${back}`, fill: colours[m % colours.length], "fill-opacity": 0.35}));
        svg.append(node("polyline", {points: line, fill: "none", stroke: colours[m % colours.length], "stroke-width": 2.5}));
        upper.forEach((v, index) => { base[index] = v; });
      });
    } else {
      const barW = Math.min(48, step * 0.6);
      days.forEach((day, index) => {
        let stacked = 0;
        models.forEach((model, m) => {
          const v = value(day, model);
          if (!v) return;
          const h = (plotH * v) / max;
          const rect = node("rect", {x: left + step * index + (step - barW) / 2, y: top + plotH - stacked - h,
            width: barW, height: Math.max(h, 1), fill: colours[m % colours.length], rx: style === "bars" ? 1 : 4});
          rect.append(node("title", {}, `${day} · ${model}: ${format(v)}`));
          svg.append(rect);
          stacked += h;
        });
      });
    }
    element.replaceChildren(svg, legend(models, colours));
    element.setAttribute("aria-label", `Quota per day for ${models.join(", ")}`);
  }

  /* rows: [{model, quota, requests}] summed per model, drawn as horizontal bars. */
  function perModel(element, rows, format) {
    if (!rows.length) return empty(element, "No model has been used yet.");
    const totals = new Map();
    for (const row of rows) {
      const entry = totals.get(row.model) || {quota: 0, requests: 0};
      entry.quota += row.quota;
      entry.requests += row.requests;
      totals.set(row.model, entry);
    }
    const entries = [...totals.entries()].sort((a, b) => b[1].requests - a[1].requests);
    const colours = palette();
    const max = Math.max(...entries.map(([, entry]) => entry.requests), 1);
    const list = document.createElement("ul");
    list.className = "model-bars";
    entries.forEach(([model, entry], index) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.className = "model-name";
      label.textContent = model;
      const figures = document.createElement("span");
      figures.className = "model-figures";
      figures.textContent = `${entry.requests} request${entry.requests === 1 ? "" : "s"} · ${format(entry.quota)}`;
      const bar = document.createElement("span");
      bar.className = "model-bar";
      const fill = document.createElement("span");
      fill.style.width = `${Math.max(2, (100 * entry.requests) / max)}%`;
      fill.style.background = colours[index % colours.length];
      bar.append(fill);
      item.append(label, figures, bar);
      list.append(item);
    });
    element.replaceChildren(list);
    element.setAttribute("aria-label", `Requests per model: ${entries.map(([model]) => model).join(", ")}`);
  }

  window.OneApiChart = {daily, perModel};
})();
