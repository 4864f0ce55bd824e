// The chat socket: one connection per signed-in page, reopened with exponential
// back-off (with jitter) when it drops, and a `sync` on every open so nothing sent
// while it was down is missed. The access token rides on the connect URL, the one
// URL that carries a token (browsers cannot set headers on a WebSocket).
// Frames arrive as events named by their `type` ("message", "ack", "typing", ...).

import { accessToken, refresh } from "./auth.js";
import { config, socketUrl } from "./config.js";

const PING_MS = 5 * 60_000; // presence lapses after 11 minutes without one
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

export class ChatSocket extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.attempts = 0;
    this.closed = true;
    this.pending = new Map(); // clientMessageId -> frame, resent after a reconnect
    this.timer = null;
    this.pinger = null;
  }

  get online() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.closed = false;
    this.open();
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.pending.clear();
    if (this.ws) this.ws.close(1000, "signed out");
    this.ws = null;
  }

  async open() {
    if (this.closed) return;
    const token = await accessToken().catch(() => null);
    if (!token || this.closed) return this.later();
    const url = new URL(socketUrl(config().webSocketUrl));
    url.searchParams.set("token", token);
    const ws = new WebSocket(url.href);
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      this.attempts = 0;
      this.emit("connection", { online: true });
      this.raw({ action: "sync" });
      for (const frame of this.pending.values()) this.raw(frame);
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.raw({ action: "ping" }), PING_MS);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "ack") this.pending.delete(frame.clientMessageId);
      if (frame.type === "error" && frame.clientMessageId) this.pending.delete(frame.clientMessageId);
      this.emit(frame.type, frame);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      this.emit("connection", { online: false });
      // Refused before opening: most likely an ended token, so refresh before trying again.
      if (!opened) refresh().catch(() => {});
      this.later();
    });
  }

  later() {
    if (this.closed) return;
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempts++);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** Reconnect now (the browser came back online, or a test dropped the socket). */
  nudge() {
    if (this.closed || this.online) return;
    this.attempts = 0;
    clearTimeout(this.timer);
    this.open();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  raw(frame) {
    if (!this.online) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Send a message; kept until its ack, resent (stored once) after a reconnect. */
  sendMessage(conversationId, content, attachments = []) {
    const clientMessageId = crypto.randomUUID();
    const frame = { action: "sendMessage", conversationId, content, clientMessageId };
    if (attachments.length) frame.attachments = attachments;
    this.pending.set(clientMessageId, frame);
    this.raw(frame);
    return clientMessageId;
  }

  typing(conversationId) {
    this.raw({ action: "typing", conversationId });
  }

  read(conversationId, seq) {
    this.raw({ action: "read", conversationId, seq });
  }
}

export const socket = new ChatSocket();
addEventListener("online", () => socket.nudge());
