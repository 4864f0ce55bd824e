// Search results for what was typed in the top bar: people (for free text) and
// posts, newest first, with a button for more. Everything found is shown as text.

import { get, path, segment } from "../api.js";
import { attempt, fill, h, when } from "../dom.js";

export function render(main, [query]) {
  document.title = `${query} · Search · Relay`;
  const people = h("ul", { class: "people", "aria-label": "People" });
  const posts = h("ul", { class: "hits", "aria-label": "Posts" });
  const none = h("p", { class: "muted", hidden: true }, "No posts found.");
  const more = h("button", { type: "button", hidden: true }, "More posts");
  let cursor = null;

  async function page(first) {
    const answer = await get(path("/api/search", { q: query, type: "posts", cursor: first ? null : cursor }));
    for (const hit of answer.items) posts.append(h("li", { class: "hit" }, h("span", { class: "content" }, hit.content), " ", when(hit.createdAt)));
    cursor = answer.nextCursor;
    more.hidden = !cursor;
    none.hidden = posts.children.length > 0;
  }

  async function users() {
    const answer = await get(path("/api/search", { q: query, type: "users" }));
    for (const hit of answer.items)
      people.append(h("li", {}, h("a", { href: `#/users/${segment(hit.handle)}` }, hit.displayName || hit.handle, " ", h("span", { class: "muted" }, `@${hit.handle}`))));
    peopleSection.hidden = people.children.length === 0;
  }

  more.addEventListener("click", () => attempt(() => page(false), more));
  const peopleSection = h("section", { class: "card", "aria-label": "People found", hidden: true }, h("h2", {}, "People"), people);
  fill(
    main,
    h("h1", { class: "search-title" }, "Results for ", h("q", {}, query)),
    peopleSection,
    h("section", { class: "card", "aria-label": "Posts found" }, h("h2", {}, "Posts"), none, posts, more),
  );
  attempt(() => page(true));
  if (!query.startsWith("#")) attempt(users);
}
