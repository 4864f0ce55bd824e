// Charts as inline SVG built node by node (labels are text nodes): a column chart of
// clicks per day and horizontal bars for shares (referrers, countries, devices). Each
// has a summary for screen readers and a <title> per mark for pointer hover.

import { h, s } from "./dom.js";

const W = 320;

function summary(pairs) {
  return pairs.map(([k, v]) => `${k}: ${v}`).join(", ") || "no clicks yet";
}

/** Clicks per day: every day from the first to the last, zeros included. */
export function daily(title, counts) {
  const days = Object.keys(counts).sort();
  const filled = [];
  if (days.length) {
    const end = new Date(days[days.length - 1] + "T00:00:00Z");
    const start = new Date(Math.min(new Date(days[0] + "T00:00:00Z").getTime(), end.getTime() - 13 * 86_400_000));
    for (let d = start; d <= end && filled.length < 366; d.setUTCDate(d.getUTCDate() + 1)) {
      const key = d.toISOString().slice(0, 10);
      filled.push([key, counts[key] || 0]);
    }
  }
  const H = 140;
  const pad = { top: 10, bottom: 24, left: 28 };
  const peak = Math.max(1, ...filled.map(([, v]) => v));
  const step = filled.length ? (W - pad.left) / filled.length : 0;
  const marks = filled.map(([day, value], i) => {
    const height = ((H - pad.top - pad.bottom) * value) / peak;
    return s(
      "rect",
      { x: pad.left + i * step + 1, y: H - pad.bottom - height, width: Math.max(1, step - 2), height, class: "mark" },
      s("title", {}, `${day}: ${value}`),
    );
  });
  const axis = [
    s("text", { x: pad.left - 4, y: pad.top + 4, "text-anchor": "end", class: "tick" }, String(peak)),
    s("text", { x: pad.left - 4, y: H - pad.bottom, "text-anchor": "end", class: "tick" }, "0"),
    s("line", { x1: pad.left, x2: W, y1: H - pad.bottom, y2: H - pad.bottom, class: "axis" }),
  ];
  if (filled.length) {
    axis.push(s("text", { x: pad.left, y: H - 6, class: "tick" }, filled[0][0]));
    if (filled.length > 1) axis.push(s("text", { x: W, y: H - 6, "text-anchor": "end", class: "tick" }, filled[filled.length - 1][0]));
  }
  return figure(title, filled, s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${summary(filled)}` }, axis, marks));
}

/** Shares of a whole, largest first ("other" last), as labelled horizontal bars. */
export function bars(title, counts) {
  const pairs = Object.entries(counts).sort(([a, x], [b, y]) => (a === "other") - (b === "other") || y - x || a.localeCompare(b));
  const rowH = 22;
  const H = Math.max(rowH, pairs.length * rowH);
  const peak = Math.max(1, ...pairs.map(([, v]) => v));
  const labelW = 110;
  const rows = pairs.map(([key, value], i) => {
    const width = ((W - labelW - 40) * value) / peak;
    const y = i * rowH;
    return s(
      "g",
      {},
      s("title", {}, `${key}: ${value}`),
      s("text", { x: labelW - 6, y: y + 15, "text-anchor": "end", class: "label" }, key.length > 16 ? key.slice(0, 15) + "…" : key),
      s("rect", { x: labelW, y: y + 4, width: Math.max(1, width), height: rowH - 8, class: "mark" }),
      s("text", { x: labelW + width + 4, y: y + 15, class: "tick" }, String(value)),
    );
  });
  return figure(title, pairs, s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${summary(pairs)}` }, rows));
}

function figure(title, pairs, svg) {
  return h("figure", { class: "chart" }, h("figcaption", {}, title), pairs.length ? svg : h("p", { class: "muted" }, "No clicks yet."));
}
