"""The shape of the agency-scale data set (`bench/scale.py`): its lists, leads, sending
domains and campaigns, made from one seed. Only data here; the building is in scale.py."""

from __future__ import annotations

import csv
import os
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

from webapp.demo.data import HORECA_NAMES, TRADE_WORDS

DEFAULT_SEED = 18
# A smaller copy for trying the builder out (BENCH_SCALE_FRACTION=0.01): lists and audience
# limits shrink by this factor; domains and campaigns stay.
FRACTION = float(os.environ.get("BENCH_SCALE_FRACTION", "1"))


def scaled(count: int) -> int:
    return max(1, round(count * FRACTION))


# 26 lists of 300,000 leads on top of the demo's 4 lists of 2,100: 30 lists, 302,100 leads.
# The first two (30,000 each) are the audience preview's pair and feed the 107k running
# campaign and the 26.8k draft; the third feeds the paused campaign.
LIST_SIZES: list[int] = [30_000, 30_000, 28_000, 20_000, 20_000, 20_000] + [7_600] * 20

REGIONS = (
    ("noord-holland", ("Amsterdam", "Haarlem", "Zaandam", "Alkmaar", "Hilversum", "Hoorn",
                       "Purmerend", "Den Helder", "Heemskerk", "Amstelveen")),
    ("zuid-holland", ("Rotterdam", "Den Haag", "Leiden", "Dordrecht", "Delft", "Gouda",
                      "Zoetermeer", "Schiedam", "Vlaardingen", "Alphen aan den Rijn")),
    ("utrecht", ("Utrecht", "Amersfoort", "Nieuwegein", "Zeist", "Veenendaal", "Houten",
                 "Woerden", "IJsselstein")),
    ("brabant", ("Eindhoven", "Tilburg", "Breda", "'s-Hertogenbosch", "Helmond", "Oss",
                 "Roosendaal", "Waalwijk")),
    ("gelderland", ("Arnhem", "Nijmegen", "Apeldoorn", "Ede", "Doetinchem", "Zutphen",
                    "Harderwijk", "Tiel")),
    ("oost", ("Enschede", "Zwolle", "Deventer", "Hengelo", "Almelo", "Kampen", "Emmen",
              "Assen")),
    ("noord", ("Groningen", "Leeuwarden", "Drachten", "Sneek", "Heerenveen", "Hoogezand")),
    ("limburg", ("Maastricht", "Venlo", "Heerlen", "Sittard", "Roermond", "Weert")),
)  # fmt: skip
SECTORS = tuple(TRADE_WORDS)
FREE_MAIL = ("gmail.com", "gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com")
STREETS = ("Dorpsstraat", "Kerkstraat", "Molenweg", "Stationsweg", "Industrieweg", "Schoolstraat",
           "Marktplein", "Nieuwstraat", "Hoofdstraat", "Julianalaan", "Beatrixlaan", "Parallelweg",
           "Havenkade", "Ambachtsweg", "Energieweg", "Spoorlaan", "Wilhelminastraat",
           "Keizersgracht",
           "Oranjestraat", "Zuiderweg", "Westsingel", "Ringbaan-Oost", "Bedrijvenpark 3",
           "Kanaalweg", "Edisonstraat")  # fmt: skip
# Shares per list: free-mail addresses, leads without a website, colleagues sharing a domain.
FREE_MAIL_SHARE, NO_WEBSITE_SHARE, SHARED_SHARE = 0.04, 0.03, 0.08
HEADER = ["E-mailadres", "Bedrijfsnaam", "Website", "Voornaam", "Achternaam", "Adres",
          "Postcode", "Plaats", "Branche", "Telefoon"]  # fmt: skip

# Sending domains: 196 besides the demo's four (which keep the default 20-minute pace):
# FAST at a 60-second pace, then SLOW at the product's default pace.
FAST_DOMAINS, SLOW_DOMAINS = 184, 12
FAST_INTERVAL = 60
DOMAIN_WORDS = ("groei", "klantwerving", "zichtbaar", "vindbaar", "online", "bereik",
                "nieuweklanten", "marktkans", "leadgen", "contact")  # fmt: skip


