/* The spiffworkflow extension elements as a moddle package, so the modeler can read and write
   user task forms, candidate groups, portal statuses and service task handlers (and keeps them
   when saving). */
window.SPIFFWORKFLOW_MODDLE = {
  name: "SpiffWorkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  prefix: "spiffworkflow",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
    { name: "Property", superClass: ["Element"], properties: [
      { name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }] },
    { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
      { name: "id", type: "String", isAttr: true }, { name: "resultVariable", type: "String", isAttr: true },
      { name: "parameters", type: "Parameters" }, { name: "retry", type: "Retry" }] },
    { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
    { name: "Parameter", superClass: ["Element"], properties: [
      { name: "id", type: "String", isAttr: true }, { name: "type", type: "String", isAttr: true },
      { name: "value", type: "String", isAttr: true }] },
    { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "Retry", superClass: ["Element"], properties: [
      { name: "retries", type: "String", isAttr: true }, { name: "backoff_base", type: "String", isAttr: true }] },
    { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "MessageVariable", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
    { name: "MessagePayload", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] }
  ]
};
