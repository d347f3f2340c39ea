// Opened at #clause-…: bring that clause into view and give it focus, so screen readers and keyboards start there.
(function () {
  function show() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var clause = document.getElementById(id);
    if (!clause) return;
    document.querySelectorAll(".clause.targeted").forEach(function (c) { c.classList.remove("targeted"); });
    clause.classList.add("targeted");
    clause.scrollIntoView({ block: "start" });
    clause.focus({ preventScroll: true });
  }
  window.addEventListener("hashchange", show);
  show();
})();
