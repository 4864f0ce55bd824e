// Chat: the conversation list (unread counts, presence) and the message pane (history
// loaded as you scroll up, send, typing, read receipts, attachments with previews).
// Frames come from the shared socket; a reconnect's `sync` refills what was missed.

import { api, get, path, segment, upload } from "../api.js";
import { attempt, field, fill, h, say, when } from "../dom.js";
import { chats } from "../chats.js";
import { socket } from "../socket.js";

const TYPING_EVERY_MS = 3_000;
const TYPING_SHOWN_MS = 5_000;
const PAGE = 30;
const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,audio/mpeg,video/mp4,text/plain";
const previews = new Map(); // attachmentId -> object URL of the file this browser sent

function title(conversation, me) {
  if (conversation.name) return conversation.name;
  const others = conversation.members.filter((m) => m.userId !== me.userId).map((m) => m.handle || "(deleted)");
  return others.join(", ") || "Just you";
}

function list(app) {
  const items = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const draw = () => {
    fill(items);
    for (const c of chats.list) {
      const online = chats.online(c, app.me);
      const unread = c.unread
        ? h("span", { class: "badge", "aria-label": `${c.unread} unread` }, String(c.unread))
        : null;
      items.append(
        h(
          "li",
          {},
          h(
            "a",
            {
              href: `#/chat/${segment(c.conversationId)}`,
              "aria-current": chats.open === c.conversationId ? "page" : null,
              "aria-label": [title(c, app.me), c.unread ? `${c.unread} unread` : "", online ? "online" : ""].filter(Boolean).join(", "),
            },
            h("span", { class: online ? "dot on" : "dot", role: "img", "aria-label": online ? "online" : "offline" }),
            h("span", { class: "name" }, title(c, app.me)),
            unread,
          ),
        ),
      );
    }
    if (!chats.list.length) items.append(h("li", { class: "muted empty" }, "No conversations yet."));
  };
  chats.addEventListener("change", draw);
  draw();
  const handles = h("input", { type: "text", name: "members", required: true, spellcheck: "false", autocapitalize: "none" });
  const name = h("input", { type: "text", name: "name", maxlength: 100 });
  const start = h(
    "form",
    { class: "new-conversation" },
    field("Handles", handles, "One handle for a conversation of two; several, with a name, for a group."),
    field("Group name", name),
    h("button", { type: "submit" }, "Start"),
  );
  start.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const members = handles.value.split(/[\s,]+/).map((x) => x.replace(/^@/, "")).filter(Boolean);
      const body = { members };
      if (name.value.trim()) body.name = name.value.trim();
      const conversation = await api("POST", "/api/conversations", body);
      chats.remember(conversation);
      start.reset();
      location.hash = `#/chat/${segment(conversation.conversationId)}`;
    }, start.querySelector("button"));
  });
  const aside = h("aside", { class: "card list", "aria-labelledby": "chat-title" }, h("h1", { id: "chat-title" }, "Chat"), items, h("details", {}, h("summary", {}, "New conversation"), start));
  return { node: aside, stop: () => chats.removeEventListener("change", draw) };
}

function attachmentView(id) {
  const url = previews.get(id);
  if (url) return h("img", { class: "preview", src: url, alt: "Attachment you sent" });
  return h("span", { class: "chip" }, "Attachment ", h("code", {}, id.slice(0, 12)));
}

