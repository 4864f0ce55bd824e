// A post as the feed and profiles show it: author, text, media, and its like,
// comment and share controls (the counts are the API's, updated from its answers).

import { api, get, path, segment } from "./api.js";
import { attempt, field, fill, h, say, when } from "./dom.js";

const IMAGE = /\.(png|jpe?g|gif|webp|avif)(\?|#|$)/i;
const VIDEO = /\.(mp4|webm|mov)(\?|#|$)/i;

function media(url) {
  let safe;
  try {
    safe = new URL(url);
  } catch {
    return null;
  }
  if (safe.protocol !== "https:" && safe.protocol !== "http:") return null; // never javascript: or data:
  if (IMAGE.test(safe.pathname)) return h("img", { src: safe.href, alt: "Image in the post", loading: "lazy", referrerpolicy: "no-referrer" });
  if (VIDEO.test(safe.pathname)) return h("video", { src: safe.href, controls: true, preload: "none" });
  return h("a", { href: safe.href, target: "_blank", rel: "noopener noreferrer nofollow" }, safe.href);
}

function comments(post, count) {
  const list = h("ul", { class: "comments", "aria-label": "Comments" });
  const input = h("textarea", { name: "comment", rows: 1, maxlength: 1000, required: true });
  const form = h("form", { class: "comment-form" }, field("Comment", input), h("button", { type: "submit" }, "Reply"));
  const more = h("button", { type: "button", hidden: true }, "More comments");
  let cursor = null;
  const show = (c) => h("li", {}, h("a", { href: `#/users/${segment(c.authorHandle || "")}`, class: "who" }, c.authorHandle ? `@${c.authorHandle}` : "(deleted)"), " ", h("span", { class: "content" }, c.content), " ", when(c.createdAt));
  async function page(first) {
    const answer = await get(path(`/api/posts/${segment(post.postId)}/comments`, { limit: 20, cursor: first ? null : cursor }));
    if (first) fill(list);
    for (const c of answer.items) list.append(show(c));
    cursor = answer.nextCursor;
    more.hidden = !cursor;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const comment = await api("POST", `/api/posts/${segment(post.postId)}/comments`, { content: input.value });
      list.append(show(comment));
      input.value = "";
      post.comments += 1;
      count();
    }, form.querySelector("button"));
  });
  more.addEventListener("click", () => attempt(() => page(false), more));
  attempt(() => page(true));
  return h("div", { class: "comment-box" }, list, more, form);
}

/** The article for one post; `onShared(post)` gets the share the API made. */
export function postView(post, { onShared } = {}) {
  const likes = h("span", { class: "count likes" });
  const commentCount = h("span", { class: "count comments-count" });
  const shares = h("span", { class: "count shares" });
  const like = h("button", { type: "button", class: "like" }, "Like");
  const comment = h("button", { type: "button", "aria-expanded": "false" }, "Comments");
  const share = h("button", { type: "button" }, "Share");
  const counts = () => {
    likes.textContent = `${post.likes} ${post.likes === 1 ? "like" : "likes"}`;
    commentCount.textContent = `${post.comments} ${post.comments === 1 ? "comment" : "comments"}`;
    shares.textContent = `${post.shares} ${post.shares === 1 ? "share" : "shares"}`;
    like.setAttribute("aria-pressed", String(Boolean(post.likedByMe)));
  };
  counts();
  const author = post.authorHandle;
  const article = h(
    "article",
    { class: "post", "aria-label": `Post by ${author || "a deleted account"}`, dataset: { postId: post.postId } },
    h("header", {}, author ? h("a", { href: `#/users/${segment(author)}`, class: "who" }, `@${author}`) : h("span", { class: "who" }, "(deleted)"), " ", when(post.createdAt), post.sharedFrom ? h("span", { class: "muted" }, " · shared") : null),
    h("p", { class: "content" }, post.content),
    (post.mediaUrls || []).length ? h("div", { class: "media" }, post.mediaUrls.map(media)) : null,
    h("footer", { class: "row" }, like, likes, comment, commentCount, share, shares),
  );
  let box = null;
  like.addEventListener("click", () =>
    attempt(async () => {
      const liked = !post.likedByMe;
      const answer = await api(liked ? "POST" : "DELETE", `/api/posts/${segment(post.postId)}/like`);
      if (answer && typeof answer.likes === "number") post.likes = answer.likes;
      else post.likes += liked ? 1 : -1;
      post.likedByMe = liked;
      counts();
    }, like),
  );
  comment.addEventListener("click", () => {
    const open = comment.getAttribute("aria-expanded") !== "true";
    comment.setAttribute("aria-expanded", String(open));
    if (open && !box) {
      box = comments(post, counts);
      article.append(box);
    } else if (box) box.hidden = !open;
    if (open) box.querySelector("textarea").focus();
  });
  share.addEventListener("click", () =>
    attempt(async () => {
      const made = await api("POST", `/api/posts/${segment(post.postId)}/share`);
      post.shares += 1;
      counts();
      say("Shared to your followers.");
      if (onShared && made) onShared(made);
    }, share),
  );
  return article;
}

/** A paged list of posts with infinite scroll and a button for keyboards. */
export function timeline(source, label) {
  const list = h("div", { class: "timeline", role: "feed", "aria-label": label, "aria-busy": "false" });
  const more = h("button", { type: "button", class: "more" }, "More posts");
  const end = h("p", { class: "muted", hidden: true }, "You are all caught up.");
  const seen = new Set();
  let cursor = null;
  let done = false;
  let busy = false;
  async function load(first = false) {
    if (busy || (done && !first)) return;
    busy = true;
    list.setAttribute("aria-busy", "true");
    try {
      if (first) {
        cursor = null;
        done = false;
        seen.clear();
        fill(list);
      }
      const page = await get(source(cursor));
      for (const post of page.items) {
        if (seen.has(post.postId)) continue;
        seen.add(post.postId);
        list.append(postView(post, { onShared: (made) => prepend(made) }));
      }
      cursor = page.nextCursor;
      done = !cursor;
      more.hidden = done;
      end.hidden = !done || !list.children.length;
      if (first && !list.children.length) list.append(h("p", { class: "muted empty" }, "Nothing here yet."));
    } finally {
      busy = false;
      list.setAttribute("aria-busy", "false");
    }
  }
  function prepend(post) {
    if (seen.has(post.postId)) return;
    seen.add(post.postId);
    list.querySelector(".empty")?.remove();
    list.prepend(postView(post, { onShared: (made) => prepend(made) }));
  }
  more.addEventListener("click", () => attempt(() => load(), more));
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  const node = h("div", {}, list, more, end, sentinel);
  return { node, load, prepend, sentinel };
}
