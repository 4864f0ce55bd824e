// The inbox's unread count for the nav's badge: loaded at sign-in, asked again on
// every `notification` frame (a grouped one may update a notification already
// unread, so the server's count is the one to trust) and after every reconnect.
// Frames are passed on as "notification" events for the open Notifications screen.

import { get, path } from "./api.js";
import { socket } from "./socket.js";

class Inbox extends EventTarget {
  constructor() {
    super();
    this.unread = 0;
    this.asking = null;
    socket.addEventListener("notification", (event) => {
      this.dispatchEvent(new CustomEvent("notification", { detail: event.detail.notification }));
      this.load();
    });
    socket.addEventListener("connection", (event) => {
      if (event.detail.online) this.load();
    });
  }

  /** Ask for the unread count (one request at a time, the last answer wins). */
  load() {
    const asking = get(path("/api/notifications", { limit: 1 })).then(
      (page) => {
        if (this.asking === asking) this.show(page.unread);
      },
      () => {},
    );
    this.asking = asking;
    return asking;
  }

  /** The count from an answer the app just had (a mark-read): older asks lose. */
  set(unread) {
    this.asking = null;
    this.show(unread);
  }

  show(unread) {
    this.unread = Math.max(0, unread);
    this.dispatchEvent(new CustomEvent("change"));
  }

  reset() {
    this.asking = null;
    this.set(0);
  }
}

export const inbox = new Inbox();
