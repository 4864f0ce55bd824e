// The app's entry: loads the configuration, restores a session from the refresh
// token, and routes on the URL's hash (#/feed, #/chat/ID, #/links/CODE, #/users/HANDLE).
// Each screen is a module in views/ with one `render(main, params, app)` that may
// return a cleanup function; a new screen is one more module and one more line in ROUTES.

import { loadConfig } from "./config.js";
import { onSession, refresh, signOut, signedIn } from "./auth.js";
import { get } from "./api.js";
import { attempt, fill, h, problem, say } from "./dom.js";
import { socket } from "./socket.js";
import { chats } from "./chats.js";
import { inbox } from "./notifications.js";
import * as account from "./views/account.js";
import * as links from "./views/links.js";
import * as notifications from "./views/notifications.js";
import * as analytics from "./views/analytics.js";
import * as chat from "./views/chat.js";
import * as feed from "./views/feed.js";
import * as profile from "./views/profile.js";
import * as search from "./views/search.js";
import { wireSearch } from "./search.js";

const ROUTES = [
  [/^\/links\/([^/]+)$/, analytics],
  [/^\/links$/, links],
  [/^\/chat(?:\/([^/]+))?$/, chat],
  [/^\/users\/([^/]+)$/, profile],
  [/^\/me$/, profile],
  [/^\/feed$/, feed],
  [/^\/notifications$/, notifications],
  [/^\/search\/(.+)$/, search],
];

export const app = { me: null };
let cleanup = null;

function route() {
  const main = document.getElementById("main");
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const where = decodeURIComponent(location.hash.replace(/^#/, "")) || "/feed";
  document.getElementById("bar").hidden = !signedIn();
  if (!signedIn()) {
    cleanup = account.render(main, [where === "/signup" ? "signup" : "signin"], app);
    return;
  }
  for (const link of document.querySelectorAll("nav a")) {
    const current = where.startsWith("/" + link.dataset.route) || (link.dataset.route === "me" && app.me && where === `/users/${app.me.handle}`);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(where);
    if (match) {
      const params = match.slice(1).filter((p) => p !== undefined);
      if (where === "/me") params.push(app.me.handle);
      cleanup = view.render(main, params, app);
      // A new screen: a keyboard or screen reader user starts at its content, unless
      // the screen put them in a field already.
      if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
      return;
    }
  }
  location.hash = "#/feed";
}

async function whoAmI() {
  app.me = await get("/api/me");
}

onSession(async (now) => {
  if (now) {
    try {
      await whoAmI();
    } catch (error) {
      say(problem(error), "error");
    }
    socket.start();
    chats.load();
    inbox.load();
    if (!location.hash || location.hash === "#/signin" || location.hash === "#/signup") location.hash = "#/feed";
    else route();
  } else {
    socket.stop();
    chats.reset();
    inbox.reset();
    app.me = null;
    location.hash = "#/signin";
    route();
  }
});

function wire() {
  addEventListener("hashchange", route);
  document.getElementById("sign-out").addEventListener("click", (event) =>
    attempt(async () => {
      await signOut();
      say("Signed out.");
    }, event.currentTarget),
  );
  wireSearch(document.getElementById("search"), document.getElementById("search-q"));
  const count = (badge, unread) => {
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.setAttribute("aria-label", `${unread} unread`);
  };
  const badge = document.getElementById("chat-badge");
  chats.addEventListener("change", () => count(badge, chats.totalUnread()));
  const bell = document.getElementById("notification-badge");
  inbox.addEventListener("change", () => count(bell, inbox.unread));
}

async function start() {
  wire();
  try {
    await loadConfig();
  } catch (error) {
    fill(document.getElementById("main"), h("p", { class: "error" }, problem(error)));
    return;
  }
  const restored = await refresh().catch(() => false);
  if (!restored) route();
}

start();
