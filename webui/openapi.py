"""The OpenAPI 3.1 document of `/api/v1`, built in code so it cannot drift from the routes without
the schema-driven test (tests/test_web_api_schema.py) noticing."""

from __future__ import annotations

from typing import Any

S = "string"
NULL_S = [S, "null"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "Неверный запрос", 401: "Нет токена или он недействителен", 403: "Недостаточно прав",
             404: "Не найдено", 409: "Конфликт: задачу уже взяли или выполнили", 422: "Данные не прошли проверку"}
    return {str(c): _json(_ref("ValidationError" if c == 422 else "Error"), texts[c]) for c in (401, *codes)}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}


def _query(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": S, "minLength": 1}}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **extra}


_OBJ = {"type": "object"}
_PROFILE = {"full_name": {"type": S, "maxLength": 300}, "email": {"type": NULL_S},
            "role": {"enum": ["operator", "analyst", "supervisor", "admin"]},
            "groups": {"type": "array", "items": {"type": S}, "maxItems": 50}}
_FILES = {"files": {"type": "array", "items": {"type": S, "contentMediaType": "application/octet-stream"}}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": S}, "message": {"type": S}}},
    "ValidationError": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": S}, "message": {"type": S},
        "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
            "field": {"type": S}, "message": {"type": S}, "code": {"type": S}}}},
        "problems": {"type": "array", "items": _ref("Problem")}}},
    "Account": {"type": "object", "required": ["username", "role"], "properties": {
        "id": {"type": "integer"}, "username": {"type": S}, "full_name": {"type": S}, "email": {"type": NULL_S},
        "role": {"enum": ["applicant", "operator", "analyst", "supervisor", "admin"]},
        "groups": {"type": "array", "items": {"type": S}}, "active": {"type": "boolean"}}},
    "Definition": {"type": "object", "required": ["process_key", "version"], "properties": {
        "id": {"type": "integer"}, "process_key": {"type": S}, "name": {"type": S}, "version": {"type": "integer"},
        "bundle_hash": {"type": S}, "deployed_at": {"type": NULL_S}, "deployed_by": {"type": NULL_S}}},
    "DeployResult": {"type": "object", "required": ["process_key", "version", "created"], "properties": {
        "process_key": {"type": S}, "name": {"type": S}, "version": {"type": "integer"},
        "bundle_hash": {"type": S}, "created": {"type": "boolean"}}},
    "StaffMember": {"type": "object", "required": ["username", "role", "active", "open_tasks"], "properties": {
        "username": {"type": S}, "full_name": {"type": S}, "role": {"type": S},
        "groups": {"type": "array", "items": {"type": S}}, "active": {"type": "boolean"},
        "password_temporary": {"type": "boolean", "description": "пароль выдан руководителем и ещё не сменён"},
        "open_tasks": {"type": "integer", "minimum": 0},
        "away": {"type": ["object", "null"], "properties": {"until": {"type": S, "format": "date"},
                                                           "deputy": {"type": S}}},
        "standing_in_for": {"type": "array", "items": {"type": S}}}},
    "Departure": {"type": "object", "required": ["username", "tasks_moved"], "properties": {
        "username": {"type": S}, "hand_over_to": {"type": NULL_S}, "tasks_moved": {"type": "integer"},
        "substitutions_cancelled": {"type": "array", "items": _ref("Substitution")}}},
    "SecurityEvent": {"type": "object", "required": ["id", "at", "actor", "action"], "properties": {
        "id": {"type": "integer"}, "at": {"type": NULL_S}, "actor": {"type": S}, "action": {"type": S},
        "old": {"type": NULL_S}, "new": {"type": NULL_S}}},
    "Problem": {"type": "object", "required": ["message"], "properties": {
        "file": {"type": NULL_S}, "line": {"type": ["integer", "null"]}, "element_id": {"type": NULL_S},
        "message": {"type": S}}},
    "InstanceSummary": {"type": "object", "required": ["id", "business_key", "process_key", "status"], "properties": {
        "id": {"type": "integer"}, "business_key": {"type": S}, "process_key": {"type": S},
        "status": {"enum": ["running", "completed", "cancelled", "incident"]}, "portal_status": {"type": NULL_S},
        "started_by": {"type": NULL_S}, "created_at": {"type": NULL_S}, "updated_at": {"type": NULL_S},
        "completed_at": {"type": NULL_S}, "next_due_at": {"type": NULL_S}, "last_error": {"type": NULL_S}}},
    "Instance": {"allOf": [_ref("InstanceSummary"), {"type": "object", "properties": {
        "version": {"type": ["integer", "null"]}, "open_tasks": {"type": "array", "items": _ref("Task")},
        "jobs": {"type": "array", "items": _OBJ}, "incidents": {"type": "array", "items": _OBJ},
        "waiting_for_messages": {"type": "array", "items": {"type": S}}, "data": _OBJ}}]},
    "StartResult": {"type": "object", "required": ["id", "business_key", "status"], "properties": {
        "id": {"type": "integer"}, "business_key": {"type": S}, "status": {"type": S},
        "portal_status": {"type": NULL_S}, "version": {"type": "integer"}}},
    "Task": {"type": "object", "required": ["id", "business_key", "name", "status"], "properties": {
        "id": {"type": S}, "instance_id": {"type": "integer"}, "business_key": {"type": S},
        "process_key": {"type": S}, "element_id": {"type": S}, "name": {"type": S},
        "candidate_group": {"type": NULL_S}, "assignee": {"type": NULL_S},
        "status": {"enum": ["open", "completed", "cancelled"]}, "due_at": {"type": NULL_S},
        "overdue": {"type": "boolean"}, "created_at": {"type": NULL_S}, "completed_at": {"type": NULL_S},
        "completed_by": {"type": NULL_S}, "schema": {"type": ["object", "null"]},
        "ui_schema": {"type": ["object", "null"]}}},
    "AuditEvent": {"type": "object", "required": ["at", "actor", "action"], "properties": {
        "id": {"type": "integer"}, "at": {"type": NULL_S}, "actor": {"type": S}, "action": {"type": S},
        "element_id": {"type": NULL_S}, "old": {"type": NULL_S}, "new": {"type": NULL_S},
        "details": {"type": ["object", "null"]}}},
    "Incident": {"type": "object", "required": ["id", "instance_id", "element_id", "status"], "properties": {
        "id": {"type": "integer"}, "instance_id": {"type": "integer"}, "business_key": {"type": NULL_S},
        "process_key": {"type": NULL_S},
        "element_id": {"type": S}, "handler": {"type": NULL_S}, "error": {"type": S}, "attempts": {"type": "integer"},
        "status": {"enum": ["open", "resolved"]}, "created_at": {"type": NULL_S}, "resolved_at": {"type": NULL_S},
        "resolved_by": {"type": NULL_S}}},
    "IncidentGroup": {"type": "object", "required": ["process_key", "element_id", "count", "last_id"], "properties": {
        "process_key": {"type": S}, "element_id": {"type": S}, "handler": {"type": NULL_S},
        "count": {"type": "integer"}, "last_id": {"type": "integer"}, "first_at": {"type": NULL_S},
        "last_at": {"type": NULL_S}, "error": {"type": S}}},
    "ScheduledRetries": {"type": "object", "required": ["scheduled", "remaining"], "properties": {
        "scheduled": {"type": "integer"}, "remaining": {"type": "integer"},
        "first_due_at": {"type": NULL_S}, "last_due_at": {"type": NULL_S}}},
    "Substitution": {"type": "object", "required": ["id", "absent", "deputy", "starts_on", "ends_on", "active"],
                     "properties": {
        "id": {"type": "integer"}, "absent": {"type": S}, "deputy": {"type": S},
        "starts_on": {"type": S, "format": "date"}, "ends_on": {"type": S, "format": "date"}, "reason": {"type": S},
        "created_by": {"type": S}, "created_at": {"type": S}, "cancelled_by": {"type": NULL_S},
        "cancelled_at": {"type": NULL_S}, "active": {"type": "boolean"}}},
    "ProcessReport": {"type": "object", "required": ["process_key", "submitted", "finished", "outcomes"],
                      "properties": {
        "process_key": {"type": S}, "submitted": {"type": "integer"}, "finished": {"type": "integer"},
        "outcomes": {"type": "object", "additionalProperties": {"type": "integer"}},
        "median_working_days": {"type": ["number", "null"]}, "p90_working_days": {"type": ["number", "null"]},
        "tasks_done": {"type": "integer"}, "tasks_with_deadline": {"type": "integer"},
        "tasks_on_time": {"type": "integer"}, "on_time_share": {"type": ["number", "null"]}}},
    "Document": {"type": "object", "required": ["id", "name", "status", "problems"], "properties": {
        "id": {"type": S, "pattern": "^[0-9a-f]{32}$"}, "name": {"type": S}, "size": {"type": "integer"},
        "type": {"type": NULL_S}, "status": {"type": S}, "problems": {"type": "array", "items": {"type": S}},
        "business_key": {"type": NULL_S}}},
    "CompleteResult": {"type": "object", "required": ["business_key", "status"], "properties": {
        "instance_id": {"type": "integer"}, "business_key": {"type": S}, "status": {"type": S},
        "portal_status": {"type": NULL_S}}},
}


