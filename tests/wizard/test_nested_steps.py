"""Steps inside a branch or a loop, in the wizard (issue 13): added to then, else and do,
edited and deleted where they sit, a branch's conditions as rows, loop.item and
loop.index among the Suggested Data Elements, Test Action with the loop's first item;
and who may do it."""

from __future__ import annotations

import pytest

from automations import services
from automations.models import Automation, Step
from tests.automations.factories import make_project
from tests.automations.flow.helpers import condition, definition, flow_step, reply

pytestmark = pytest.mark.django_db

STEPS = [
    flow_step(
        "route",
        "if",
        {"conditions": [condition("trigger.body.lang", "equals", "en")]},
        then=[reply("English", key="english")],
    ),
    flow_step(
        "each",
        "for_each",
        {"items": "{{ trigger.body.tags }}"},
        do=[flow_step("shout", "transform", {"value": "{{ loop.item }}!"})],
    ),
]


@pytest.fixture
def automation(team) -> Automation:
    return services.automation_create(
        project=make_project(team), data=definition(STEPS), partial=True
    )


@pytest.fixture
def editor(client, teammate):
    client.force_login(teammate)
    return client


def respond(body: str, **extra) -> dict:
    return {"connector": "response", "action": "respond", "name": "Reply", "body": body, **extra}


def place(step: Step) -> tuple[str, str, int]:
    return step.parent.key if step.parent else "", step.branch, step.position


def add(client, automation, parent: str, branch: str, data: dict):
    return client.post(
        f"/automations/{automation.pk}/steps/new/", {**data, "parent": parent, "branch": branch}
    )


def test_it_adds_a_step_at_the_end_of_then(editor, automation):
    add(editor, automation, "route", "then", respond("again"))
    assert place(automation.steps.get(key="reply")) == ("route", "then", 1)


def test_it_adds_the_first_step_of_an_empty_else(editor, automation):
    add(editor, automation, "route", "else", respond("other"))
    assert place(automation.steps.get(key="reply")) == ("route", "else", 0)


def test_it_adds_a_step_to_a_loop_body(editor, automation):
    add(editor, automation, "each", "do", respond("{{ loop.index }}"))
    assert place(automation.steps.get(key="reply")) == ("each", "do", 1)


def test_the_place_is_kept_while_choosing_the_action(editor, automation):
    url = f"/automations/{automation.pk}/steps/new/?parent=route&branch=else"
    html = editor.get(url).content.decode()
    assert "?connector=response&amp;parent=route&amp;branch=else" in html
    html = editor.get(url + "&connector=response&action=respond").content.decode()
    assert '<input type="hidden" name="parent" value="route">' in html
    assert '<input type="hidden" name="branch" value="else">' in html


@pytest.mark.parametrize("parent, branch", [("route", "do"), ("english", "then"), ("nope", "do")])
def test_a_list_the_automation_does_not_have_is_404(editor, automation, parent, branch):
    url = f"/automations/{automation.pk}/steps/new/?parent={parent}&branch={branch}"
    assert editor.get(url).status_code == 404
    assert add(editor, automation, parent, branch, respond("x")).status_code == 404


def test_it_edits_a_nested_step_where_it_sits(editor, automation):
    editor.post(f"/automations/{automation.pk}/steps/english/", respond("Hello"))
    english = automation.steps.get(key="english")
    assert (place(english), english.config["body"]) == (("route", "then", 0), "Hello")


def test_editing_a_branch_keeps_the_steps_it_holds(editor, automation):
    editor.post(
        f"/automations/{automation.pk}/steps/route/",
        {
            "connector": "flow",
            "action": "if",
            "name": "Route",
            "match": "any",
            "conditions__0__path": "trigger.body.lang",
            "conditions__0__operator": "equals",
            "conditions__0__value": "de",
        },
    )
    route = automation.steps.get(key="route")
    assert route.config["match"] == "any"
    assert place(automation.steps.get(key="english")) == ("route", "then", 0)


