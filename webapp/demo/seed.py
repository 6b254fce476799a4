"""The demo data set: users, sending domains, a four-step template and 2,100 Dutch B2B leads.

Deterministic (fixed seeds) apart from the clock: dates are spread over the 90 days before
the moment of seeding. The edges are there on purpose, so that the audience filters, the
suppression list and the one-per-domain rule have something true to show.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from faker import Faker

from webapp.database import new_id, utcnow
from webapp.demo.data import (
    BOUNCED,
    DELETED,
    DEMO_LISTS,
    EMAILED,
    FREE_MAIL_PROVIDERS,
    FREE_MAIL_SHARE,
    HORECA_NAMES,
    INCOMPLETE,
    SHARED_DOMAIN_SHARE,
    STOPPED,
    SUPPRESSED,
    TEMPLATE_STEPS,
    TRADE_WORDS,
)
from webapp.extensions import db
from webapp.models import (
    Lead,
    LeadStatus,
    Role,
    Suppression,
    SuppressionReason,
    Template,
    TemplateStep,
)
from webapp.services.domains import seed_default_domains
from webapp.services.leads import company_domain
from webapp.services.users import create_user, get_user_by_email

DEMO_PASSWORD = "demo-campaigns"
DEMO_USERS: list[tuple[str, str]] = [
    ("admin@punthelder.nl", Role.ADMIN),
    ("marketer@punthelder.nl", Role.MARKETER),
    ("manager@punthelder.nl", Role.MANAGER),
]
DEMO_SEED = 20250901
TEMPLATE_NAME = "SEO-kennismaking"


def seed_demo(if_empty: bool = False) -> dict[str, int | bool]:
    """Create the demo users, domains, template and leads; flushes, the caller commits."""
    if if_empty and db.session.execute(sa.select(Lead.id).limit(1)).first() is not None:
        return {"seeded": False}
    users = 0
    for email, role in DEMO_USERS:
        if get_user_by_email(email) is None:
            create_user(email, DEMO_PASSWORD, role, name=f"Demo {role}")
            users += 1
    domains = len(seed_default_domains())
    templates = _seed_template()
    leads, suppressions = _seed_leads()
    db.session.flush()
    return {
        "seeded": True,
        "leads": leads,
        "suppressions": suppressions,
        "templates": templates,
        "domains": domains,
        "users": users,
    }


def template_steps() -> list[dict[str, Any]]:
    """The demo template's steps as `{mail_number, subject, body_html, body_text}`."""
    steps = []
    for mail_number, subject, paragraphs in TEMPLATE_STEPS:
        html = "\n".join(
            "<p>"
            + p.replace("{{ url }}", '<a href="{{ url }}">{{ url }}</a>').replace("\n", "<br>\n")
            + "</p>"
            for p in paragraphs
        )
        steps.append(
            {
                "mail_number": mail_number,
                "subject": subject,
                "body_html": html + "\n",
                "body_text": "\n\n".join(paragraphs) + "\n",
            }
        )
    return steps


def _seed_template() -> int:
    exists = db.session.execute(
        sa.select(Template.id).where(Template.name == TEMPLATE_NAME).limit(1)
    ).first()
    if exists is not None:
        return 0
    template = Template(name=TEMPLATE_NAME)
    template.steps = [TemplateStep(**step) for step in template_steps()]
    db.session.add(template)
    return 1


def _seed_leads() -> tuple[int, int]:
    """Bulk-insert the demo leads and suppressions that are not there yet."""
    leads, suppressions = demo_leads(utcnow())
    known = set(
        db.session.execute(
            sa.select(Lead.email).where(Lead.email.in_([lead["email"] for lead in leads]))
        ).scalars()
    )
    leads = [lead for lead in leads if lead["email"] not in known]
    known_targets = {
        row.email or row.domain
        for row in db.session.execute(sa.select(Suppression.email, Suppression.domain))
    }
    suppressions = [s for s in suppressions if (s["email"] or s["domain"]) not in known_targets]
    if leads:
        db.session.execute(sa.insert(Lead), leads)
    if suppressions:
        db.session.execute(sa.insert(Suppression), suppressions)
    return len(leads), len(suppressions)


