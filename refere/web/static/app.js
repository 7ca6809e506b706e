// Progressive enhancement only: every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The tribunal and « le préfet de … » as soon as the département is chosen.
  var dep = document.getElementById("prefecture.departement");
  var info = document.getElementById("dep-info");
  if (dep && info) {
    dep.addEventListener("change", function () {
      if (!dep.value) { info.textContent = "Choisissez le département : le tribunal et le préfet s'affichent ici."; return; }
      fetch("/api/departement?code=" + encodeURIComponent(dep.value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (d) {
          info.textContent = "";
          if (d.erreur) { info.textContent = d.erreur; return; }
          info.append("Tribunal compétent : ");
          var t = document.createElement("strong"); t.textContent = d.tribunal; info.append(t);
          info.append(" — contre ");
          var p = document.createElement("strong"); p.textContent = d.prefet; info.append(p);
        })
        .catch(function () {});
    });
  }
  // « Corriger » links end with the field's id: open the page at that field, focused, clear of the
  // sticky save bar (a folded section or note is unfolded first).
  function focusField(id) {
    var t = document.getElementById(id);
    if (!t) { return false; }
    for (var p = t.parentElement; p; p = p.parentElement) { if (p.tagName === "DETAILS") { p.open = true; } }
    if (!t.matches("input, select, textarea, button, a[href], [tabindex]")) { t.setAttribute("tabindex", "-1"); }
    t.focus({preventScroll: true});
    // The field's label, input and the message saying why are shown together (a phone screen is short).
    var box = t.closest(".champ");
    if (box) { box.scrollIntoView({block: "start"}); } else { t.scrollIntoView({block: "center"}); }
    return true;
  }
  if (location.hash.length > 1) { focusField(decodeURIComponent(location.hash.slice(1))); }
  // Belt and braces for browsers that ignore scroll-padding on focus: move a covered field above the bar.
  var bar = document.querySelector(".actions.collant");
  if (bar) {
    document.addEventListener("focusin", function (ev) {
      if (bar.contains(ev.target)) { return; }
      var r = ev.target.getBoundingClientRect(), b = bar.getBoundingClientRect();
      if (r.bottom > b.top - 4 && r.top < b.bottom) { window.scrollBy(0, r.bottom - b.top + 16); }
    });
  }
  // A summary link moves the focus to its field (a same-page anchor only scrolls).
  document.querySelectorAll("a.vers-champ").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (focusField(decodeURIComponent(a.getAttribute("href").slice(1)))) { ev.preventDefault(); }
    });
  });
  // Leaving a step with unsaved changes asks first (saving, uploading or building does not).
  var dirty = false;
  document.querySelectorAll("form[method=post]").forEach(function (f) {
    f.addEventListener("input", function () { dirty = true; });
    f.addEventListener("change", function () { dirty = true; });
    f.addEventListener("submit", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
  // Say that an upload or a build is under way (they can take a few seconds).
  document.querySelectorAll("form[enctype='multipart/form-data'], form.construire").forEach(function (f) {
    f.addEventListener("submit", function () {
      var b = f.querySelector("button[type=submit]");
      if (b) { b.disabled = true; b.textContent = "En cours…"; }
    });
  });
});