def list_names(seed: int) -> list[str]:
    """The 26 list names: sector and region, unique, the same for the same seed."""
    rng = random.Random(seed * 7 + 1)
    names: list[str] = []
    for index in range(len(LIST_SIZES)):
        region = REGIONS[index % len(REGIONS)][0]
        sector = "bakkerij-horeca" if index == 0 else _slug(rng.choice(SECTORS))
        name = f"{sector}-{region}"
        while name in names:
            name = f"{name}-{len(names)}"
        names.append(name)
    return names


def list_sectors(index: int, rng: random.Random) -> dict[str, int]:
    """Sector weights of list `index`: the first is bakeries and catering, others mixed."""
    if index == 0:
        return {"bakkerijbranche": 3, "horeca": 2}
    chosen = rng.sample(SECTORS, 3)
    return dict(zip(chosen, (4, 2, 1), strict=True))


def write_list_csv(path: Path, index: int, seed: int, emails: set[str], domains: set[str]) -> int:
    """List `index` as a Dutch Excel-style CSV (semicolons); returns its rows. `emails` and
    `domains` are taken across lists, so every lead and company domain is unique."""
    rng = random.Random(seed * 1000 + index)
    fake = Faker("nl_NL")
    fake.seed_instance(seed * 1000 + index)
    first_names = [fake.first_name() for _ in range(400)]
    last_names = [fake.last_name() for _ in range(600)]
    _region, cities = REGIONS[index % len(REGIONS)]
    sectors = list_sectors(index, rng)
    size = scaled(LIST_SIZES[index])
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        while written < size:
            sector = rng.choices(list(sectors), weights=list(sectors.values()))[0]
            city = rng.choice(cities)
            company = _company(rng, sector, city, last_names)
            roll = rng.random()
            free = roll < FREE_MAIL_SHARE
            colleagues = rng.randint(2, 4) if roll > 1 - SHARED_SHARE / 3 else 1
            domain = _domain(company, city, domains)
            for n in range(min(colleagues, size - written)):
                first, last = rng.choice(first_names), rng.choice(last_names)
                if free:
                    local = f"{_ascii(first)}.{_ascii(last)}"
                    email = _unique(local, rng.choice(FREE_MAIL), emails, rng)
                    website = ""
                else:
                    local = "info" if n == 0 and rng.random() < 0.5 else _ascii(first)
                    email = _unique(local, domain, emails, rng)
                    website = "" if rng.random() < NO_WEBSITE_SHARE else f"https://www.{domain}"
                street = f"{rng.choice(STREETS)} {rng.randint(1, 240)}"
                postcode = f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}" + (
                    rng.choice("ABCDEFGHJKLMNPRSTVWXZ")
                )
                phone = f"0{rng.randint(10, 79)}-{rng.randint(1000000, 9999999)}"
                writer.writerow([email, company, website, first, last, street, postcode, city,
                                 sector, phone])  # fmt: skip
                written += 1
    return written


def _company(rng: random.Random, sector: str, city: str, last_names: list[str]) -> str:
    before, after = TRADE_WORDS[sector]
    surname = last_names[rng.randrange(len(last_names))]
    surname = surname[:1].upper() + surname[1:]
    roll = rng.random()
    if sector == "horeca" and roll < 0.5:
        name = f"{rng.choice(before)} {rng.choice(HORECA_NAMES)}"
    elif roll < 0.5:
        name = f"{rng.choice(before)} {surname}"
    elif roll < 0.9:
        name = f"{surname} {rng.choice(after)}"
    else:
        name = f"{rng.choice(before)} {city}"
    if sector not in ("horeca", "advocatuur") and rng.random() < 0.35:
        name += rng.choice((" B.V.", " B.V.", " V.O.F."))
    return name