def demo_leads(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The demo leads and suppressions as insert rows; the same every time for the same `now`."""
    fake = Faker("nl_NL")
    fake.seed_instance(DEMO_SEED)
    rng = random.Random(DEMO_SEED)
    people = _people(fake, rng)
    order = rng.sample(range(len(people)), len(people))
    incomplete = [i for i in order if not people[i]["free_mail"]][:INCOMPLETE]
    taken = set(incomplete)
    rest = [i for i in order if i not in taken]
    edges: dict[str, list[int]] = {"incomplete": incomplete}
    counts = {"suppressed": SUPPRESSED, "bounced": BOUNCED, "stopped": STOPPED}
    counts |= {"deleted": DELETED, "emailed": EMAILED}
    start = 0
    for edge, count in counts.items():
        edges[edge] = rest[start : start + count]
        start += count

    leads, suppressions = [], []
    for person in people:
        created_at = now - timedelta(seconds=rng.uniform(3600, 90 * 86400))
        leads.append(_lead_row(person, created_at))
    for kind, i in enumerate(edges["incomplete"]):
        _make_incomplete(leads[i], kind % 5)
    for edge, reason in (
        (LeadStatus.SUPPRESSED, SuppressionReason.UNSUBSCRIBED),
        (LeadStatus.BOUNCED, SuppressionReason.HARD_BOUNCE),
    ):
        for i in edges[edge]:
            lead = leads[i]
            at = _between(rng, lead["created_at"], now)
            emailed_at = max(at - timedelta(hours=2), lead["created_at"])
            lead.update(status=edge, last_emailed_at=emailed_at, updated_at=at)
            suppressions.append(_suppression(reason, at, email=lead["email"]))
    for i in edges["stopped"]:
        leads[i].update(stopped=True, updated_at=_between(rng, leads[i]["created_at"], now))
    for i in edges["deleted"]:
        at = _between(rng, leads[i]["created_at"], now)
        leads[i].update(deleted_at=at, updated_at=at)
    for i in edges["emailed"]:
        ago = timedelta(seconds=rng.uniform(3600, 40 * 86400))
        at = max(now - ago, leads[i]["created_at"] + timedelta(hours=1))
        leads[i].update(last_emailed_at=at, updated_at=at)

    # Two whole companies an operator excluded by hand (existing clients): one with
    # several people on the list, one with a single lead; their leads stay active.
    flagged = {i for indices in edges.values() for i in indices}
    plain = [p for i, p in enumerate(people) if i not in flagged and not p["free_mail"]]
    shared = sorted({p["domain"] for p in plain if p["shared"]})
    singles = sorted({p["domain"] for p in plain if not p["shared"]})
    for domain in (rng.choice(shared), rng.choice(singles)):
        note = "Bestaande klant van Punthelder, niet benaderen."
        suppressions.append(
            _suppression(
                SuppressionReason.MANUAL, now - timedelta(days=30), domain=domain, note=note
            )
        )
    leads.sort(key=lambda lead: lead["created_at"])
    return leads, suppressions


def _people(fake: Faker, rng: random.Random) -> list[dict[str, Any]]:
    """Contact people per list: single companies, colleagues sharing a domain, free mail."""
    people: list[dict[str, Any]] = []
    taken_domains: set[str] = set()
    taken_emails: set[str] = set()
    companies: set[str] = set()
    for list_name, (size, cities, sectors) in DEMO_LISTS.items():
        free_mail = round(size * FREE_MAIL_SHARE)
        shared = round(size * SHARED_DOMAIN_SHARE)
        group_sizes = []
        while shared > 0:
            group = min(rng.randint(2, 4), shared)
            if shared - group == 1:  # never leave a group of one
                group = shared if shared <= 4 else group - 1
            group_sizes.append(group)
            shared -= group
        # 0: a free-mail address, 1: a company of one lead, n: n colleagues at one company.
        kinds = [0] * free_mail + group_sizes + [1] * (size - free_mail - sum(group_sizes))
        rng.shuffle(kinds)
        for colleagues in kinds:
            branche = rng.choices(list(sectors), weights=list(sectors.values()))[0]
            city = rng.choice(cities)
            company = _company_name(fake, rng, branche, city)
            while company in companies:  # one "Hotel Amsterdam" is enough
                company = _company_name(fake, rng, branche, city)
            companies.add(company)
            base = {"list_name": list_name, "branche": branche, "city": city, "company": company}
            if colleagues == 0:
                first, last = fake.first_name(), fake.last_name()
                provider = rng.choice(FREE_MAIL_PROVIDERS)
                local = rng.choice(
                    [f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}{rng.randint(1, 99)}"]
                )
                email = _unique_email(_ascii(local), provider, taken_emails, rng)
                people.append(
                    base | {"first_name": first, "email": email, "url": None, "domain": provider,
                            "free_mail": True, "shared": False}
                )  # fmt: skip
                continue
            domain = _unique_domain(company, city, rng, taken_domains)
            for n in range(colleagues):
                first, last = fake.first_name(), fake.last_name()
                local = _local_part(rng, first, last, first_in_company=n == 0)
                email = _unique_email(local, domain, taken_emails, rng)
                people.append(
                    base | {"first_name": first, "email": email,
                            "url": f"https://www.{domain}", "domain": domain, "free_mail": False,
                            "shared": colleagues > 1}
                )  # fmt: skip
    return people


def _company_name(fake: Faker, rng: random.Random, branche: str, city: str) -> str:
    """A plausible Dutch trade name: "Bakkerij Jansen", "Van Dijk Installaties B.V."."""
    before, after = TRADE_WORDS[branche]
    surname = _capitalise(fake.last_name())
    roll = rng.random()
    if branche == "horeca" and roll < 0.5:
        name = f"{rng.choice(before)} {rng.choice(HORECA_NAMES)}"
    elif roll < 0.45:
        name = f"{rng.choice(before)} {surname}"
    elif roll < 0.85:
        name = f"{surname} {rng.choice(after)}"
    elif roll < 0.95 and branche != "horeca":
        name = f"{surname} & {_capitalise(fake.last_name())} {rng.choice(after)}"
    else:
        name = f"{rng.choice(before)} {city}"
    if branche not in ("horeca", "advocatuur") and rng.random() < 0.35:
        name += rng.choice((" B.V.", " B.V.", " V.O.F."))
    return name


_PARTICLES = frozenset({"van", "de", "den", "der", "het", "t", "s", "ter", "ten", "in", "en"})


def _unique_domain(company: str, city: str, rng: random.Random, taken: set[str]) -> str:
    """The company's own .nl domain, made from its name; the city or a number when taken."""
    name = re.sub(r"\s(B\.V\.|V\.O\.F\.)$", "", company).replace("&", " en ")
    words = [w for w in (re.sub(r"[^a-z0-9]", "", _ascii(w)) for w in name.split()) if w]
    if len("".join(words)) > 24:  # nobody types a 40-letter domain
        words = [w for w in words if w not in _PARTICLES] or words
        while len(words) > 2 and len("".join(words)) > 24:
            words.pop()
    slug = rng.choice(("", "-")).join(words)
    candidates = [slug, f"{slug}-{_ascii(city)}"]
    candidates += [f"{slug}{n}" for n in range(2, 100)]
    domain = next(f"{c}.nl" for c in candidates if f"{c}.nl" not in taken)
    taken.add(domain)
    return domain


def _local_part(rng: random.Random, first: str, last: str, first_in_company: bool) -> str:
    """The part before the @: info@, jan@, j.jansen@ or a role address."""
    roll = rng.random()
    if first_in_company and roll < 0.5:
        return "info"
    if roll < 0.8:
        return _ascii(first)
    if roll < 0.9:
        return f"{_ascii(first)[0]}.{_ascii(last)}"
    return rng.choice(("contact", "kantoor", "hallo", "welkom"))


def _unique_email(local: str, domain: str, taken: set[str], rng: random.Random) -> str:
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randint(2, 999)}@{domain}"
    taken.add(email)
    return email


