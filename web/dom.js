// Tiny DOM builder. Every string child becomes a text node, so data from the
// server can never be interpreted as markup: there is no innerHTML anywhere.

/**
 * h("button", {class: "btn", testid: "save", onclick: fn}, "Save") → <button>
 * Attributes: `class`, `testid` (→ data-testid), `dataset` ({k: v}), `style`
 * (object), `on<event>` functions, DOM properties (`value`, `checked`,
 * `disabled`, `hidden`, `selected`, `open`, `htmlFor`) and plain attributes.
 * false/null/undefined attributes and children are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      else if (key === "testid") el.dataset.testid = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (PROPERTIES.has(key)) el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "open", "htmlFor", "indeterminate"]);

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Debounce `fn` by `ms`; the returned function has `.cancel()`. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** True for Ctrl+Enter / Cmd+Enter. */
export function isSubmitChord(event) {
  return event.key === "Enter" && (event.ctrlKey || event.metaKey);
}
