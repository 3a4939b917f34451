/* The properties an analyst needs without XML: name, portal status, user task form and
   candidate group and due date, service task handler (from the registered list) and its
   parameters, timer expression (e.g. working_days(10)). Writes through bpmn-js modeling, so
   undo works. */
window.MedflowProperties = function (modeler, panel, palette) {
  "use strict";
  var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");

  function extensions(element, create) {
    var bo = element.businessObject, ee = bo.extensionElements;
    if (!ee && create) {
      ee = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(element, { extensionElements: ee });
    }
    return ee;
  }
  function child(element, type, create) {
    var ee = extensions(element, create);
    if (!ee) return null;
    var found = (ee.get("values") || []).filter(function (v) { return v.$type === type; })[0];
    if (!found && create) {
      found = moddle.create(type, {});
      modeling.updateModdleProperties(element, ee, { values: (ee.get("values") || []).concat([found]) });
    }
    return found || null;
  }
  function getProp(element, name) {
    var props = child(element, "spiffworkflow:Properties", false);
    var found = props ? (props.get("properties") || []).filter(function (p) { return p.name === name; })[0] : null;
    return found ? found.value : "";
  }
  /* Add, change or (empty value) remove the item of container[listName] whose keyName is key. */
  function setItem(element, container, listName, type, keyName, key, value, extra) {
    var list = container.get(listName) || [], change = {};
    var found = list.filter(function (item) { return item[keyName] === key; })[0];
    if (found && value) {
      modeling.updateModdleProperties(element, found, { value: value });
      return;
    }
    if (found) {
      change[listName] = list.filter(function (item) { return item !== found; });
    } else if (value) {
      var attrs = Object.assign({ value: value }, extra || {});
      attrs[keyName] = key;
      change[listName] = list.concat([moddle.create(type, attrs)]);
    } else {
      return;
    }
    modeling.updateModdleProperties(element, container, change);
  }
  function setProp(element, name, value) {
    var props = child(element, "spiffworkflow:Properties", !!value);
    if (props) setItem(element, props, "properties", "spiffworkflow:Property", "name", name, value);
  }
  function parametersOf(op) {
    var params = op.get("parameters");
    return params ? (params.get("parameters") || []) : [];
  }
  function setParameter(element, op, name, value) {
    var params = op.get("parameters");
    if (!params) {
      if (!value) return;
      params = moddle.create("spiffworkflow:Parameters", { parameters: [] });
      modeling.updateModdleProperties(element, op, { parameters: params });
    }
    setItem(element, params, "parameters", "spiffworkflow:Parameter", "id", name, value, { type: "any" });
  }
  /* One field per parameter the handler takes (required ones marked), plus any the diagram
     passes that the handler does not know, so that they can be seen and cleared. */
  function parameterFields(element, op, spec) {
    var existing = parametersOf(op), names = spec ? spec.params.slice() : [];
    existing.forEach(function (p) { if (names.indexOf(p.id) < 0) names.push(p.id); });
    names.forEach(function (name) {
      var found = existing.filter(function (p) { return p.id === name; })[0];
      var required = spec && spec.required.indexOf(name) >= 0, unknown = spec && spec.params.indexOf(name) < 0;
      var help = unknown ? "обработчик не принимает этот параметр: очистите поле"
        : "Python-выражение над данными заявления, например applicant" + (required ? "; обязательный" : "");
      var input = text("prop-param-" + name, found ? found.value : "", function (v) {
        setParameter(element, op, name, v);
      });
      if (required) input.required = true;
      panel.appendChild(field("Параметр «" + name + "»" + (required ? " *" : ""), input, help));
    });
  }
  function timerOf(element) {
    var defs = element.businessObject.eventDefinitions || [];
    return defs.filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0] || null;
  }

  function field(label, input, help) {
    var wrap = document.createElement("div"); wrap.className = "field";
    var l = document.createElement("label"); l.textContent = label; l.htmlFor = input.id;
    wrap.appendChild(l); wrap.appendChild(input);
    if (help) { var h = document.createElement("p"); h.className = "help"; h.textContent = help; wrap.appendChild(h); }
    return wrap;
  }
  function text(id, value, onChange, listId) {
    var i = document.createElement("input"); i.id = id; i.value = value || "";
    if (listId) i.setAttribute("list", listId);
    i.addEventListener("change", function () { onChange(i.value.trim()); });
    return i;
  }
  function select(id, options, value, onChange) {
    var s = document.createElement("select"); s.id = id;
    [""].concat(options).forEach(function (o) {
      var opt = document.createElement("option"); opt.value = o; opt.textContent = o || "—"; s.appendChild(opt);
    });
    if (value && options.indexOf(value) < 0) {
      var extra = document.createElement("option"); extra.value = value; extra.textContent = value + " (нет в списке)"; s.appendChild(extra);
    }
    s.value = value || "";
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  }

  function render(element) {
    panel.innerHTML = "";
    if (!element || element.type === "label") {
      panel.innerHTML = '<p class="muted">Выберите элемент на схеме, чтобы изменить его свойства.</p>';
      return;
    }
    var bo = element.businessObject, type = bo.$type;
    var h = document.createElement("h2"); h.textContent = type.replace("bpmn:", ""); panel.appendChild(h);
    var idp = document.createElement("p"); idp.className = "muted small"; idp.textContent = "id: " + bo.id; panel.appendChild(idp);
    panel.appendChild(field("Название", text("prop-name", bo.name, function (v) { modeling.updateLabel(element, v); })));
    if (type === "bpmn:UserTask") {
      panel.appendChild(field("Форма (JSON Schema)", select("prop-form", palette.forms.filter(function (f) { return f.indexOf(".uischema.") < 0; }),
        getProp(element, "formJsonSchemaFilename"), function (v) { setProp(element, "formJsonSchemaFilename", v); })));
      panel.appendChild(field("UI-схема формы", select("prop-ui", palette.forms.filter(function (f) { return f.indexOf(".uischema.") >= 0; }),
        getProp(element, "formUiSchemaFilename"), function (v) { setProp(element, "formUiSchemaFilename", v); })));
      panel.appendChild(field("Группа исполнителей", text("prop-group", getProp(element, "candidateGroups"),
        function (v) { setProp(element, "candidateGroups", v); }, "groups-list"), "по умолчанию — имя дорожки"));
      panel.appendChild(field("Срок", text("prop-due", getProp(element, "dueDate"),
        function (v) { setProp(element, "dueDate", v); }), "выражение, например working_days(10)"));
    }
    if (type === "bpmn:ServiceTask") {
      var op = child(element, "spiffworkflow:ServiceTaskOperator", false);
      panel.appendChild(field("Обработчик", select("prop-handler", palette.handlers.map(function (x) { return x.name; }),
        op ? op.get("id") : "", function (v) {
          var target = child(element, "spiffworkflow:ServiceTaskOperator", true);
          modeling.updateModdleProperties(element, target, { id: v });
          render(element);
        })));
      if (op) {
        var spec = palette.handlers.filter(function (x) { return x.name === op.get("id"); })[0];
        if (spec) {
          var doc = document.createElement("p"); doc.className = "help";
          doc.textContent = (spec.doc || "") + (spec.params.length ? " Параметры: " + spec.params.join(", ") : "");
          panel.appendChild(doc);
        }
        panel.appendChild(field("Переменная результата", text("prop-result", op.get("resultVariable"),
          function (v) { modeling.updateModdleProperties(element, op, { resultVariable: v }); })));
        parameterFields(element, op, spec);
      }
    }
    var timer = timerOf(element);
    if (timer) {
      var kind = timer.timeDate ? "timeDate" : timer.timeDuration ? "timeDuration" : timer.timeCycle ? "timeCycle" : "timeDate";
      var expr = timer[kind] ? timer[kind].body : "";
      var kindSelect = select("prop-timer-kind", ["timeDate", "timeDuration", "timeCycle"], kind, function () { save(); });
      var exprInput = text("prop-timer", expr, function () { save(); });
      var save = function () {
        var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
        props[kindSelect.value || "timeDate"] = moddle.create("bpmn:FormalExpression", { body: exprInput.value.trim() });
        modeling.updateModdleProperties(element, timer, props);
      };
      panel.appendChild(field("Вид таймера", kindSelect));
      panel.appendChild(field("Выражение таймера", exprInput,
        "Python-выражение: working_days(10) — конец 10-го рабочего дня; длительность в кавычках: \"P5D\""));
    }
    if (/Task$|Event$|SubProcess$|CallActivity$/.test(type)) {
      panel.appendChild(field("Статус для заявителя", text("prop-status", getProp(element, "portalStatus"),
        function (v) { setProp(element, "portalStatus", v); }), "виден в «Моих заявлениях», когда процесс дошёл до элемента"));
    }
  }

  var list = document.createElement("datalist"); list.id = "groups-list";
  palette.groups.forEach(function (g) { var o = document.createElement("option"); o.value = g; list.appendChild(o); });
  document.body.appendChild(list);
  modeler.get("eventBus").on("selection.changed", function (e) { render(e.newSelection[0]); });
  return { render: render };
};
