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

// The live stream (web.pages.events, htmx's SSE extension): `data-live` on <body> says whether it
// is open, so tests (and styles) can wait for it.
document.addEventListener("htmx:sseOpen", () => {
  document.body.dataset.live = "open";
});
document.addEventListener("htmx:sseClose", () => {
  document.body.dataset.live = "closed";
});

// A row the user is at work in (focus inside, something typed or ticked, a request on its way) is
// left alone: their own decision, undo or claim changed the task and answers with the row itself.
function rowInUse(row) {
  if (row.contains(document.activeElement) || row.matches(".htmx-request") || row.querySelector(".htmx-request")) {
    return true;
  }
  const changed = (field) => {
    if (field.tagName === "SELECT") return Array.from(field.options).some((o) => o.selected !== o.defaultSelected);
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    return field.value !== field.defaultValue;
  };
  return Array.from(row.querySelectorAll("textarea, input:not([type=hidden]), select")).some(changed);
}

// Inbox rows of tasks that changed ({"open": [ids], "closed": [ids]}): each is asked for again
// and swapped alone, so an expanded row or a comment typed in another row stays as it is. A new
// open task gets a row at the top of the first page; a closed one shows its new state if it is
// on the page.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const message = event.detail;
  if (!message || message.type !== "inbox-tasks") return;
  event.preventDefault();
  const changed = JSON.parse(message.data);
  const body = document.querySelector("#inbox-table table.inbox tbody");
  for (const id of changed.open.concat(changed.closed)) {
    let row = document.getElementById("task-" + id);
    if (row && rowInUse(row)) continue;
    if (!row) {
      if (!changed.open.includes(id)) continue;
      // A later page (keyset: after=/before= in the URL) starts at a place in the list: a new
      // task belongs on the first page, so it gets no row here (the view counts still change).
      if (/[?&](after|before)=/.test(location.search)) continue;
      if (!body) {
        // No table yet (nothing waited): the table, as the page's filters show it.
        htmx.ajax("GET", location.pathname + location.search, { target: "#inbox-table", swap: "outerHTML", select: "#inbox-table" });
        return;
      }
      row = document.createElement("tr");
      row.id = "task-" + id;
      body.prepend(row);
    }
    htmx.ajax("GET", "/inbox/tasks/" + encodeURIComponent(id) + "?live=1", { target: row, swap: "outerHTML" });
  }
});
