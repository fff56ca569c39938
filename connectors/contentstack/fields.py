"""Field declarations the Contentstack trigger and actions share."""

from __future__ import annotations

from connectors import fields as f

BRANCH = f.Field(
    "branch",
    "Branch",
    type=f.LOOKUP,
    lookup="branches",
    required=False,
    help="main when left empty.",
    single_line=True,
)
CONTENT_TYPE = f.Field(
    "content_type",
    "Content type",
    type=f.LOOKUP,
    lookup="content_types",
    depends_on=("branch",),
    single_line=True,
)
ENTRY = f.Field(
    "entry",
    "Entry",
    type=f.LOOKUP,
    lookup="entries",
    depends_on=("branch", "content_type"),
    help="Search entries by title.",
    single_line=True,
)
LOCALE = f.Field(
    "locale", "Locale", type=f.LOOKUP, lookup="locales", required=False, single_line=True
)
ENTRY_DATA = f.Field(
    "entry_data",
    "Entry data",
    type=f.JSON,
    object_only=True,
    help='The fields to set, as JSON: {"title": "...", "featured_image": "{{ steps.asset.uid }}"}.',
)
INCLUDE_BRANCH = f.Field(
    "include_branch", "Include branch", type=f.BOOLEAN, required=False, default=False
)