def test_a_branch_that_still_holds_steps_cannot_become_another_action(editor, automation):
    response = editor.post(
        f"/automations/{automation.pk}/steps/route/?connector=flow&action=transform",
        {"connector": "flow", "action": "transform", "name": "Route", "value": "x"},
    )
    assert "holds no steps" in response.content.decode()
    assert automation.steps.get(key="route").action == "if"
    assert automation.steps.filter(key="english").exists()


def test_it_saves_a_branch_s_conditions_typed_as_rows(editor, automation):
    editor.post(
        f"/automations/{automation.pk}/steps/route/",
        {
            "connector": "flow",
            "action": "if",
            "name": "Route",
            "match": "all",
            "conditions__0__path": "trigger.body.lang",
            "conditions__0__operator": "equals",
            "conditions__0__value": "fr",
            "conditions__1__path": "trigger.body.draft",
            "conditions__1__operator": "is_empty",
            "conditions__1__value": "",
            "conditions__2__path": "",
            "conditions__2__operator": "equals",
            "conditions__2__value": "",
        },
    )
    assert automation.steps.get(key="route").config["conditions"] == [
        {"path": "trigger.body.lang", "operator": "equals", "value": "fr"},
        {"path": "trigger.body.draft", "operator": "is_empty", "value": ""},
    ]


def test_the_conditions_editor_shows_rows_with_the_operators(editor, automation):
    html = editor.get(f"/automations/{automation.pk}/steps/route/").content.decode()
    assert 'name="conditions__0__path" value="trigger.body.lang"' in html
    assert '<option value="equals" selected>text: equals</option>' in html
    assert "+ Add Condition" in html


def test_adding_a_condition_row_saves_nothing(editor, automation):
    html = editor.post(
        f"/automations/{automation.pk}/steps/route/",
        {
            "connector": "flow",
            "action": "if",
            "name": "Changed",
            "add_row": "conditions",
            "conditions__0__path": "trigger.body.lang",
            "conditions__0__operator": "equals",
            "conditions__0__value": "en",
        },
    ).content.decode()
    assert 'name="conditions__1__path"' in html
    assert automation.steps.get(key="route").name == ""


def test_a_condition_error_shows_beside_the_conditions(editor, automation):
    html = editor.post(
        f"/automations/{automation.pk}/steps/route/",
        {
            "connector": "flow",
            "action": "if",
            "name": "Route",
            "conditions__0__path": "steps.shout.x",
            "conditions__0__operator": "equals",
            "conditions__0__value": "a",
        },
    ).content.decode()
    assert "does not come before this step" in html
    assert automation.steps.get(key="route").config["conditions"][0]["value"] == "en"


def test_deleting_a_nested_step_asks_first_then_deletes_only_it(editor, automation):
    url = f"/automations/{automation.pk}/steps/english/delete/"
    assert "Delete the step" in editor.get(url).content.decode()
    assert automation.steps.filter(key="english").exists()
    editor.post(url)
    assert sorted(automation.steps.values_list("key", flat=True)) == ["each", "route", "shout"]


def test_deleting_a_loop_says_its_steps_go_with_it(editor, automation):
    url = f"/automations/{automation.pk}/steps/each/delete/"
    assert "and the 1 step inside it" in editor.get(url).content.decode()
    editor.post(url)
    assert sorted(automation.steps.values_list("key", flat=True)) == ["english", "route"]


def test_the_step_list_offers_add_step_inside_each_list(editor, automation):
    html = editor.get(f"/automations/{automation.pk}/").content.decode()
    for query in (
        "parent=route&amp;branch=then",
        "parent=route&amp;branch=else",
        "parent=each&amp;branch=do",
    ):
        assert f"/automations/{automation.pk}/steps/new/?{query}" in html
    assert f'href="/automations/{automation.pk}/steps/shout/"' in html


