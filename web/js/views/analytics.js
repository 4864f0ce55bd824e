// One link's clicks as charts: per day, referrers, countries, devices.

import { get, segment } from "../api.js";
import { attempt, fill, h } from "../dom.js";
import { bars, daily } from "../chart.js";

export function render(main, [code]) {
  document.title = `Analytics for ${code} · Relay`;
  const refresh = h("button", { type: "button" }, "Refresh");
  const body = h("div", { class: "charts" }, h("p", { class: "muted" }, "Loading…"));
  const total = h("p", { class: "total" });
  const longUrl = h("p", { class: "long" });
  async function load() {
    const stats = await get(`/api/analytics/${segment(code)}`);
    longUrl.textContent = stats.longUrl;
    total.textContent = `${stats.clicks} ${stats.clicks === 1 ? "click" : "clicks"}`;
    fill(
      body,
      daily("Clicks per day", stats.daily),
      bars("Referrers", stats.referrers),
      bars("Countries", stats.countries),
      bars("Devices", stats.devices),
    );
  }
  refresh.addEventListener("click", () => attempt(load, refresh));
  fill(
    main,
    h(
      "section",
      { class: "card", "aria-labelledby": "analytics-title" },
      h("p", {}, h("a", { href: "#/links" }, "← Links")),
      h("h1", { id: "analytics-title" }, "Analytics for ", h("code", {}, code)),
      longUrl,
      total,
      refresh,
      body,
    ),
  );
  attempt(load);
}
