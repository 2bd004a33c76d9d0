// Loaded before htmx, without `defer`. htmx answers Back to a URL it pushed by loading that page
// anew (no page is kept in history), but only once it has started: Back pressed while a page is
// still loading would leave the old page under the new URL. Until then, reload here instead.
let htmxStarted = false;
document.addEventListener("DOMContentLoaded", () => {
  htmxStarted = true;
});
window.addEventListener("popstate", (event) => {
  if (!htmxStarted && event.state && event.state.htmx) location.reload();
});
