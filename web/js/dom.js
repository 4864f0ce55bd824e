// Building the page without HTML strings: every piece of user content becomes a text
// node (textContent or createTextNode), never markup. There is no innerHTML in the app.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(node, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "value" || key === "checked" || key === "disabled" || key === "hidden") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("button", {type: "button", onclick}, "Send"). Strings are text. */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  apply(node, props);
  append(node, children);
  return node;
}

/** An SVG element, for the charts. */
export function s(tag, props, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, props);
  append(node, children);
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let counter = 0;
/** A labelled form control: the label names it for screen readers and for tests. */
export function field(label, control, hint) {
  const id = control.id || `f${++counter}`;
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("small", { id: hintId, class: "muted" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toLocaleString() }, relative(date));
}

export function relative(date, now = Date.now()) {
  const seconds = Math.round((now - date.getTime()) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return date.toLocaleDateString();
}

const status = () => document.getElementById("status");

/** Say something in the status line (read out by screen readers). */
export function say(text, kind = "info") {
  const line = status();
  line.dataset.kind = kind;
  line.textContent = text;
  clearTimeout(say.timer);
  if (kind !== "error") say.timer = setTimeout(() => (line.textContent = ""), 5000);
}

/** The message of an error, for `say`. */
export function problem(error) {
  return error && error.message ? error.message : String(error);
}

/** Run an async action from a form or button, saying what went wrong, never throwing. */
export async function attempt(action, button) {
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    say(problem(error), "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Call `load` when `sentinel` scrolls into view (infinite scroll; buttons stay for keyboards). */
export function onVisible(sentinel, load) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) load();
  });
  observer.observe(sentinel);
  return observer;
}