def _lead_row(person: dict[str, Any], created_at: datetime) -> dict[str, Any]:
    variables = {key: person[key] for key in ("company", "first_name", "city", "branche")}
    if person["url"]:
        variables["url"] = person["url"]
    return {
        "id": new_id(),
        "email": person["email"],
        "company": person["company"],
        "url": person["url"],
        "domain": company_domain(person["url"], person["email"]),
        "status": LeadStatus.ACTIVE,
        "list_name": person["list_name"],
        "last_emailed_at": None,
        "stopped": False,
        "deleted_at": None,
        "vars": variables,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _make_incomplete(lead: dict[str, Any], kind: int) -> None:
    """Five ways a spreadsheet row lacks its company or website."""
    variables = lead["vars"]
    if kind < 3:
        lead["company"] = None
        if kind == 0:
            variables["company"] = ""
        elif kind == 1:
            variables["company"] = "   "
        else:
            del variables["company"]
    else:
        lead["url"] = None
        if kind == 3:
            variables["url"] = ""
        else:
            del variables["url"]
        lead["domain"] = company_domain(None, lead["email"])


def _suppression(reason: str, at: datetime, **target: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "email": target.get("email"),
        "domain": target.get("domain"),
        "reason": reason,
        "note": target.get("note"),
        "created_by_id": None,
        "created_at": at,
    }


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.uniform(0.1, 0.9)


def _capitalise(surname: str) -> str:
    # A surname without first name or initials before it takes a capital: "Van Dijk".
    return surname[:1].upper() + surname[1:]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters, digits and dots: "Daniëlle van 't Hof" -> "daniellevanthof"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9.]", "", folded.lower()).strip(".")
