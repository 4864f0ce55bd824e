// The shortener: shorten, the caller's links (paged), copy, delete, and a way to each
// link's analytics.

import { api, get, path, segment } from "../api.js";
import { attempt, field, fill, h, say, when } from "../dom.js";

function row(link, list) {
  const copy = h("button", { type: "button", "aria-label": `Copy ${link.shortUrl}` }, "Copy");
  const remove = h("button", { type: "button", class: "danger", "aria-label": `Delete ${link.code}` }, "Delete");
  const item = h(
    "li",
    { class: "link" },
    h("a", { class: "short", href: link.shortUrl, target: "_blank", rel: "noopener noreferrer" }, link.shortUrl),
    h("span", { class: "long" }, link.longUrl),
    h("span", { class: "muted" }, "made ", when(link.createdAt), link.expiresAt ? ` · expires ${new Date(link.expiresAt).toLocaleString()}` : "", ` · ${link.redirectType}`),
    h("div", { class: "row" }, copy, h("a", { class: "button", href: `#/links/${segment(link.code)}` }, "Analytics"), remove),
  );
  copy.addEventListener("click", () =>
    attempt(async () => {
      await navigator.clipboard.writeText(link.shortUrl);
      say(`Copied ${link.shortUrl}`);
    }),
  );
  remove.addEventListener("click", () =>
    attempt(async () => {
      if (!confirm(`Delete ${link.shortUrl}? It will stop redirecting.`)) return;
      await api("DELETE", `/api/links/${segment(link.code)}`);
      item.remove();
      say(`Deleted ${link.code}.`);
      if (!list.children.length) list.append(empty());
    }, remove),
  );
  return item;
}

const empty = () => h("li", { class: "muted empty" }, "No links yet.");

export function render(main) {
  document.title = "Links · Relay";
  const longUrl = h("input", { type: "url", name: "longUrl", required: true, maxlength: 2048, placeholder: "https://" });
  const custom = h("input", { type: "text", name: "customCode", pattern: "[A-Za-z0-9_-]{4,32}", spellcheck: "false" });
  const expires = h("input", { type: "datetime-local", name: "expiresAt" });
  const temporary = h("input", { type: "checkbox", name: "redirectType" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "links-title" },
    h("h1", { id: "links-title" }, "Short links"),
    field("Long URL", longUrl),
    h(
      "details",
      {},
      h("summary", {}, "Options"),
      field("Custom code", custom, "4 to 32 of A-Z, a-z, 0-9, _ and -."),
      field("Expires", expires),
      h("div", { class: "check" }, temporary, h("label", { for: (temporary.id = "f-302") }, "Temporary redirect (302)")),
    ),
    h("button", { type: "submit", class: "primary" }, "Shorten"),
  );
  const list = h("ul", { class: "links", "aria-label": "Your links" });
  const more = h("button", { type: "button", hidden: true }, "More links");
  let cursor = null;

  async function page(first) {
    const answer = await get(path("/api/links", { limit: 20, cursor: first ? null : cursor }));
    if (first) fill(list);
    for (const link of answer.items) list.append(row(link, list));
    if (first && !answer.items.length) list.append(empty());
    cursor = answer.nextCursor;
    more.hidden = !cursor;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const body = { longUrl: longUrl.value.trim() };
      if (custom.value.trim()) body.customCode = custom.value.trim();
      if (expires.value) body.expiresAt = new Date(expires.value).toISOString();
      if (temporary.checked) body.redirectType = 302;
      const link = await api("POST", "/api/shorten", body);
      say(`Short link ready: ${link.shortUrl}`);
      form.reset();
      await page(true);
    }, form.querySelector("button[type=submit]"));
  });
  more.addEventListener("click", () => attempt(() => page(false), more));
  fill(main, form, h("section", { class: "card" }, h("h2", {}, "Your links"), list, more));
  attempt(() => page(true));
}
