// Chat page: ask without reloading (the server renders each exchange), fill the region picker
// as the asker chooses, and keep the previous question for follow-ups. The form works without it.
(function () {
  var form = document.getElementById("ask-form");
  if (!form) return;
  var root = document.body.getAttribute("data-root") || "";  // the path the app is mounted under
  var conversation = document.getElementById("conversation");
  var question = document.getElementById("question");
  var previous = document.getElementById("previous-question");
  var selects = { province: document.getElementById("region-province"), city: document.getElementById("region-city"),
                  county: document.getElementById("region-county") };
  var current = document.getElementById("current-region");

  function fillSelect(select, regions, placeholder) {
    select.innerHTML = "";
    var first = document.createElement("option");
    first.value = ""; first.textContent = placeholder; select.appendChild(first);
    regions.forEach(function (r) {
      var option = document.createElement("option");
      option.value = r.code; option.textContent = r.name; select.appendChild(option);
    });
  }

  function loadChildren(parent, select, placeholder) {
    if (!parent) { fillSelect(select, [], placeholder); return Promise.resolve(); }
    return fetch(root + "/picker/regions?parent=" + encodeURIComponent(parent))
      .then(function (r) { return r.json(); })
      .then(function (data) { fillSelect(select, data.regions, placeholder); });
  }

  function chosenName() {
    for (var level of ["county", "city", "province"]) {
      var s = selects[level];
      if (s.value) return s.options[s.selectedIndex].textContent;
    }
    return "";
  }

  function remember(code) {
    if (code) document.cookie = "region=" + code + "; path=/; max-age=31536000; samesite=lax";
    var name = chosenName();
    current.textContent = name ? "当前地区：" + name : "还没有选择地区，将优先回答国家规定";
  }

  selects.province.addEventListener("change", function () {
    fillSelect(selects.county, [], "请选择区县");
    loadChildren(selects.province.value, selects.city, "请选择城市").then(function () { remember(selects.province.value); });
  });
  selects.city.addEventListener("change", function () {
    loadChildren(selects.city.value, selects.county, "请选择区县").then(function () {
      remember(selects.city.value || selects.province.value);
    });
  });
  selects.county.addEventListener("change", function () {
    remember(selects.county.value || selects.city.value || selects.province.value);
  });
  var apply = document.getElementById("region-apply");
  if (apply) apply.hidden = true;  // choosing in a select is enough when the script runs

  function setPicker(code) {
    // Move the picker to the region the server settled on (e.g. named in the question).
    return Promise.resolve().then(function () {
      var province = code.slice(0, 2) + "0000", city = code.slice(0, 4) + "00";
      selects.province.value = province;
      return loadChildren(province, selects.city, "请选择城市").then(function () {
        if (code !== province) {
          if (!selects.city.querySelector('option[value="' + city + '"]')) city = code;
          selects.city.value = city;
        }
        return loadChildren(selects.city.value, selects.county, "请选择区县");
      }).then(function () {
        if (selects.county.querySelector('option[value="' + code + '"]')) selects.county.value = code;
        remember(code);
      });
    });
  }

  function ask(text) {
    if (!text.trim()) { question.focus(); return; }
    var body = new FormData(form);
    body.set("question", text);
    body.set("fragment", "1");
    body.delete("action");
    var button = document.getElementById("ask-button");
    button.disabled = true;
    fetch(root + "/", { method: "POST", body: body })
      .then(function (r) {
        var code = r.headers.get("X-Region-Code");
        return r.text().then(function (html) { return { html: html, code: code }; });
      })
      .then(function (result) {
        var suggestions = document.querySelector(".suggestions");
        if (suggestions) suggestions.remove();
        conversation.insertAdjacentHTML("beforeend", result.html);
        previous.value = text;
        question.value = "";
        var last = conversation.lastElementChild;
        if (result.code && result.code !== (selects.county.value || selects.city.value || selects.province.value)) {
          setPicker(result.code);
        }
        if (last) { last.setAttribute("tabindex", "-1"); last.focus(); }
      })
      .finally(function () { button.disabled = false; });
  }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "action") return;  // the no-script region button
    event.preventDefault();
    var text = submitter && submitter.classList.contains("suggestion") ? submitter.value : question.value;
    ask(text);
  });
  question.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(question.value);
    }
  });

  conversation.addEventListener("submit", function (event) {
    var target = event.target;
    if (!target.classList.contains("feedback")) return;
    event.preventDefault();
    var body = new FormData(target);
    body.set("helpful", event.submitter ? event.submitter.value : "1");
    body.set("fragment", "1");
    fetch(root + "/feedback", { method: "POST", body: body }).then(function (r) { return r.text(); })
      .then(function (html) { target.innerHTML = html; });
  });
})();
