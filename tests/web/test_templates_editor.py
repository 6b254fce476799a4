"""The template editor pages: list, create and edit with inline checks, steps, preview."""

from __future__ import annotations

import html
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_message, make_template
from tests.services.test_rendering_sandbox import PAYLOADS, ungrouped
from tests.support.untranslated import ROOT, untranslated_in_template
from tests.web.test_templates_api import LEAD_BOMB
from webapp.extensions import db
from webapp.models import CampaignAudience, Template
from webapp.services.tracking import links as tracking_links


def form(
    client: FlaskClient, name: str, *steps: tuple[str, str, str], **extra: str
) -> dict[str, str]:
    data = {"csrf_token": client.csrf, "name": name, **extra}  # type: ignore[attr-defined]
    for number, (subject, body_html, body_text) in enumerate(steps, start=1):
        data |= {
            f"steps-{number}-subject": subject,
            f"steps-{number}-body_html": body_html,
            f"steps-{number}-body_text": body_text,
        }
    return data


def test_the_list_shows_templates_and_their_variables(app: Any, login_as: Any) -> None:
    make_template(name="Kennismaking")
    db.session.commit()
    client = login_as("marketer")
    page = client.get("/templates/")
    assert page.status_code == 200
    assert "Kennismaking" in page.text and "<code>company</code>" in page.text
    assert 'id="new-template"' in page.text
    assert 'href="/templates/"' in client.get("/").text  # in the navigation


def test_a_marketer_creates_a_template_through_the_form(app: Any, login_as: Any) -> None:
    client = login_as("marketer")
    assert client.get("/templates/new").status_code == 200
    response = client.post(
        "/templates/",
        data=form(
            client,
            "Kennismaking",
            ("Hoi {{ company }}", "<p>Beste {{ first_name }}</p>", ""),
            ("", "<p>Nog even</p>", ""),
        ),
    )
    assert response.status_code == 302
    template = db.session.execute(db.select(Template)).scalar_one()
    assert [s.mail_number for s in template.steps] == [1, 2]
    assert template.steps[0].subject == "Hoi {{ company }}"
    page = client.get(response.location)
    assert "Saved Kennismaking." in page.text
    assert "<code>first_name</code>" in page.text


