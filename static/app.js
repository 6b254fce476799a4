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

// The navigation's menu button (shown on narrow screens): opens and folds the navigation.
// Escape folds it again and puts the focus back on the button.
function setMenuOpen(button, open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("#nav-menu-button");
  if (button) {
    setMenuOpen(button, button.getAttribute("aria-expanded") !== "true");
  }
});

document.addEventListener("keydown", (event) => {
  const button = document.getElementById("nav-menu-button");
  if (event.key !== "Escape" || !button || button.getAttribute("aria-expanded") !== "true") {
    return;
  }
  const menu = document.getElementById(button.getAttribute("aria-controls"));
  const focusInMenu = menu && menu.contains(document.activeElement);
  setMenuOpen(button, false);
  if (focusInMenu || document.activeElement === button) {
    button.focus();
  }
});

// The calendar opens on today: its days scroll so that today's column stands right after the
// domain column, which stays in place (app.css). Also when htmx brings this week back.
function scrollCalendarToToday(root) {
  const calendar = root.id === "campaign-calendar" ? root : root.querySelector("#campaign-calendar");
  const today = calendar && calendar.querySelector("thead th.calendar-today");
  const domains = calendar && calendar.querySelector("thead th:first-child");
  if (!today || !domains) {
    return;
  }
  calendar.scrollLeft += Math.floor(today.getBoundingClientRect().left - domains.getBoundingClientRect().right);
}

document.addEventListener("DOMContentLoaded", () => scrollCalendarToToday(document.body));
document.addEventListener("htmx:load", (event) => scrollCalendarToToday(event.detail.elt));

// <button data-copy="#target" data-copied="Copied">: copies the target's text (a token shown
// once in an input, the recovery codes in a block) and says so on the button. An input is
// selected too, for copying by hand where the clipboard is not allowed.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  const source = button && document.querySelector(button.dataset.copy);
  if (!source) {
    return;
  }
  const isInput = source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement;
  if (isInput) {
    source.select();
  }
  const done = () => {
    if (button.dataset.copied) {
      button.textContent = button.dataset.copied;
    }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(isInput ? source.value : source.textContent).then(done, () => {});
  } else if (isInput && document.execCommand("copy")) {
    done();
  }
});