function pane(app, conversationId) {
  const conversation = chats.find(conversationId);
  const me = app.me;
  const handles = new Map((conversation ? conversation.members : []).map((m) => [m.userId, m.handle]));
  const shown = new Map(); // seq -> li
  const waiting = new Map(); // clientMessageId -> li
  let readUpTo = 0; // the highest seq another member has read
  let before = null;
  let oldest = false;
  let loading = false;

  const log = h("ol", { class: "messages", role: "log", "aria-label": "Messages", tabindex: "0" });
  const earlier = h("button", { type: "button", class: "earlier" }, "Load earlier messages");
  const scroller = h("div", { class: "scroller" }, earlier, log);
  const typing = h("p", { class: "typing muted", "aria-live": "polite" });
  const connection = h("p", { class: "connection muted", role: "status" });
  const text = h("textarea", { name: "message", rows: 2, maxlength: 4000 });
  const files = h("input", { type: "file", name: "files", multiple: true, accept: ACCEPT });
  const picked = h("ul", { class: "picked", "aria-label": "Files to send" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const form = h("form", { class: "composer" }, field("Message", text), field("Attach files", files), picked, send);

  function status(li, seq) {
    const mark = li.querySelector(".receipt");
    if (!mark) return;
    mark.textContent = seq === null ? "Sending…" : seq <= readUpTo ? "Read" : "Sent";
  }

  function item(message, mine) {
    const li = h(
      "li",
      { class: mine ? "mine" : "theirs", dataset: { seq: message.seq ?? "" } },
      h("span", { class: "who" }, mine ? "You" : message.senderHandle || handles.get(message.senderId) || "(deleted)"),
      h("p", { class: "content" }, message.content),
      (message.attachments || []).length ? h("div", { class: "attachments" }, message.attachments.map(attachmentView)) : null,
      h("span", { class: "meta muted" }, when(message.timestamp || new Date().toISOString()), mine ? h("span", { class: "receipt" }) : null),
    );
    if (mine) status(li, message.seq ?? null);
    return li;
  }

  function place(li, seq) {
    shown.set(seq, li);
    const after = [...log.children].find((other) => Number(other.dataset.seq) > seq);
    log.insertBefore(li, after || null);
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  }

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const last = Math.max(0, ...shown.keys());
      if (last > 0 && document.visibilityState === "visible") {
        socket.read(conversationId, last);
        chats.markRead(conversationId);
      }
    }, 250);
  }

  async function history() {
    if (loading || oldest) return;
    loading = true;
    try {
      const page = await get(path(`/api/conversations/${segment(conversationId)}/messages`, { limit: PAGE, before }));
      const height = scroller.scrollHeight;
      const first = before === null;
      for (const message of page.items) if (!shown.has(message.seq)) place(item(message, message.senderId === me.userId), message.seq);
      before = page.nextCursor;
      oldest = !page.nextCursor;
      earlier.hidden = oldest;
      if (first) {
        toBottom();
        markRead();
      } else scroller.scrollTop += scroller.scrollHeight - height; // keep the reader's place
    } finally {
      loading = false;
    }
  }

  const handlers = {
    message(frame) {
      if (frame.conversationId !== conversationId || shown.has(frame.seq)) return;
      const follow = atBottom();
      place(item(frame, frame.senderId === me.userId), frame.seq);
      typing.textContent = "";
      if (follow) toBottom();
      markRead();
    },
    ack(frame) {
      const li = waiting.get(frame.clientMessageId);
      if (!li || frame.conversationId !== conversationId) return;
      waiting.delete(frame.clientMessageId);
      li.dataset.seq = frame.seq;
      li.remove();
      place(li, frame.seq);
      status(li, frame.seq);
      toBottom();
    },
    error(frame) {
      const li = frame.clientMessageId && waiting.get(frame.clientMessageId);
      if (li) {
        li.classList.add("failed");
        li.querySelector(".receipt").textContent = "Not sent";
        waiting.delete(frame.clientMessageId);
      }
      say(frame.message, "error");
    },
    typing(frame) {
      if (frame.conversationId !== conversationId || frame.userId === me.userId) return;
      typing.textContent = `${frame.handle || "Someone"} is typing…`;
      clearTimeout(handlers.typingTimer);
      handlers.typingTimer = setTimeout(() => (typing.textContent = ""), TYPING_SHOWN_MS);
    },
    read(frame) {
      if (frame.conversationId !== conversationId || frame.userId === me.userId) return;
      readUpTo = Math.max(readUpTo, frame.seq);
      for (const [seq, li] of shown) if (li.classList.contains("mine")) status(li, seq);
    },
    connection(detail) {
      connection.textContent = detail.online ? "" : "Offline: reconnecting…";
      if (!detail.online) connection.dataset.drops = String(Number(connection.dataset.drops || 0) + 1);
    },
  };
  const listeners = Object.entries(handlers)
    .filter(([, fn]) => typeof fn === "function")
    .map(([type, fn]) => {
      const listener = (event) => fn(event.detail);
      socket.addEventListener(type, listener);
      return [type, listener];
    });

  let lastTyping = 0;
  text.addEventListener("input", () => {
    if (Date.now() - lastTyping > TYPING_EVERY_MS && text.value) {
      lastTyping = Date.now();
      socket.typing(conversationId);
    }
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  files.addEventListener("change", () => {
    fill(picked);
    for (const file of files.files) {
      const preview = file.type.startsWith("image/") ? h("img", { src: URL.createObjectURL(file), alt: `Preview of ${file.name}` }) : null;
      picked.append(h("li", {}, preview, h("span", {}, `${file.name} (${Math.ceil(file.size / 1024)} KB)`)));
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const content = text.value;
      const chosen = [...files.files];
      if (!content.trim() && !chosen.length) return;
      const ids = [];
      for (const file of chosen) {
        const slot = await api("POST", `/api/conversations/${segment(conversationId)}/attachments`, { contentType: file.type || "application/octet-stream", size: file.size });
        await upload(slot.uploadUrl, slot.fields, file);
        previews.set(slot.attachmentId, URL.createObjectURL(file));
        ids.push(slot.attachmentId);
      }
      const clientMessageId = socket.sendMessage(conversationId, content, ids);
      const li = item({ content, attachments: ids, senderId: me.userId, timestamp: new Date().toISOString() }, true);
      waiting.set(clientMessageId, li);
      log.append(li);
      toBottom();
      text.value = "";
      files.value = "";
      fill(picked);
      if (!socket.online) say("Offline: the message goes when the connection is back.");
    }, send);
  });
  earlier.addEventListener("click", () => attempt(history, earlier));
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 40) attempt(history);
  });
  const focus = () => markRead();
  addEventListener("focus", focus);

  const header = h(
    "header",
    { class: "pane-head" },
    h("a", { href: "#/chat", class: "back" }, "← Conversations"),
    h("h2", {}, conversation ? title(conversation, me) : "Conversation"),
  );
  const node = h("section", { class: "card pane", "aria-label": "Conversation" }, header, connection, scroller, typing, form);
  handlers.connection({ online: socket.online });
  chats.open = conversationId;
  chats.markRead(conversationId);
  attempt(history);
  return {
    node,
    focus: () => text.focus(),
    stop() {
      for (const [type, listener] of listeners) socket.removeEventListener(type, listener);
      removeEventListener("focus", focus);
      clearTimeout(readTimer);
      clearTimeout(handlers.typingTimer);
      if (chats.open === conversationId) chats.open = null;
    },
  };
}

export function render(main, [conversationId], app) {
  document.title = "Chat · Relay";
  const side = list(app);
  const stops = [side.stop];
  const layout = h("div", { class: conversationId ? "chat has-pane" : "chat" }, side.node);
  fill(main, layout);
  if (conversationId) {
    const open = () => {
      const view = pane(app, conversationId);
      stops.push(view.stop);
      layout.append(view.node);
      view.focus();
    };
    if (chats.find(conversationId)) open();
    else attempt(async () => {
      await chats.load();
      open();
    });
  } else layout.append(h("section", { class: "card pane empty-pane" }, h("p", { class: "muted" }, "Pick a conversation, or start one.")));
  return () => stops.forEach((stop) => stop());
}
