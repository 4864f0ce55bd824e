// The home timeline: compose (text and media links), then the feed with infinite scroll.

import { api, path } from "../api.js";
import { attempt, field, fill, h, onVisible, say } from "../dom.js";
import { timeline } from "../posts.js";

export function render(main) {
  document.title = "Feed · Relay";
  const content = h("textarea", { name: "content", rows: 3, maxlength: 2000, required: true });
  const mediaUrl = h("input", { type: "text", inputmode: "url", name: "mediaUrl", placeholder: "https://…/picture.jpg", spellcheck: "false" });
  const post = h("button", { type: "submit", class: "primary" }, "Post");
  const form = h(
    "form",
    { class: "card compose", "aria-labelledby": "compose-title" },
    h("h1", { id: "compose-title" }, "Home"),
    field("New post", content),
    field("Media URL", mediaUrl, "Optional: a link to an image or video (up to 4, separated by spaces)."),
    post,
  );
  const feed = timeline((cursor) => path("/api/feed", { limit: 20, cursor }), "Your feed");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const body = { content: content.value };
      const urls = mediaUrl.value.split(/\s+/).filter(Boolean);
      if (urls.length) body.mediaUrls = urls;
      const made = await api("POST", "/api/posts", body);
      feed.prepend(made);
      form.reset();
      say("Posted.");
    }, post);
  });
  const refresh = h("button", { type: "button" }, "Refresh");
  refresh.addEventListener("click", () => attempt(() => feed.load(true), refresh));
  fill(main, form, h("section", { class: "card", "aria-label": "Timeline" }, h("div", { class: "row" }, h("h2", {}, "Timeline"), refresh), feed.node));
  const observer = onVisible(feed.sentinel, () => attempt(() => feed.load()));
  attempt(() => feed.load(true));
  return () => observer.disconnect();
}
