// A person's profile: name, bio, avatar, counts, follow, a message button and their
// posts; on one's own, the form to change it (display name, bio, handle, avatar).

import { api, get, path, segment, upload } from "../api.js";
import { attempt, field, fill, h, onVisible, say } from "../dom.js";
import { chats } from "../chats.js";
import { timeline } from "../posts.js";

const AVATAR_TYPES = "image/png,image/jpeg,image/gif,image/webp";

function editor(profile, app, redraw) {
  const displayName = h("input", { type: "text", name: "displayName", maxlength: 50, value: profile.displayName });
  const bio = h("textarea", { name: "bio", rows: 3, maxlength: 280 });
  bio.value = profile.bio;
  const handle = h("input", { type: "text", name: "handle", value: profile.handle, spellcheck: "false", autocapitalize: "none" });
  const avatar = h("input", { type: "file", name: "avatar", accept: AVATAR_TYPES });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { class: "card" },
    h("h2", {}, "Edit your profile"),
    field("Display name", displayName),
    field("Bio", bio),
    field("Handle", handle, "3 to 30 letters, digits or _."),
    field("Avatar", avatar, "An image up to 2 MB."),
    save,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const body = { displayName: displayName.value, bio: bio.value };
      if (handle.value.trim() !== profile.handle) body.handle = handle.value.trim();
      const file = avatar.files[0];
      if (file) {
        const slot = await api("POST", "/api/me/avatar", { contentType: file.type });
        await upload(slot.url, slot.fields, file);
        body.avatar = slot.key;
      }
      app.me = await api("PATCH", "/api/me", body);
      say("Profile saved.");
      if (app.me.handle !== profile.handle) location.hash = `#/users/${segment(app.me.handle)}`;
      else redraw();
    }, save);
  });
  return form;
}

export function render(main, [handle], app) {
  document.title = `@${handle} · Relay`;
  let observer = null;
  async function draw() {
    const profile = await get(`/api/users/${segment(handle)}`);
    const mine = app.me && profile.userId === app.me.userId;
    const follow = h("button", { type: "button", "aria-pressed": String(profile.followedByMe) }, profile.followedByMe ? "Unfollow" : "Follow");
    const followers = h("span", {});
    const counts = () => (followers.textContent = `${profile.followers} followers`);
    counts();
    follow.addEventListener("click", () =>
      attempt(async () => {
        const now = !profile.followedByMe;
        await api(now ? "POST" : "DELETE", `/api/users/${segment(profile.handle)}/follow`);
        profile.followedByMe = now;
        profile.followers += now ? 1 : -1;
        follow.textContent = now ? "Unfollow" : "Follow";
        follow.setAttribute("aria-pressed", String(now));
        counts();
      }, follow),
    );
    const talk = h("button", { type: "button" }, "Send a message");
    talk.addEventListener("click", () =>
      attempt(async () => {
        const conversation = await api("POST", "/api/conversations", { members: [profile.handle] });
        chats.remember(conversation);
        location.hash = `#/chat/${segment(conversation.conversationId)}`;
      }, talk),
    );
    const posts = timeline((cursor) => path(`/api/users/${segment(profile.handle)}/posts`, { limit: 20, cursor }), `Posts by @${profile.handle}`);
    const card = h(
      "section",
      { class: "card profile", "aria-labelledby": "profile-title" },
      profile.avatarUrl ? h("img", { class: "avatar", src: profile.avatarUrl, alt: `Avatar of @${profile.handle}` }) : h("span", { class: "avatar blank", "aria-hidden": "true" }, (profile.displayName || profile.handle).slice(0, 1).toUpperCase()),
      h("h1", { id: "profile-title" }, profile.displayName || profile.handle, " ", h("span", { class: "muted handle" }, `@${profile.handle}`)),
      profile.bio ? h("p", { class: "bio" }, profile.bio) : null,
      h("p", { class: "counts muted" }, followers, ` · ${profile.following} following · ${profile.posts} posts`),
      mine ? null : h("div", { class: "row" }, follow, talk),
    );
    fill(main, card, mine ? editor(profile, app, () => attempt(draw)) : null, h("section", { class: "card" }, h("h2", {}, "Posts"), posts.node));
    if (observer) observer.disconnect();
    observer = onVisible(posts.sentinel, () => attempt(() => posts.load()));
    await posts.load(true);
  }
  fill(main, h("p", { class: "muted" }, "Loading…"));
  attempt(draw);
  return () => observer && observer.disconnect();
}