def test_errors_show_inline_with_their_line_and_nothing_is_saved(app: Any, login_as: Any) -> None:
    client = login_as("marketer")
    response = client.post(
        "/templates/",
        data=form(
            client, "Fout", ("", "<p>a</p>\n<p>{{ company }</p>", ""), ("", "{{ x|shout }}", "")
        ),
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert 'id="steps-1-subject-error">the first mail needs a subject' in text
    assert 'id="steps-1-body_html-error">line 2:' in text
    assert "the filter 'shout' does not exist" in text
    assert "{{ company }</p>" in text  # what was typed is kept
    assert db.session.execute(db.select(Template)).first() is None


def test_saving_shows_how_many_leads_lack_a_variable(app: Any, login_as: Any) -> None:
    make_lead(vars={"first_name": "Jan"})
    make_lead(vars={})
    template = make_template()
    db.session.commit()
    client = login_as("marketer")
    response = client.post(
        f"/templates/{template.id}",
        data=form(client, template.name, ("Hoi", "<p>{{ first_name }} {{ branche }}</p>", "")),
    )
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "1 of all 2 leads lacks first_name" in page
    assert "No lead has branche (all 2 lack it)." in page


def test_warnings_count_the_leads_of_the_lists_of_the_campaigns_using_the_template(
    app: Any, login_as: Any
) -> None:
    for list_name, first_names in (("noord", ["Jan", ""]), ("zuid", ["Els"]), ("west", [""] * 5)):
        for first_name in first_names:
            make_lead(list_name=list_name, vars={"first_name": first_name})
    template = make_template()
    template.steps[0].body_html = "<p>Beste {{ first_name }}</p>"
    unused = make_template()
    unused.steps[0].body_html = "<p>Beste {{ first_name }}</p>"
    make_campaign(template_id=template.id, audience=CampaignAudience(list_names=["zuid", "noord"]))
    # A stopped campaign sends nothing more: its list does not count.
    make_campaign(
        template_id=template.id, status="stopped", audience=CampaignAudience(list_names=["west"])
    )
    db.session.commit()
    client = login_as("marketer")

    page = client.get(f"/templates/{template.id}").text
    assert "1 of the 3 leads in noord, zuid lacks first_name" in page
    assert "1 of all 8 leads lacks first_name" not in page
    assert "6 of all 8 leads lack first_name" in client.get(f"/templates/{unused.id}").text


def test_a_variable_with_a_fallback_draws_no_warning(app: Any, login_as: Any) -> None:
    make_lead(vars={"first_name": "Jan"})
    make_lead(vars={})
    template = make_template()
    db.session.commit()
    client = login_as("marketer")
    body = (
        '<p>Beste {{ first_name | default("ondernemer") }}</p>'
        "{% if branche %}<p>{{ branche }}</p>{% endif %}"
    )
    response = client.post(
        f"/templates/{template.id}", data=form(client, template.name, ("Hoi", body, ""))
    )
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "lack" not in page
    assert "<code>first_name</code>" in page and "<code>branche</code>" in page


@pytest.mark.parametrize(
    ("payload", "expected"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS]
)
def test_payloads_are_refused_in_the_editor_on_save_and_in_the_preview(
    app: Any, login_as: Any, payload: str, expected: str
) -> None:
    client = login_as("marketer")
    data = form(client, "x", ("Hoi", f"<p>x</p>\n{payload}", ""))
    saved = client.post("/templates/", data=data)
    assert saved.status_code == 422
    assert ungrouped(expected) in ungrouped(html.unescape(saved.text))
    preview = client.post(
        "/templates/preview", data=data | {"preview_mail": "1"}, headers={"HX-Request": "true"}
    )
    assert preview.status_code == 422
    assert 'id="preview-error"' in preview.text
    assert ungrouped(expected) in ungrouped(html.unescape(preview.text))
    for leak in ("<class '", "root:", "Traceback"):
        assert leak not in html.unescape(saved.text + preview.text)


def test_the_live_preview_of_a_branch_past_the_limits_for_one_lead_is_a_422(
    app: Any, login_as: Any
) -> None:
    lead = make_lead(company="Vijandig BV")
    db.session.commit()
    client = login_as("marketer")
    data = form(client, "x", ("Hoi", LEAD_BOMB, ""))
    preview = client.post(
        "/templates/preview",
        data=data | {"lead_id": lead.id, "preview_mail": "1"},
        headers={"HX-Request": "true"},
    )
    assert preview.status_code == 422
    assert 'id="preview-error"' in preview.text
    assert "repeating a list would make a list of more than 10,000 items" in html.unescape(
        preview.text
    )


def test_the_live_preview_renders_the_typed_steps_for_a_lead(app: Any, login_as: Any) -> None:
    lead = make_lead(company="Bakkerij <Jansen>", vars={"first_name": "Jan"})
    db.session.commit()
    client = login_as("marketer")
    data = form(
        client,
        "",
        ("Hoi {{ company }}", "<p>Beste {{ first_name }}</p>", ""),
        ("", "<p>Twee</p>", ""),
    )
    one = client.post("/templates/preview", data=data | {"lead_id": lead.id, "preview_mail": "1"})
    assert one.status_code == 200
    assert 'id="preview-subject">Hoi Bakkerij &lt;Jansen&gt;</p>' in one.text
    # The HTML goes into a sandboxed iframe without scripts, escaped into srcdoc.
    assert '<iframe id="preview-html" sandbox srcdoc="&lt;p&gt;Beste Jan&lt;/p&gt;' in one.text
    assert "allow-scripts" not in one.text
    assert "Beste Jan" in one.text.split('id="preview-text">')[1]
    two = client.post("/templates/preview", data=data | {"lead_id": lead.id, "preview_mail": "2"})
    assert "Re: Hoi Bakkerij &lt;Jansen&gt;" in two.text


def test_a_pixel_or_tracked_link_pasted_from_a_sent_mail_is_dead_in_the_preview(
    app: Any, login_as: Any
) -> None:
    # Copied from a mail in the outbox: the live pixel and a tracked link of a real message.
    message_id = make_message(make_campaign(), make_lead()).id
    db.session.commit()
    pixel = tracking_links.pixel_tag(message_id)
    link = tracking_links.click_url(message_id, "https://www.punthelder.nl/rapport")
    client = login_as("marketer")
    body = f'<p>Zie <a href="{link}">het rapport</a>.</p>{pixel}'
    data = form(client, "", ("Hoi", body, f"Zie {link}"), preview_mail="1")
    for preview in (
        client.post("/templates/preview", data=data),
        client.get(f"/templates/{make_saved(body, link).id}/preview?preview_mail=1"),
    ):
        assert preview.status_code == 200
        shown = html.unescape(preview.text)
        assert "/t/o/" not in shown and "/t/c/" not in shown
        assert 'href="https://www.punthelder.nl/rapport"' in shown


def make_saved(body_html: str, link: str) -> Template:
    template = make_template()
    template.steps[0].body_html = body_html
    template.steps[0].body_text = f"Zie {link}"
    db.session.commit()
    return template


def test_the_preview_names_what_the_lead_lacks(app: Any, login_as: Any) -> None:
    lead = make_lead(vars={})
    db.session.commit()
    client = login_as("marketer")
    data = form(client, "", ("Hoi", "<p>Beste {{ first_name }} uit {{ city }}</p>", ""))
    response = client.post(
        "/templates/preview", data=data | {"lead_id": lead.id, "preview_mail": "1"}
    )
    assert response.status_code == 422
    assert "<code>city</code>" in response.text and "<code>first_name</code>" in response.text
    stand_in = client.post("/templates/preview", data=data | {"lead_id": "", "preview_mail": "1"})
    assert stand_in.status_code == 200
    assert "Beste [first_name] uit [city]" in html.unescape(stand_in.text)


def test_steps_are_added_moved_and_removed_and_renumbered(app: Any, login_as: Any) -> None:
    client = login_as("marketer")
    data = form(client, "x", ("Een", "<p>1</p>", ""), ("", "<p>2</p>", ""), ("", "<p>3</p>", ""))
    added = client.post("/templates/steps", data=data | {"action": "add"})
    assert 'name="steps-4-subject"' in added.text and 'id="add-step"' not in added.text
    moved = client.post("/templates/steps", data=data | {"action": "up-3"})
    bodies = [
        part.split("</textarea>")[0]
        for part in moved.text.split('name="steps-')[1:]
        if "body_html" in part.split('"')[0]
    ]
    assert [b.rsplit(">", 1)[-1] for b in bodies] == [
        "&lt;p&gt;1&lt;/p&gt;",
        "&lt;p&gt;3&lt;/p&gt;",
        "&lt;p&gt;2&lt;/p&gt;",
    ]
    removed = client.post("/templates/steps", data=data | {"action": "remove-1"})
    assert 'name="steps-3-subject"' not in removed.text
    assert (
        'name="steps-1-body_html" rows="9" spellcheck="false">&lt;p&gt;2&lt;/p&gt;' in removed.text
    )


def test_the_lead_picker_searches_email_and_company(app: Any, login_as: Any) -> None:
    make_lead(email="jan@bakkerij.nl", company="Bakkerij Jansen")
    make_lead(email="info@bouw.nl", company="Van Dijk Bouw")
    db.session.commit()
    client = login_as("marketer")
    by_company = client.get("/templates/leads?q=dijk", headers={"HX-Request": "true"})
    assert "info@bouw.nl" in by_company.text and "jan@bakkerij.nl" not in by_company.text
    assert by_company.headers["HX-Trigger-After-Settle"] == "lead-picked"
    by_email = client.get("/templates/leads?q=JAN@")
    assert "jan@bakkerij.nl" in by_email.text and "info@bouw.nl" not in by_email.text
    wildcard = client.get("/templates/leads?q=%25").text  # a literal %, not "anything"
    assert "@" not in wildcard


def test_a_manager_views_without_edit_buttons_and_cannot_save(app: Any, login_as: Any) -> None:
    template = make_template(name="Kennismaking")
    lead = make_lead()
    db.session.commit()
    client = login_as("manager")
    assert 'id="new-template"' not in client.get("/templates/").text
    page = client.get(f"/templates/{template.id}").text
    assert "<fieldset disabled>" in page
    assert 'id="save-template"' not in page and 'id="add-step"' not in page
    assert f'action="/templates/{template.id}"' not in page  # a form that posts nowhere
    # A new template is nothing to read: the page says no, in words.
    new = client.get("/templates/new")
    assert new.status_code == 403 and "Not allowed" in new.text
    assert (
        client.post("/templates/", data=form(client, "x", ("Hoi", "<p>x</p>", ""))).status_code
        == 403
    )
    data = form(client, "x", ("Hoi", "<p>x</p>", ""))
    assert client.post(f"/templates/{template.id}", data=data).status_code == 403
    preview = client.get(f"/templates/{template.id}/preview?lead_id={lead.id}&preview_mail=1")
    assert preview.status_code == 200 and f"Mail 1 voor {lead.company}" in preview.text


def test_the_editor_reads_in_dutch(app: Any, dutch: None, login_as: Any) -> None:
    make_template(name="Kennismaking")
    db.session.commit()
    client = login_as("marketer")
    listing = client.get("/templates/").text
    assert "Sjablonen" in listing and "Nieuw sjabloon" in listing and "Gewijzigd" in listing

    new = client.get("/templates/new").text
    assert "Onderwerp" in new and "Opvolgmail toevoegen" in new and "Voorbeeldwaarden" in new
    assert 'placeholder="E-mailadres of bedrijf"' in new and "Variabelen:" in new
    steps = client.post(
        "/templates/steps",
        data=form(client, "", ("Hoi", "<p>Hallo</p>", ""), action="add"),
    ).text
    assert 'title="Omhoog"' in steps and "opvolgmail; bij een leeg onderwerp" in steps
    preview = client.post(
        "/templates/preview", data=form(client, "", ("Hoi {{ company }}", "<p>x</p>", ""))
    ).text
    assert "Met voorbeeldwaarden: kies een lead om echte gegevens te zien." in preview

    saved = client.post("/templates/", data=form(client, "Opvolging", ("Hoi", "<p>Hallo</p>", "")))
    assert "Opvolging opgeslagen." in client.get(saved.location).text

    templates = sorted(
        path for area in ("templates",) for path in (ROOT / "templates" / area).glob("*.html")
    )
    assert [text for path in templates for text in untranslated_in_template(path)] == []


def test_the_preview_counts_spintax_versions_and_shows_any_of_them(app: Any, login_as: Any) -> None:
    lead = make_lead(vars={"first_name": "Jan"})
    db.session.commit()
    client = login_as("marketer")
    data = form(client, "", ("{Hallo|Hoi|Dag} {{ first_name }}", "<p>{Tot ziens|Groet}</p>", ""))
    subjects = set()
    for version in ("1", "2", "3", "4", "5", "6"):
        shown = client.post(
            "/templates/preview",
            data=data | {"lead_id": "", "preview_mail": "1", "preview_version": version},
        )
        assert shown.status_code == 200
        assert "6 versions" in shown.text
        assert f"Showing version {version}." in shown.text
        subject = html.unescape(shown.text.split('id="preview-subject">')[1].split("<")[0])
        body = "Groet" if "Groet" in shown.text else "Tot ziens"
        subjects.add((subject, body))
    assert len(subjects) == 6  # every version once
    own = client.post("/templates/preview", data=data | {"lead_id": lead.id, "preview_mail": "1"})
    assert "Showing the version this lead receives." in own.text
    again = client.post("/templates/preview", data=data | {"lead_id": lead.id, "preview_mail": "1"})
    assert own.text == again.text


def test_a_step_of_countless_versions_says_so_in_words(app: Any, login_as: Any) -> None:
    client = login_as("marketer")
    many = "{a|b|c|d|e|f|g|h|i|j} " * 19  # 10^19 versions, within the limits
    data = form(client, "", ("Hoi", f"<p>{many}</p>", ""))
    shown = client.post("/templates/preview", data=data | {"lead_id": "", "preview_mail": "1"})
    assert shown.status_code == 200
    assert "more than a million versions" in shown.text
    assert "10000000000000000000" not in shown.text


WEIGHT = "a whole number from 1 to 1000"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"steps-1-variants-A-weight": "x", "steps-1-variants-B-weight": "1"}, WEIGHT),
        ({"steps-1-variants-A-weight": "0", "steps-1-variants-B-weight": "1"}, WEIGHT),
        ({"steps-1-variants-A-weight": "-1", "steps-1-variants-B-weight": "1"}, WEIGHT),
        ({"steps-1-variants-A-weight": str(10**12), "steps-1-variants-B-weight": "1"}, WEIGHT),
        ({"steps-1-variants-A-weight": "1"}, "an experiment has 2 to 4 variants"),
    ],
)
def test_the_editor_refuses_the_variants_the_api_refuses(
    app: Any, login_as: Any, fields: dict[str, str], reason: str
) -> None:
    client = login_as("marketer")
    data = form(client, "AB", ("Hoi", "<p>x</p>", "")) | fields
    saved = client.post("/templates/", data=data)
    assert saved.status_code == 422
    assert ungrouped(reason) in ungrouped(html.unescape(saved.text))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Template)) == 0
