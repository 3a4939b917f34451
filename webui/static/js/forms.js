/* Instant checks of generated forms: the same rules as the server (engine/forms.py
   client_format_rules, embedded in the page as JSON), so a person sees the message before the
   application leaves the browser. The server checks everything again; without JavaScript the
   form still works. Also shows and hides sections by "ui:showWhen". */
(function () {
  "use strict";

  function digits(s) { return s.split("").map(Number); }
  function weighted(s, w) { var d = digits(s), t = 0; for (var i = 0; i < w.length; i++) t += d[i] * w[i]; return t; }

  var CHECKSUMS = {
    snils: function (v) {
      var first9 = v.slice(0, 9);
      if (parseInt(first9, 10) <= 1001998) return true;
      var s = weighted(first9, [9, 8, 7, 6, 5, 4, 3, 2, 1]), c;
      if (s < 100) c = s; else if (s === 100 || s === 101) c = 0; else c = s % 101 % 100;
      return ("0" + c).slice(-2) === v.slice(9);
    },
    inn: function (v) {
      function d(s, w) { return String(weighted(s, w) % 11 % 10); }
      if (v.length === 10) return d(v.slice(0, 9), [2, 4, 10, 3, 5, 9, 4, 6, 8]) === v[9];
      return d(v.slice(0, 10), [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === v[10] &&
        d(v.slice(0, 11), [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === v[11];
    },
    ogrn: function (v) { return Number(BigInt(v.slice(0, 12)) % 11n % 10n) === Number(v[12]); },
    ogrnip: function (v) { return Number(BigInt(v.slice(0, 14)) % 13n % 10n) === Number(v[14]); },
    luhn: function (v) {
      var total = 0, payload = v.slice(0, -1).split("").reverse();
      payload.forEach(function (ch, i) { var x = Number(ch); if (i % 2 === 0) { x *= 2; if (x > 9) x -= 9; } total += x; });
      return String((10 - total % 10) % 10) === v.slice(-1);
    }
  };

  function parseRuDate(v) {
    var m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(v);
    if (!m) return null;
    var d = new Date(Number(m[3]), Number(m[2]) - 1, Number(m[1]));
    return (d.getFullYear() === Number(m[3]) && d.getMonth() === Number(m[2]) - 1 && d.getDate() === Number(m[1])) ? d : null;
  }

  function formatProblem(rule, value) {
    var v = rule.strip ? value.replace(new RegExp(rule.strip, "g"), "") : value;
    if (!new RegExp(rule.pattern).test(v)) return rule.message;
    if (rule.checksum && CHECKSUMS[rule.checksum] && !CHECKSUMS[rule.checksum](v)) return rule.checksum_message;
    if (rule.calendar_date) {
      var d = parseRuDate(v);
      if (!d) return rule.calendar_date_message;
      if (rule.not_future && d > new Date()) return rule.not_future_message;
    }
    return null;
  }

  function problemOf(input, rules) {
    if (input.closest("[hidden]")) return null;
    var value = (input.value || "").trim();
    if (input.type === "file") {
      return (input.dataset.required === "true" && !input.files.length) ? "Приложите файл" : null;
    }
    if (!value) return input.dataset.required === "true" ? "Заполните поле" : null;
    if (input.dataset.minlength && value.length < Number(input.dataset.minlength))
      return "Не короче " + input.dataset.minlength + " символов";
    if (input.dataset.format && rules[input.dataset.format]) {
      var p = formatProblem(rules[input.dataset.format], value);
      if (p) return p;
    }
    if (input.dataset.pattern && !new RegExp(input.dataset.pattern, "u").test(value)) return "Значение в неверном формате";
    return null;
  }

  function show(input, message) {
    var box = document.getElementById(input.id + "-error");
    if (!box) return;
    var wrapper = input.closest(".field");
    if (message) {
      box.textContent = message; box.hidden = false; box.dataset.client = "1";
      input.setAttribute("aria-invalid", "true");
      if (wrapper) wrapper.classList.add("has-error");
    } else if (box.dataset.client === "1" || input.value !== input.dataset.initial) {
      // A server message stays until the person changes the value it was about.
      box.hidden = true; box.dataset.client = "";
      input.removeAttribute("aria-invalid");
      if (wrapper) wrapper.classList.remove("has-error");
    }
  }

  function valueAt(form, path) {
    var inputs = form.querySelectorAll('[name="' + path + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "radio") { if (el.checked) return el.value; continue; }
      if (el.type === "checkbox") return el.checked;
      if (el.type !== "hidden") return el.value;
    }
    return null;
  }

  function refreshVisibility(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (el) {
      var cond = JSON.parse(el.dataset.showWhen), visible = false;
      Object.keys(cond).forEach(function (path) {
        var v = valueAt(form, path);
        cond[path].forEach(function (allowed) { if (allowed === v || String(allowed) === String(v)) visible = true; });
      });
      el.hidden = !visible;
    });
  }

  function setup(form) {
    var rulesNode = form.querySelector("#format-rules");
    var rules = rulesNode ? JSON.parse(rulesNode.textContent) : {};
    var inputs = form.querySelectorAll("input[id], textarea[id], select[id]");
    inputs.forEach(function (input) {
      input.dataset.initial = input.value;
      input.addEventListener("blur", function () { show(input, problemOf(input, rules)); });
      input.addEventListener("change", function () { refreshVisibility(form); });
    });
    form.addEventListener("change", function () { refreshVisibility(form); });
    refreshVisibility(form);
    form.addEventListener("submit", function (event) {
      var first = null;
      inputs.forEach(function (input) {
        var p = problemOf(input, rules);
        show(input, p);
        if (p && !first) first = input;
      });
      var summary = form.querySelector("#client-errors");
      if (first) {
        event.preventDefault();
        if (summary) summary.hidden = false;
        first.focus();
      } else if (summary) {
        summary.hidden = true;
      }
    });
  }

  document.querySelectorAll("form[data-generated-form]").forEach(setup);
  window.MedflowForms = { setup: setup };  // the forms editor sets up its live preview with it
})();
