"""The log's values are checked, redacted and capped from one JSON encoding
(Recorder._kept): a secret found in that text is redacted, one absent is not looked for
again, and the size the cap reads is the text's."""

from __future__ import annotations

import pytest

from automations.engine.recorder import REDACTED, TRUNCATED_KEY, Recorder, may_hold
from automations.engine.runner import _json_text
from automations.models import Execution
from connectors.jsondata import NOTES_KEY, encoded


def recorder(*secrets: str) -> Recorder:
    return Recorder(Execution(trigger_output={}), frozenset(secrets))


@pytest.mark.parametrize(
    "secret", ['sk-quote"d-123', "sk-back\\slash", "sk-new\nline-9", "sk-ünïcødé-42"]
)
def test_a_secret_that_json_escapes_is_still_found_and_redacted(secret):
    value = {"outer": [{"text": f"before {secret} after"}], "n": 1}
    assert may_hold(encoded(value), frozenset({secret}))
    stored, truncated = recorder(secret)._kept(value, encoded(value))
    assert stored == {"outer": [{"text": f"before {REDACTED} after"}], "n": 1}
    assert not truncated


def test_a_value_without_the_secret_is_kept_as_it_is():
    value = {"text": "nothing to hide", "list": [1, 2.5, None, True]}
    assert not may_hold(encoded(value), frozenset({"sk-secret-1"}))
    stored, _ = recorder("sk-secret-1")._kept(value, encoded(value))
    assert stored is value


def test_an_unknown_text_means_the_secret_is_looked_for():
    assert may_hold(None, frozenset({"sk-secret-1"}))
    assert not may_hold(None, frozenset())


def test_a_value_that_needs_cleaning_is_cleaned_and_redacted():
    value = {"text": "sk-secret-1 and \x00", "n": float("nan")}
    stored, _ = recorder("sk-secret-1")._kept(value)
    assert stored["text"] == f"{REDACTED} and \ufffd"
    assert stored["n"] is None
    assert stored[NOTES_KEY]


def test_the_runner_hands_over_text_only_as_encoded_writes_it():
    # The recorder trusts a handed-over text to be written with allow_nan=False: the
    # runner gives none for NaN, so the value is walked and cleaned.
    assert _json_text({"n": float("inf")}, "x.y") is None
    assert _json_text({"n": 1}, "x.y") == encoded({"n": 1})
    stored, _ = recorder()._kept({"n": float("inf")}, None)
    assert stored["n"] is None


def test_the_cap_reads_the_size_of_the_one_encoding(settings):
    settings.STEP_OUTPUT_MAX_BYTES = 1000
    value = {"text": "x" * 2000}
    stored, truncated = recorder()._kept(value, encoded(value))
    assert truncated and stored[TRUNCATED_KEY] is True


def test_a_response_is_answered_whole_and_logged_redacted():
    rec = recorder("sk-secret-1")
    rec.finish(status="succeeded", response={"body": {"key": "sk-secret-1"}})
    assert rec.answer == {"body": {"key": REDACTED}}
    assert rec.execution.response == {"body": {"key": REDACTED}}
    plain = recorder("sk-secret-1")
    response = {"body": {"key": "public"}}
    plain.finish(status="succeeded", response=response)
    assert plain.answer is response
    assert plain.execution.response is response


def test_the_json_of_what_is_kept_as_it_is_goes_to_the_write():
    kept = recorder("sk-secret-1")
    value = {"text": "nothing to hide"}
    stored, _ = kept._kept(value, encoded(value))
    assert kept.texts[id(stored)] == (stored, encoded(value))
    # A redacted value is a new one, with no text: the write encodes it.
    hiding = {"text": "sk-secret-1"}
    redacted, _ = kept._kept(hiding, encoded(hiding))
    assert id(redacted) not in kept.texts and id(hiding) not in kept.texts


def test_a_capped_value_leaves_its_text_out(settings):
    settings.STEP_OUTPUT_MAX_BYTES = 40
    kept = recorder()
    value = {"text": "x" * 100}
    capped, truncated = kept._kept(value, encoded(value))
    assert truncated and id(capped) not in kept.texts and id(value) not in kept.texts