def test_a_step_inside_a_loop_is_offered_the_loop_s_item(editor, automation):
    Automation.objects.filter(pk=automation.pk).update(
        trigger_sample={"body": {"lang": "en", "tags": ["news", "sport"]}}
    )
    html = editor.get(f"/automations/{automation.pk}/steps/shout/").content.decode()
    assert 'data-reference="{{ loop.item }}"' in html and "news" in html
    assert 'data-reference="{{ loop.index }}"' in html


def test_a_new_step_in_a_loop_is_offered_the_earlier_steps_of_the_iteration(editor, automation):
    Step.objects.filter(key="shout").update(sample_output="news!")
    url = f"/automations/{automation.pk}/steps/new/?parent=each&branch=do&connector=response&action=respond"
    html = editor.get(url).content.decode()
    assert 'data-reference="{{ steps.shout }}"' in html
    assert 'data-reference="{{ loop.item }}"' in html


def test_a_step_after_the_loop_is_offered_neither_loop_nor_its_steps(editor, automation):
    Step.objects.filter(key="shout").update(sample_output="news!")
    url = f"/automations/{automation.pk}/steps/new/?connector=response&action=respond"
    html = editor.get(url).content.decode()
    assert "{{ loop.item }}" not in html and "{{ steps.shout }}" not in html
    assert 'data-reference="{{ steps.english }}"' in html


def test_test_action_inside_a_loop_uses_the_first_item(editor, automation):
    Automation.objects.filter(pk=automation.pk).update(
        trigger_sample={"body": {"lang": "en", "tags": ["news", "sport"]}}
    )
    html = editor.post(f"/automations/{automation.pk}/steps/shout/test/").content.decode()
    assert "&quot;news!&quot;" in html
    assert Step.objects.get(key="shout").sample_output == "news!"


def test_test_action_inside_a_loop_without_items_says_what_to_test(editor, automation):
    html = editor.post(f"/automations/{automation.pk}/steps/shout/test/").content.decode()
    assert "test the trigger" in html.lower()
    assert Step.objects.get(key="shout").sample_output is None


def test_test_action_of_a_step_in_a_branch_runs_it_alone(editor, automation):
    html = editor.post(f"/automations/{automation.pk}/steps/english/test/").content.decode()
    assert "English" in html
    assert Step.objects.get(key="english").sample_output["body"] == "English"


# Who may use the new pages: an editor, not a viewer, nobody of another team, nobody
# signed out.
WRITES = [
    ("/automations/{pk}/steps/new/", {**respond("x"), "parent": "route", "branch": "else"}),
    ("/automations/{pk}/steps/english/", respond("x")),
    ("/automations/{pk}/steps/english/delete/", {}),
    ("/automations/{pk}/steps/shout/test/", {}),
]
READS = [
    "/automations/{pk}/steps/new/?parent=route&branch=then",
    "/automations/{pk}/steps/english/",
]


@pytest.mark.parametrize("url, data", WRITES)
def test_an_editor_may_write(editor, automation, url, data):
    assert editor.post(url.format(pk=automation.pk), data).status_code in (200, 302)


@pytest.mark.parametrize("url", READS)
def test_an_editor_may_read(editor, automation, url):
    assert editor.get(url.format(pk=automation.pk)).status_code == 200


@pytest.mark.parametrize("url, data", WRITES)
def test_a_viewer_may_not_write(client, viewer, automation, url, data):
    client.force_login(viewer)
    assert client.post(url.format(pk=automation.pk), data).status_code == 403
    assert sorted(automation.steps.values_list("key", flat=True)) == [
        "each",
        "english",
        "route",
        "shout",
    ]


def test_a_viewer_sees_nested_steps_without_add_or_delete(client, viewer, automation):
    client.force_login(viewer)
    html = client.get(f"/automations/{automation.pk}/").content.decode()
    assert f'href="/automations/{automation.pk}/steps/shout/"' in html
    assert "+ Add step" not in html
    page = client.get(f"/automations/{automation.pk}/steps/english/").content.decode()
    assert "Delete step" not in page and "disabled" in page
    assert client.get(f"/automations/{automation.pk}/steps/english/delete/").status_code == 403


