// The top bar's Search field as a combobox: suggestions from /api/suggest as one
// types (debounced), in a listbox driven by ArrowUp, ArrowDown, Enter and Escape
// (aria-activedescendant names the current option; focus stays in the field).
// A person opens their profile; a hashtag or free text opens the search screen;
// "@handle" typed and submitted opens that profile.

import { get, path, segment } from "./api.js";
import { fill, h } from "./dom.js";

const DEBOUNCE_MS = 150;
const LIMIT = 8;

/** Where a suggestion leads. */
function target(suggestion) {
  if (suggestion.kind === "user") return `#/users/${segment(suggestion.text.replace(/^@/, ""))}`;
  if (suggestion.kind === "hashtag") return `#/search/${segment("#" + suggestion.text.replace(/^#/, ""))}`;
  return `#/search/${segment(suggestion.text)}`;
}

function label(suggestion) {
  if (suggestion.kind === "user") {
    const handle = `@${suggestion.text.replace(/^@/, "")}`;
    return [suggestion.displayName ? h("span", { class: "name" }, suggestion.displayName) : null, h("span", { class: "muted" }, handle)];
  }
  if (suggestion.kind === "hashtag") return [h("span", {}, `#${suggestion.text.replace(/^#/, "")}`)];
  return [h("span", {}, h("span", { class: "muted" }, "Search: "), suggestion.text)];
}

export function wireSearch(form, input) {
  const list = h("ul", { id: "search-options", role: "listbox", "aria-label": "Suggestions", class: "suggestions", hidden: true });
  form.append(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  let items = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  function close() {
    clearTimeout(timer);
    asked += 1; // an answer still on its way is not shown
    items = [];
    active = -1;
    fill(list);
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function mark(index) {
    active = index;
    list.querySelectorAll("[role=option]").forEach((option, at) => option.setAttribute("aria-selected", String(at === index)));
    if (index >= 0) {
      const option = list.children[index];
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  }

  function go(hash) {
    close();
    input.value = "";
    input.blur();
    location.hash = hash;
  }

  function show(found) {
    items = found;
    active = -1;
    fill(
      list,
      found.map((suggestion, at) =>
        h("li", { id: `search-option-${at}`, role: "option", "aria-selected": "false", class: `option ${suggestion.kind}`, onmousedown: (event) => event.preventDefault(), onclick: () => go(target(suggestion)) }, label(suggestion)),
      ),
    );
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", String(found.length > 0));
    input.removeAttribute("aria-activedescendant");
  }

  async function suggest(text) {
    const mine = ++asked;
    try {
      const answer = await get(path("/api/suggest", { q: text, limit: LIMIT }));
      if (mine === asked && input.value.trim() === text) show(answer.items || []);
    } catch {
      if (mine === asked) close(); // suggestions are a help: a refusal only hides them
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) return close();
    timer = setTimeout(() => suggest(text), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!items.length) return;
      event.preventDefault();
      if (event.key === "ArrowDown") mark(active + 1 >= items.length ? 0 : active + 1);
      else mark(active <= 0 ? items.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      go(target(items[active]));
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        close();
      } else input.value = "";
    }
  });
  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement !== input) close();
  }, 0));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (/^@\w+$/.test(text)) go(`#/users/${segment(text.slice(1))}`);
    else go(`#/search/${segment(text)}`);
  });
}