def _domain(company: str, city: str, taken: set[str]) -> str:
    words = [w for w in (re.sub(r"[^a-z0-9]", "", _ascii(w)) for w in company.split()) if w]
    words = [w for w in words if w not in ("bv", "vof")]
    slug = "-".join(words)[:40].strip("-") or "bedrijf"
    candidate = f"{slug}.nl"
    if candidate in taken:
        candidate = f"{slug}-{_slug(city)}.nl"
    number = 2
    while candidate in taken:
        candidate = f"{slug}{number}.nl"
        number += 1
    taken.add(candidate)
    return candidate


def _unique(local: str, domain: str, taken: set[str], rng: random.Random) -> str:
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randint(2, 9999)}@{domain}"
    taken.add(email)
    return email


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9.]", "", folded.lower()).strip(".") or "x"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text.replace(" ", "-"))).strip("-")


@dataclass
class DomainPlan:
    name: str
    label: str
    interval_seconds: int


def sending_domains() -> list[DomainPlan]:
    """The 196 domains beside the demo's four: FAST at 60 s, then SLOW at the default pace."""
    out: list[DomainPlan] = []
    for index in range(FAST_DOMAINS + SLOW_DOMAINS):
        word = DOMAIN_WORDS[index % len(DOMAIN_WORDS)]
        fast = index < FAST_DOMAINS
        out.append(
            DomainPlan(
                name=f"{word}-mail{index + 1:03d}.nl",
                label=f"k{index + 1:03d}",
                interval_seconds=FAST_INTERVAL if fast else 1200,
            )
        )
    return out


@dataclass
class CampaignPlan:
    """One campaign of the data set; days are before the build's `now`."""

    key: str
    name: str
    lists: list[int]
    domains: list[int]  # indices into sending_domains()
    created_days: float
    actions: list[tuple[str, float]] = field(default_factory=list)
    limit: int | None = None  # first N of the audience snapshot
    one_per_domain: bool = True


def campaign_plans() -> list[CampaignPlan]:
    """35 campaigns beside the demo's six: 41 in all."""
    fast = list(range(FAST_DOMAINS))
    slow = list(range(FAST_DOMAINS, FAST_DOMAINS + SLOW_DOMAINS))
    plans = [
        CampaignPlan("running_107k", "Bakkerij & horeca Noord-Holland - groot", [0], fast[0:4],
                     13, [("start", 12)]),
        CampaignPlan("paused_86k", "Zuid-Holland - voorjaarsactie", [2], fast[4:8], 10,
                     [("start", 9), ("pause", 2)], limit=24_500),
        CampaignPlan("draft_26k", "Zuid-Holland breed - concept", [1], fast[0:12], 1),
    ]  # fmt: skip
    for n, (days, lst) in enumerate(((6, 3), (4, 4), (2, 5))):
        plans.append(
            CampaignPlan(f"running_fast_{n + 1}", f"Regio-campagne {n + 1} - najaar", [lst],
                         fast[8 + 4 * n : 12 + 4 * n], days + 1, [("start", days)])
        )  # fmt: skip
    for n, days in enumerate((30, 20, 10)):
        plans.append(
            CampaignPlan(f"running_slow_{n + 1}", f"Rustig tempo {n + 1}", [6 + n],
                         slow[4 * n : 4 * n + 4], days + 1, [("start", days)], limit=3_000)
        )  # fmt: skip
    pool = fast[20:]
    for n in range(24):
        days = 140 - 5 * n
        actions: list[tuple[str, float]] = [("start", days)]
        if n in (5, 17):
            actions.append(("stop", days - 2))
        lst = 9 + n % 17
        domains = [pool[(8 * n + k) % len(pool)] for k in range(8)]
        plans.append(
            CampaignPlan(f"done_{n + 1}", f"Afgerond {n + 1:02d} - {list_names_short(lst)}",
                         [lst], domains, days + 1, actions, limit=5_200)
        )  # fmt: skip
    plans.append(CampaignPlan("draft_small_1", "Concept - nieuwe lijst", [7], fast[20:24], 3,
                              limit=4_000))  # fmt: skip
    plans.append(CampaignPlan("draft_small_2", "Concept - tweede ronde", [8], fast[24:28], 0.5,
                              limit=2_500))  # fmt: skip
    return plans


def list_names_short(index: int) -> str:
    return f"lijst {index + 1}"