@pytest.mark.parametrize("url, data", WRITES)
def test_another_team_gets_404_on_writes(client, outsider, automation, url, data):
    client.force_login(outsider)
    assert client.post(url.format(pk=automation.pk), data).status_code == 404


@pytest.mark.parametrize("url", READS)
def test_another_team_gets_404_on_reads(client, outsider, automation, url):
    client.force_login(outsider)
    assert client.get(url.format(pk=automation.pk)).status_code == 404


@pytest.mark.parametrize("url", [*READS, *(url for url, _ in WRITES)])
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client, automation, url):
    response = client.post(url.format(pk=automation.pk))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_error_in_a_nested_step_names_where_it_is(editor, team):
    chat = {
        "key": "chat",
        "name": "Translate",
        "connector": "chatgpt",
        "action": "chat",
        "config": {"messages": [{"role": "user", "content": "hi"}]},
    }
    steps = [flow_step("route", "if", {"conditions": []}, then=[chat])]
    automation = services.automation_create(
        project=make_project(team), data=definition(steps), partial=True
    )
    response = editor.post(f"/automations/{automation.pk}/activate/", follow=True)
    assert "Step 1 › then 1 (Translate) - Account is required" in response.content.decode()


def test_renaming_a_nested_step_updates_the_references_to_it_in_the_tree(editor, team):
    steps = [
        flow_step("each", "for_each", {"items": "{{ trigger.body.tags }}"}, do=[
            flow_step("shout", "transform", {"value": "{{ loop.item }}!"}),
            flow_step("again", "transform", {"value": "{{ steps.shout }}"}),
        ]),
    ]  # fmt: skip
    target = services.automation_create(
        project=make_project(team), data=definition(steps), partial=True
    )
    response = editor.post(f"/automations/{target.pk}/steps/shout/", {
        "connector": "flow", "action": "transform", "name": "Loud",
        "value": "{{ loop.item }}!", "rekey": "1",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert target.steps.get(key="loud").parent.key == "each"
    assert target.steps.get(key="again").config["value"] == "{{ steps.loud }}"


def loop_body(automation) -> list[str]:
    return [s.key for s in automation.steps.filter(parent__key="each").order_by("position")]


def test_a_step_in_a_loop_moves_within_it_by_its_arrows(editor, automation):
    add(editor, automation, "each", "do", respond("{{ loop.index }}"))
    assert loop_body(automation) == ["shout", "reply"]
    page = editor.get(f"/automations/{automation.pk}/").content.decode()
    assert 'value="reply:up"' in page and 'value="shout:down"' in page
    assert 'value="shout:up" aria-label="Move shout up" disabled' in page
    editor.post(f"/automations/{automation.pk}/steps/reorder/", {"move": "reply:up"})
    assert loop_body(automation) == ["reply", "shout"]
    # The first of its list stays first; the top level is untouched.
    editor.post(f"/automations/{automation.pk}/steps/reorder/", {"move": "reply:up"})
    assert loop_body(automation) == ["reply", "shout"]
    top = automation.steps.filter(parent=None).order_by("position")
    assert [s.key for s in top] == ["route", "each"]


def test_a_move_in_a_branch_that_breaks_a_reference_is_refused(editor, automation):
    add(editor, automation, "each", "do", respond("{{ steps.shout }}"))
    response = editor.post(
        f"/automations/{automation.pk}/steps/reorder/", {"move": "reply:up"}, follow=True
    )
    assert loop_body(automation) == ["shout", "reply"]
    assert "refers to step &#x27;shout&#x27;, which does not come before this step" in (
        response.content.decode()
    )
    assert response.redirect_chain[-1][0] == f"/automations/{automation.pk}/"


def test_a_viewer_cannot_move_a_nested_step(client, viewer, automation):
    client.force_login(viewer)
    response = client.post(f"/automations/{automation.pk}/steps/reorder/", {"move": "shout:up"})
    assert response.status_code == 403
