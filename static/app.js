// Small behaviours the pages ask for with data- attributes. Kept here, not inline in the
// markup, because the Content-Security-Policy allows scripts from static/ only.
"use strict";

// <button data-confirm="Question?">: the form is sent only when the question is answered yes.
// <button data-submit-once>: the button is disabled as the form goes, so a double click
// sends it once.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (!button) {
    return;
  }
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (button.hasAttribute("data-submit-once")) {
    button.disabled = true;
  }
});

// data-poll-when-visible on a polling element: no request while the tab is hidden.
document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail && event.detail.elt;
  if (element && element.matches("[data-poll-when-visible]") && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});
