// The inbox: what others did ("alice and 12 others liked your post"), newest first,
// as text; opening the screen marks everything read, and what arrives while it is
// open is shown at the top and marked read too.

import { api, get, path, segment } from "../api.js";
import { attempt, fill, h, onVisible, when } from "../dom.js";
import { inbox } from "../notifications.js";

function link(notification) {
  const [kind, id] = (notification.subject || "").split(":");
  if (kind === "conversation" && id) return `#/chat/${segment(id)}`;
  const actor = (notification.actors || [])[0];
  if (notification.category === "follow" && actor && actor.handle) return `#/users/${segment(actor.handle)}`;
  return null;
}

function item(notification) {
  const target = link(notification);
  const text = target ? h("a", { href: target }, notification.text) : h("span", {}, notification.text);
  return h("li", { class: notification.read ? "read" : "unread", dataset: { id: notification.notificationId } }, text, " ", when(notification.updatedAt || notification.createdAt));
}

export function render(main) {
  document.title = "Notifications · Relay";
  const list = h("ul", { class: "notifications", "aria-label": "Notifications" });
  const empty = h("p", { class: "muted", hidden: true }, "Nothing yet.");
  const more = h("button", { type: "button", hidden: true }, "More notifications");
  const sentinel = h("div", { class: "sentinel" });
  let cursor = null;
  let loading = false;

  function show(notification, first) {
    const old = list.querySelector(`li[data-id="${CSS.escape(notification.notificationId)}"]`);
    if (old) old.remove();
    if (first) list.prepend(item(notification));
    else list.append(item(notification));
    empty.hidden = true;
  }

  async function page(first) {
    if (loading || (!first && !cursor)) return;
    loading = true;
    try {
      const answer = await get(path("/api/notifications", { limit: 20, cursor: first ? null : cursor }));
      if (first) fill(list);
      for (const notification of answer.items) show(notification, false);
      cursor = answer.nextCursor;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
      if (first && answer.unread > 0) inbox.set((await api("POST", "/api/notifications/read", {})).unread ?? 0);
    } finally {
      loading = false;
    }
  }

  const arrived = (event) =>
    attempt(async () => {
      const notification = event.detail;
      show({ ...notification, read: true }, true);
      if (!notification.read) {
        const answer = await api("POST", "/api/notifications/read", { notificationIds: [notification.notificationId] });
        inbox.set(answer.unread ?? 0);
      }
    });
  inbox.addEventListener("notification", arrived);
  more.addEventListener("click", () => attempt(() => page(false), more));
  fill(main, h("section", { class: "card", "aria-labelledby": "notifications-title" }, h("h1", { id: "notifications-title" }, "Notifications"), empty, list, more, sentinel));
  const observer = onVisible(sentinel, () => attempt(() => page(false)));
  attempt(() => page(true));
  return () => {
    observer.disconnect();
    inbox.removeEventListener("notification", arrived);
  };
}
