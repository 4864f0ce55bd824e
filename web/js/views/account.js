// Signing in and signing up (with the emailed code), against the user pool.

import { confirmSignUp, resendCode, signIn, signUp } from "../auth.js";
import { attempt, field, fill, h, say } from "../dom.js";

const HANDLE_HINT = "3 to 30 letters, digits or _. People find you by it.";

function input(type, name, autocomplete, extra = {}) {
  return h("input", { type, name, autocomplete, required: true, ...extra });
}

function signInForm(main) {
  const email = input("email", "email", "username");
  const password = input("password", "password", "current-password");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Relay"),
    field("Email", email),
    field("Password", password),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => signIn(email.value.trim(), password.value), form.querySelector("button"));
  });
  fill(main, form);
  email.focus();
}

function signUpForm(main) {
  const email = input("email", "email", "username");
  const password = input("password", "new-password", "new-password", { minlength: 8 });
  const handle = input("text", "handle", "nickname", { pattern: "[A-Za-z0-9_]{3,30}", spellcheck: "false", autocapitalize: "none" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signup-title" },
    h("h1", { id: "signup-title" }, "Create your Relay account"),
    field("Email", email),
    field("Password", password, "At least 8 characters, with upper and lower case letters and a digit."),
    field("Handle", handle, HANDLE_HINT),
    h("button", { type: "submit", class: "primary" }, "Sign up"),
    h("p", {}, "Have an account? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      await signUp(email.value.trim(), password.value, handle.value.trim());
      confirmForm(main, email.value.trim(), password.value);
    }, form.querySelector("button"));
  });
  fill(main, form);
  email.focus();
}

function confirmForm(main, email, password) {
  const code = input("text", "code", "one-time-code", { inputmode: "numeric", pattern: "[0-9]{6}" });
  const resend = h("button", { type: "button" }, "Send the code again");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "confirm-title" },
    h("h1", { id: "confirm-title" }, "Check your email"),
    h("p", {}, "We sent a six-digit code to ", h("strong", {}, email), "."),
    field("Code", code),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Confirm"), resend),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      await confirmSignUp(email, code.value.trim());
      await signIn(email, password); // the password never leaves this closure otherwise
    }, form.querySelector("button[type=submit]"));
  });
  resend.addEventListener("click", () => attempt(async () => {
    await resendCode(email);
    say("A new code is on its way.");
  }, resend));
  fill(main, form);
  code.focus();
}

export function render(main, [which]) {
  document.title = which === "signup" ? "Sign up · Relay" : "Sign in · Relay";
  if (which === "signup") signUpForm(main);
  else signInForm(main);
}