def _paths() -> dict[str, Any]:
    task_path = [_path("task_id")]
    return {
        "/openapi.json": {"get": _op("Этот документ", {"200": _json(_OBJ)}, security=[])},
        "/me": {"get": _op("Кто я", {"200": _json(_ref("Account")), **_errors()})},
        "/definitions": {
            "get": _op("Развёрнутые процессы и версии", {"200": _json({"type": "array", "items": _ref("Definition")}),
                                                         **_errors()}),
            "post": _op("Развернуть .bpmn/.dmn (новая версия для изменённых)",
                        {"201": _json({"type": "array", "items": _ref("DeployResult")}, "Развёрнуто"),
                         **_errors(403, 422)}, requestBody=_multipart(_FILES, ["files"]))},
        "/definitions/lint": {"post": _op(
            "Проверить диаграммы без развёртывания",
            {"200": _json({"type": "object", "required": ["problems"],
                           "properties": {"problems": {"type": "array", "items": _ref("Problem")}}}),
             **_errors(403, 422)}, requestBody=_multipart(_FILES, ["files"]))},
        "/instances": {
            "get": _op("Заявления (руководитель — все, заявитель — свои); новые первыми", {
                "200": _json({"type": "array", "items": _ref("InstanceSummary")}), **_errors(403, 422)},
                parameters=[_query("process_key", {"type": S}), _query("status", {"type": S}),
                            _query("started_by", {"type": S}),
                            _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                            _query("before_id", {"type": "integer", "minimum": 1}, "курсор: id последнего")]),
            "post": _op("Начать процесс", {"201": _json(_ref("StartResult"), "Создано"), **_errors(403, 404, 422)},
                        requestBody=_body({"type": "object", "required": ["process_key"], "properties": {
                            "process_key": {"type": S, "minLength": 1}, "data": _OBJ}}))},
        "/instances/{ref}": {"get": _op("Заявление по id или номеру", {
            "200": _json(_ref("Instance")), **_errors(403, 404)}, parameters=[_path("ref")])},
        "/instances/{ref}/history": {"get": _op("Журнал событий, старые первыми", {
            "200": _json({"type": "array", "items": _ref("AuditEvent")}), **_errors(403, 404, 422)},
            parameters=[_path("ref"), _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                        _query("after_id", {"type": "integer", "minimum": 1}, "курсор: id последнего")])},
        "/instances/{ref}/cancel": {"post": _op("Отменить заявление", {
            "200": _json(_ref("InstanceSummary")), **_errors(403, 404, 409)}, parameters=[_path("ref")],
            requestBody=_body({"type": "object", "properties": {"reason": {"type": S, "maxLength": 500}}}, False))},
        "/tasks": {"get": _op("Задачи (по правилам списка задач), ближайший срок первым", {
            "200": _json({"type": "array", "items": _ref("Task")}), **_errors(422)}, parameters=[
                _query("status", {"enum": ["open", "completed", "cancelled"]}), _query("process_key", {"type": S}),
                _query("business_key", {"type": S}), _query("assignee", {"type": S}),
                _query("overdue", {"enum": ["1", "0", "true", "false"]}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                _query("after", {"type": S, "description": "X-Next-After of the previous page (keyset cursor)"})])},
        "/tasks/{task_id}": {"get": _op("Задача со схемой формы", {"200": _json(_ref("Task")), **_errors(404)},
                                        parameters=task_path)},
        "/tasks/{task_id}/form": {"get": _op("Схема и UI-схема формы задачи", {"200": _json({
            "type": "object", "required": ["task_id"], "properties": {"task_id": {"type": S},
                                                                   "schema": {"type": ["object", "null"]},
                                                                   "ui_schema": {"type": ["object", "null"]}}}),
            **_errors(404)}, parameters=task_path)},
        "/tasks/{task_id}/claim": {"post": _op("Взять в работу", {"200": _json(_ref("Task")), **_errors(404, 409)},
                                               parameters=task_path)},
        "/tasks/{task_id}/unclaim": {"post": _op("Вернуть в очередь", {"200": _json(_ref("Task")),
                                                                       **_errors(404, 409)}, parameters=task_path)},
        "/tasks/{task_id}/complete": {"post": _op(
            "Выполнить задачу с данными формы", {"200": _json(_ref("CompleteResult")), **_errors(404, 409, 422)},
            parameters=task_path, requestBody=_body({"type": "object", "required": ["data"],
                                                     "properties": {"data": _OBJ}}))},
        "/messages": {"post": _op("Сообщение процессу по номеру заявления", {
            "200": _json(_OBJ), **_errors(403, 404, 422)}, requestBody=_body({
                "type": "object", "required": ["name", "business_key"], "properties": {
                    "name": {"type": S, "minLength": 1}, "business_key": {"type": S, "minLength": 1},
                    "data": _OBJ}}))},
        "/documents": {"post": _op("Загрузить документ (тип определяется по содержимому)", {
            "201": _json(_ref("Document"), "Сохранено; problems — что не так с файлом"), **_errors(422)},
            requestBody=_multipart({"file": {"type": S, "contentMediaType": "application/octet-stream"},
                                    "business_key": {"type": S}}, ["file"]))},
        "/documents/{document_id}": {"get": _op("Сведения о документе", {"200": _json(_ref("Document")),
                                                                         **_errors(404)},
                                                parameters=[_path("document_id")])},
        "/documents/{document_id}/content": {"get": _op("Содержимое документа", {
            "200": {"description": "Файл", "content": {m: {"schema": {"type": S}} for m in (
                "application/pdf", "image/jpeg", "image/png", "application/octet-stream")}}, **_errors(404)},
            parameters=[_path("document_id")])},
        "/calendar/add-working-days": {"get": _op("Дата через N рабочих дней (производственный календарь РФ)", {
            "200": _json({"type": "object", "required": ["from", "days", "date"], "properties": {
                "from": {"type": S, "format": "date"}, "days": {"type": "integer"}, "date": {"type": S, "format": "date"}}}),
            **_errors(422)}, parameters=[_query("from", {"type": S, "format": "date"}, "ГГГГ-ММ-ДД", True),
                                         _query("days", {"type": "integer", "minimum": 0, "maximum": 3650}, "", True)])},
        "/incidents": {"get": _op("Инциденты руководителя, старые первыми", {
            "200": _json({"type": "array", "items": _ref("Incident")}), **_errors(403, 422)}, parameters=[
                _query("status", {"enum": ["open", "resolved"]}), _query("process_key", {"type": S}),
                _query("element_id", {"type": S}), _query("handler", {"type": S}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _query("after_id", {"type": "integer", "minimum": 1}, "курсор: id последнего")])},
        "/incidents/groups": {"get": _op("Открытые инциденты по процедуре, шагу и обработчику, крупные первыми", {
            "200": _json({"type": "array", "items": _ref("IncidentGroup")}), **_errors(403)})},
        "/incidents/{incident_id}/retry": {"post": _op("Повторить шаг инцидента сейчас", {
            "200": _json({"type": "object", "required": ["instance_id", "status"], "properties": {
                "instance_id": {"type": "integer"}, "status": {"type": S}}}), **_errors(403, 404, 409)},
            parameters=[_path("incident_id")])},
        "/incidents/retry": {"post": _op(
            "Повторить открытые инциденты группы через обработчик таймеров (сразу или с заданной скоростью)", {
                "200": _json(_ref("ScheduledRetries")), **_errors(403, 422)},
            requestBody=_body({"type": "object", "properties": {
                "process_key": {"type": NULL_S}, "element_id": {"type": NULL_S}, "handler": {"type": NULL_S},
                "up_to_id": {"type": "integer", "minimum": 1, "description": "новейший из показанных"},
                "per_second": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10000}}}))},
        "/substitutions": {
            "get": _op("Текущие и запланированные замещения (сотрудник — только свои)", {
                "200": _json({"type": "array", "items": _ref("Substitution")}), **_errors(403, 422)}, parameters=[
                    _query("person", {"type": S}, "отсутствующий или заместитель (руководитель)"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("after_id", {"type": "integer", "minimum": 1}, "курсор: id последнего")]),
            "post": _op("Назначить заместителя на период отсутствия", {
                "201": _json(_ref("Substitution"), "Создано"), **_errors(403, 422)},
                requestBody=_body({"type": "object", "required": ["absent", "deputy", "starts_on", "ends_on"],
                                   "properties": {
                    "absent": {"type": S}, "deputy": {"type": S},
                    "starts_on": {"type": S, "format": "date", "description": "ГГГГ-ММ-ДД или ДД.ММ.ГГГГ"},
                    "ends_on": {"type": S, "format": "date"}, "reason": {"type": S, "maxLength": 300}}}))},
        "/substitutions/{substitution_id}/cancel": {"post": _op("Отменить замещение", {
            "200": _json(_ref("Substitution")), **_errors(403, 404, 409)}, parameters=[_path("substitution_id")])},
        "/staff": {"get": _op("Сотрудники: открытые задачи, отсутствие, кого замещают", {
            "200": _json({"type": "array", "items": _ref("StaffMember")}), **_errors(403)}),
            "post": _op("Создать учётную запись сотрудника (руководитель — оператора или аналитика)", {
                "201": _json(_ref("Account"), "Создано"), **_errors(403, 409, 422)},
                requestBody=_body({"type": "object", "required": ["username", "password", "full_name", "role"],
                                   "properties": {
                    "username": {"type": S, "description": "буквы, цифры, «_» и «.»"},
                    "password": {"type": S, "description": "не короче 8 символов, буквы и цифры"},
                    **_PROFILE}}))},
        "/staff/{username}": {"patch": _op("Изменить ФИО, почту, роль или группы сотрудника", {
            "200": _json(_ref("Account")), **_errors(403, 404, 422)}, parameters=[_path("username")],
            requestBody=_body({"type": "object", "properties": _PROFILE}))},
        "/staff/{username}/password": {"post": _op("Задать сотруднику новый пароль (снимает блокировку входа)", {
            "200": _json({"type": "object", "required": ["username", "password_changed"], "properties": {
                "username": {"type": S}, "password_changed": {"type": "boolean"}}}), **_errors(403, 404, 422)},
            parameters=[_path("username")],
            requestBody=_body({"type": "object", "required": ["password"], "properties": {"password": {"type": S}}}))},
        "/staff/{username}/disable": {"post": _op(
            "Отключить учётную запись (увольнение): задачи — коллеге или в очереди групп; повтор безопасен", {
                "200": _json(_ref("Departure")), **_errors(403, 404, 422)}, parameters=[_path("username")],
            requestBody=_body({"type": "object", "properties": {
                "to": {"type": NULL_S, "description": "кому передать открытые задачи; без него — в очереди групп"}}}))},
        "/staff/{username}/enable": {"post": _op("Включить учётную запись снова", {
            "200": _json({"type": "object", "required": ["username", "active"], "properties": {
                "username": {"type": S}, "active": {"type": "boolean"}}}), **_errors(403, 404)},
            parameters=[_path("username")])},
        "/security-events": {"get": _op(
            "Журнал безопасности (администратор): входы, блокировки, токены, учётные записи — новые сверху; "
            "следующая страница — before_id из заголовка X-Next-Before-Id", {
                "200": _json({"type": "array", "items": _ref("SecurityEvent")}), **_errors(403, 422)}, parameters=[
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("before_id", {"type": "integer", "minimum": 1}, "курсор: id последнего")])},
        "/reports/applications": {"get": _op(
            "Отчёт за период по процедурам: поступило, завершено и с каким итогом, рабочие дни, задачи в срок", {
                "200": _json({"type": "object", "required": ["from", "to", "processes"], "properties": {
                    "from": {"type": S, "format": "date"}, "to": {"type": S, "format": "date"},
                    "processes": {"type": "array", "items": _ref("ProcessReport")}}}), **_errors(403, 422)},
            parameters=[_query("from", {"type": S, "format": "date"}, "ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", True),
                        _query("to", {"type": S, "format": "date"}, "последний день, включительно", True),
                        _query("process_key", {"type": S})])},
        "/clock/advance": {"post": _op("Перевести часы (только clock: simulated)", {
            "200": _json({"type": "object", "required": ["now"], "properties": {"now": {"type": S}}}),
            **_errors(403, 422)}, requestBody=_body({"type": "object", "required": ["amount"], "properties": {
                "amount": {"type": S, "description": "11d, 3h, 10wd"}}}))},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "MedFlow API", "version": "1",
                 "description": "Процессы, заявления, задачи, сообщения, документы, календарь рабочих дней. "
                                "Ошибки: JSON с error и message; 422 — со списком errors по полям."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": _paths(),
    }
