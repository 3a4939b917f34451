/* Live preview of a form being edited: the server draws it with the portal's macros and checks
   the schema; "Проверить" validates what was typed into the preview with the server validator. */
(function () {
  "use strict";
  var form = document.getElementById("form-editor");
  if (!form) return;
  var schema = document.getElementById("schema-text"), ui = document.getElementById("ui-text");
  var preview = document.getElementById("preview"), problems = document.getElementById("schema-problems");
  var timer = null;

  function values() {
    var result = {};
    preview.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (el) {
      if (el.type === "file" || el.type === "hidden" || el.closest("[hidden]")) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { if (el.type === "checkbox" && !el.value) return; }
      var parts = el.name.split("."), node = result;
      for (var i = 0; i < parts.length - 1; i++) { node[parts[i]] = node[parts[i]] || {}; node = node[parts[i]]; }
      var key = parts[parts.length - 1];
      if (el.type === "checkbox" && el.value === "on") node[key] = el.checked;
      else if (el.type === "checkbox") { if (el.checked) (node[key] = node[key] || []).push(el.value); }
      else if (el.type === "radio") { if (el.checked) node[key] = el.value; }
      else if (el.value !== "") node[key] = el.value;
    });
    return result;
  }

  function refresh(withValues) {
    fetch(form.dataset.previewUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
      body: JSON.stringify({ schema: schema.value, ui_schema: ui.value, values: withValues ? values() : null })
    }).then(function (r) { return r.json(); }).then(function (data) {
      problems.innerHTML = "";
      data.problems.forEach(function (p) { var li = document.createElement("li"); li.textContent = p; problems.appendChild(li); });
      if (data.html) {
        preview.innerHTML = data.html;
        if (window.MedflowForms) window.MedflowForms.setup(preview);
      }
      preview.dataset.errors = String((data.errors || []).length);
    });
  }
  function later() { clearTimeout(timer); timer = setTimeout(function () { refresh(false); }, 400); }
  schema.addEventListener("input", later);
  ui.addEventListener("input", later);
  document.getElementById("check-button").addEventListener("click", function () { refresh(true); });
  refresh(false);
})();
