// Large-text toggle without a page reload; the form still works without JavaScript.
(function () {
  var form = document.querySelector("form.prefs");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var html = document.documentElement;
    var on = !html.classList.contains("large-text");
    html.classList.toggle("large-text", on);
    document.cookie = "large_text=" + (on ? "1" : "0") + "; path=/; max-age=31536000; samesite=lax";
    var button = form.querySelector("button");
    button.textContent = on ? "标准字号" : "大字模式";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    form.querySelector("input[name=large_text]").value = on ? "0" : "1";
  });
})();
