// Copy a clause's citation to the clipboard; the citation is also shown as text to select by hand.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var text = button.getAttribute("data-citation");
    var status = button.parentElement.querySelector(".copied");
    function done(ok) { status.textContent = ok ? "已复制" : "请手动选中上面的引用文字复制"; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove(); done(ok);
    }
  });
})();
