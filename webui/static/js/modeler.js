/* The analyst's editor: bpmn-js Modeler over the files of a deployed bundle (or a reference
   model), lint with the problems listed and marked on the canvas, deploy as a new version,
   download and open .bpmn files. */
(function () {
  "use strict";
  var el = document.getElementById("canvas");
  if (!el || el.dataset.mode !== "modeler" || typeof BpmnJS === "undefined") return;
  var status = document.getElementById("diagram-status");
  var select = document.getElementById("diagram-file");
  var problemsBox = document.getElementById("problems-box"), problemsList = document.getElementById("problems");
  var modeler = new BpmnJS({ container: el, moddleExtensions: { spiffworkflow: window.SPIFFWORKFLOW_MODDLE } });
  var files = [], current = 0, marked = [];

  function say(text) { status.textContent = text; }

  function open(index, xml) {
    el.dataset.rendered = "";
    return modeler.importXML(xml || files[index].xml).then(function (result) {
      current = index;
      modeler.get("canvas").zoom("fit-viewport");
      var warnings = (result.warnings || []).length;
      say(files[index].name + (warnings ? ": открыт, предупреждений импорта — " + warnings : ": открыт"));
      el.dataset.rendered = "1";
      el.dataset.elements = String(modeler.get("elementRegistry").getAll().length);
    }).catch(function (err) {
      say("Не удалось открыть " + files[index].name + ": " + err.message);
      el.dataset.rendered = "error";
    });
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (r) { files[current].xml = r.xml; return r.xml; });
  }

  function post(url, xml) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": el.dataset.csrf },
      body: JSON.stringify({ process_key: el.dataset.processKey, name: files[current].name, xml: xml })
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }

  function showProblems(problems) {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, "highlight-problem"); });
    marked = [];
    problemsList.innerHTML = "";
    problemsBox.hidden = !problems.length;
    problems.forEach(function (p) {
      var li = document.createElement("li");
      var where = (p.file || "") + (p.line ? ":" + p.line : "") + (p.element_id ? ": " + p.element_id : "");
      var onCanvas = p.element_id && registry.get(p.element_id);
      if (onCanvas) {
        canvas.addMarker(p.element_id, "highlight-problem"); marked.push(p.element_id);
        var b = document.createElement("button"); b.type = "button"; b.className = "link-button";
        b.textContent = where; b.addEventListener("click", function () {
          modeler.get("selection").select(onCanvas); canvas.scrollToElement(onCanvas);
        });
        li.appendChild(b);
      } else {
        var s = document.createElement("strong"); s.textContent = where; li.appendChild(s);
      }
      li.appendChild(document.createTextNode(" — " + p.message));
      problemsList.appendChild(li);
    });
  }

  document.getElementById("lint-button").addEventListener("click", function () {
    el.dataset.lint = "";
    currentXml().then(function (xml) { return post(el.dataset.lintUrl, xml); }).then(function (r) {
      var problems = r.body.problems || [];
      showProblems(problems);
      say(problems.length ? "Замечаний: " + problems.length : "Замечаний нет.");
      el.dataset.lint = String(problems.length);
    }).catch(function (err) { say("Проверка не удалась: " + err.message); });
  });

  document.getElementById("deploy-button").addEventListener("click", function () {
    el.dataset.deployed = "";
    currentXml().then(function (xml) { return post(el.dataset.deployUrl, xml); }).then(function (r) {
      if (r.status === 200) {
        showProblems([]);
        var created = r.body.deployed.filter(function (d) { return d.created; });
        say(created.length ? "Развёрнуто: " + created.map(function (d) { return d.process_key + " v" + d.version; }).join(", ")
          : "Изменений нет: новая версия не создана.");
        el.dataset.deployed = created.length ? "created" : "unchanged";
      } else {
        showProblems(r.body.problems || []);
        say(r.body.message || "Развернуть нельзя: исправьте замечания.");
        el.dataset.deployed = "refused";
      }
    }).catch(function (err) { say("Развёртывание не удалось: " + err.message); });
  });

  document.getElementById("download-button").addEventListener("click", function () {
    currentXml().then(function (xml) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      a.download = files[current].name; document.body.appendChild(a); a.click(); a.remove();
    });
  });

  document.getElementById("open-file").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) return;
    file.text().then(function (xml) { files[current].xml = xml; return open(current, xml); });
  });

  select.addEventListener("change", function () {
    currentXml().then(function () { open(Number(select.value)); });
  });

  fetch(el.dataset.sourceUrl, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (data) {
      files = data.files;
      files.forEach(function (f, i) {
        var o = document.createElement("option"); o.value = String(i); o.textContent = f.name; select.appendChild(o);
      });
      window.MedflowProperties(modeler, document.getElementById("properties"), data);
      window.medflowModeler = modeler;  // for the browser tests and the curious
      return open(0);
    })
    .catch(function (err) { say("Не удалось загрузить схему: " + err.message); });
})();
