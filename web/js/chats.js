// What the chat screens share while the app is open: the conversations with their
// unread counts, who is online (from presence frames), and the nav's badge. It hears
// the socket whichever screen is shown.

import { get, path } from "./api.js";
import { socket } from "./socket.js";

class Chats extends EventTarget {
  constructor() {
    super();
    this.reset();
    socket.addEventListener("message", (event) => this.heard(event.detail));
    socket.addEventListener("presence", (event) => {
      const { userId, status } = event.detail;
      this.presence.set(userId, status === "online");
      this.changed();
    });
    socket.addEventListener("typing", (event) => {
      if (!this.presence.get(event.detail.userId)) {
        this.presence.set(event.detail.userId, true);
        this.changed();
      }
    });
    socket.addEventListener("ack", (event) => {
      const conversation = this.find(event.detail.conversationId);
      if (conversation && event.detail.seq > conversation.lastSeq) {
        conversation.lastSeq = event.detail.seq;
        conversation.lastMessageAt = event.detail.timestamp;
      }
    });
    socket.addEventListener("connection", () => this.changed());
  }

  reset() {
    this.list = [];
    this.presence = new Map();
    this.open = null; // the conversation shown, whose messages count as read
    this.nextCursor = null;
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  async load() {
    const page = await get(path("/api/conversations", { limit: 50 }));
    this.list = page.items;
    this.nextCursor = page.nextCursor;
    this.changed();
    return this.list;
  }

  async more() {
    if (!this.nextCursor) return;
    const page = await get(path("/api/conversations", { limit: 50, cursor: this.nextCursor }));
    const known = new Set(this.list.map((c) => c.conversationId));
    this.list.push(...page.items.filter((c) => !known.has(c.conversationId)));
    this.nextCursor = page.nextCursor;
    this.changed();
  }

  find(conversationId) {
    return this.list.find((c) => c.conversationId === conversationId);
  }

  remember(conversation) {
    if (!this.find(conversation.conversationId)) this.list.unshift(conversation);
    this.changed();
  }

  heard(frame) {
    // Whoever just sent a message is connected: online until a presence frame says not.
    this.presence.set(frame.senderId, true);
    const conversation = this.find(frame.conversationId);
    if (!conversation) {
      this.load().catch(() => {}); // a conversation someone else started
      return;
    }
    if (frame.seq > conversation.lastSeq) {
      conversation.lastSeq = frame.seq;
      conversation.lastMessageAt = frame.timestamp;
      if (this.open !== frame.conversationId) conversation.unread += 1;
    }
    this.list.sort((a, b) => String(b.lastMessageAt || "").localeCompare(String(a.lastMessageAt || "")));
    this.changed();
  }

  markRead(conversationId) {
    const conversation = this.find(conversationId);
    if (conversation) conversation.unread = 0;
    this.changed();
  }

  totalUnread() {
    return this.list.reduce((sum, c) => sum + (c.unread || 0), 0);
  }

  /** Online when any other member is (presence frames say so; none heard yet: offline). */
  online(conversation, myId) {
    return conversation.members.some((m) => m.userId !== myId && this.presence.get(m.userId));
  }
}

export const chats = new Chats();
