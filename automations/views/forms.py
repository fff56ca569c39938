"""Wizard forms built from the connectors' field declarations (the one source).

Every field takes text, since any field may hold a reference such as
``{{ steps.image.url }}``; structured fields (messages, key/value rows, JSON) are edited
as JSON. Values go through the same validation as the API when the step is saved.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from automations.views.rows import COLUMNS, Rows, rows_from_post, rows_from_value, value_from_rows
from connectors import fields as field_types

STRUCTURED = {
    field_types.JSON,
    field_types.MESSAGES,
    field_types.KEY_VALUE,
    field_types.SCHEMA,
    field_types.SUB_AUTOMATIONS,
    field_types.ANY,
    field_types.CONDITIONS,
}


def _widget(f: field_types.Field) -> forms.Widget:
    attrs = {"list": "data-elements", "autocomplete": "off"}
    if f.secret:
        return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    if f.type in STRUCTURED or f.type == field_types.LONG_TEXT:
        return forms.Textarea(
            attrs={"rows": 4 if f.type != field_types.MESSAGES else 6, "spellcheck": "false"}
        )
    return forms.TextInput(attrs=attrs)


def _initial(f: field_types.Field, value: Any) -> str:
    if value is None:
        return ""
    if f.type in STRUCTURED and not isinstance(value, str):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ConfigForm(forms.Form):
    """The fields of one trigger or action; ``optional`` ones sit behind Show Optional
    Fields."""

    def __init__(
        self,
        declared: tuple,
        *args: Any,
        config: dict | None = None,
        has_secrets: bool = False,
        lookup_url: str | None = None,
        **kwargs: Any,
    ):
        data = args[0] if args else kwargs.get("data")
        if data is not None:
            data = data.copy()
            args = (data, *args[1:]) if args else args
            kwargs = {**kwargs, "data": data} if "data" in kwargs else kwargs
        super().__init__(*args, **kwargs)
        self.declared = {f.key: f for f in declared}
        config = config or {}
        # True when the post only added or removed a row: show the form again, save nothing.
        self.row_change = False
        for f in declared:
            help_text = f.help
            if f.choices:
                help_text = (
                    (help_text + " " if help_text else "")
                    + "One of: "
                    + ", ".join(v for v, _ in f.choices)
                )
            if f.secret:
                help_text = (help_text + " " if help_text else "") + (
                    "Stored encrypted, never shown. Leave blank to keep it."
                    if has_secrets
                    else "Stored encrypted."
                )
            self.fields[f.key] = forms.CharField(
                label=f.label,
                required=False,
                help_text=help_text,
                widget=_widget(f),
                initial=_initial(f, config.get(f.key, f.default)) if not f.secret else "",
            )
            self.fields[f.key].optional = not f.required
            if f.lookup and lookup_url and f.key in self.fields:
                # Live choices from the chosen account, fetched when the field is first
                # focused; a reference can still be typed.
                self.fields[f.key].widget.attrs.update({
                    "list": f"lookup-{f.key}",
                    "hx-get": f"{lookup_url}{f.lookup}/",
                    "hx-trigger": "focus once",
                    "hx-target": f"#lookup-{f.key}",
                    "hx-include": "[name=account],[name=branch],[name=content_type]",
                })  # fmt: skip
                self.fields[f.key].lookup_list = f"lookup-{f.key}"
                if f.choices:
                    self.fields[f.key].widget = forms.TextInput(
                        attrs=self.fields[f.key].widget.attrs
                    )
            if f.type in COLUMNS and not f.secret:
                self._rows(f, data, config)
            if f.type == field_types.BOOLEAN:
                self.fields[f.key].widget = forms.Select(
                    choices=[("", "---------"), ("true", "Yes"), ("false", "No")]
                )
            if f.choices and not f.allow_custom:
                self.fields[f.key].widget = forms.Select(
                    choices=[("", "---------")] + list(f.choices)
                    if not f.required
                    else list(f.choices)
                )

    def _rows(self, f: field_types.Field, data: Any, config: dict[str, Any]) -> None:
        posted = rows_from_post(data, f.key, f.type) if data is not None else None
        rows = (
            posted if posted is not None else rows_from_value(f.type, config.get(f.key, f.default))
        )
        if rows is None:
            return  # a reference: edited as text
        if data is not None:
            if data.get("add_row") == f.key:
                rows.append(dict.fromkeys(COLUMNS[f.type], ""))
                self.row_change = True
            remove = data.get("remove_row", "")
            if remove.startswith(f.key + ":") and remove.rpartition(":")[2].isdigit():
                index = int(remove.rpartition(":")[2])
                rows = [row for i, row in enumerate(rows) if i != index]
                self.row_change = True
            if posted is not None:
                data[f.key] = json.dumps(value_from_rows(f.type, rows))
        if not rows:
            rows = [dict.fromkeys(COLUMNS[f.type], "")]
        self.fields[f.key].rows = Rows(f.key, f.type, rows, roles=f.roles)
        self.fields[f.key].widget = forms.HiddenInput()

    def config(self) -> dict[str, Any]:
        """The typed values as a definition's config; blank fields are left out."""
        data: dict[str, Any] = {}
        for key, f in self.declared.items():
            raw = (self.cleaned_data.get(key) or "").strip()
            if raw == "":
                continue
            if f.type in STRUCTURED and not raw.startswith("{{"):
                try:
                    data[key] = json.loads(raw)
                    continue
                except json.JSONDecodeError:
                    pass  # kept as typed; validation names the problem beside the field
            data[key] = raw
        return data

    def required_fields(self):
        return [self[key] for key, f in self.declared.items() if f.required]

    def optional_fields(self):
        return [self[key] for key, f in self.declared.items() if not f.required]


def add_path_errors(
    form: forms.Form, errors: dict[str, list[str]], prefix: str
) -> dict[str, list[str]]:
    """Put ``steps[1].config.status``-style errors beside their fields; return the rest."""
    rest: dict[str, list[str]] = {}
    for path, messages in errors.items():
        if path.startswith(prefix + "."):
            key = path[len(prefix) + 1 :].split(".")[0].split("[")[0]
            if key in form.fields:
                for message in messages:
                    form.add_error(key, message)
                continue
        rest[path] = list(messages)
    return rest
