/* The supervisor's view of an instance: bpmn-js NavigatedViewer with the elements the instance is
   at now (blue), has completed (green, with the flows between them) and fails at (red). */
(function () {
  "use strict";
  var el = document.getElementById("canvas");
  if (!el || el.dataset.mode !== "viewer" || typeof BpmnJS === "undefined") return;
  var status = document.getElementById("diagram-status");
  var select = document.getElementById("diagram-file");
  var viewer = new BpmnJS({ container: el });
  var data = null;

  function mark() {
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
    var active = new Set(data.active), done = new Set(data.done), problems = new Set(data.problems);
    var shown = 0;
    registry.getAll().forEach(function (element) {
      if (element.type === "label" || !element.businessObject) return;
      var id = element.id, bo = element.businessObject;
      if (problems.has(id)) { canvas.addMarker(id, "highlight-problem"); shown++; }
      else if (active.has(id)) { canvas.addMarker(id, "highlight-active"); shown++; }
      else if (done.has(id)) canvas.addMarker(id, "highlight-done");
      else if (element.waypoints && bo.sourceRef && bo.targetRef) {
        var s = bo.sourceRef.id, t = bo.targetRef.id;
        if (done.has(s) && (done.has(t) || active.has(t))) canvas.addMarker(id, "highlight-done");
      }
    });
    el.dataset.activeShown = String(shown);
    return shown;
  }

  function show(index) {
    el.dataset.rendered = "";
    viewer.importXML(data.files[index].xml).then(function () {
      viewer.get("canvas").zoom("fit-viewport");
      var shown = mark();
      status.textContent = data.process_key + " v" + data.version + ": активных элементов на схеме — " + shown + ".";
      el.dataset.rendered = "1";
    }).catch(function (err) {
      status.textContent = "Не удалось показать схему: " + err.message;
      el.dataset.rendered = "error";
    });
  }

  fetch(el.dataset.diagramUrl, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (d) {
      data = d;
      d.files.forEach(function (f, i) {
        var o = document.createElement("option"); o.value = String(i); o.textContent = f.name; select.appendChild(o);
      });
      select.addEventListener("change", function () { show(Number(select.value)); });
      show(0);
    })
    .catch(function (err) { status.textContent = "Схема недоступна: " + err.message; });
})();
