"""The dry run's read of an audience counted in the database (one row back) answers what the
read of every lead's row answers: plannable leads in order, leads missing each variable,
examples, whatever is deleted, stopped, blank or gone."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_lead
from webapp.extensions import db
from webapp.services.planning.lead_checks import read_audience

BLANKS = ["", "  ", "[]", "{}", None]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10**6))
def test_the_counted_read_equals_the_read_of_every_row(app: Flask, seed: int) -> None:
    rng = random.Random(seed)
    try:
        ids = []
        for _ in range(rng.randint(0, 40)):
            company = rng.choice(["Bakkerij", *BLANKS])
            lead = make_lead(
                company=company or "",
                vars={"company": company, "city": rng.choice(["Delft", *BLANKS])},
                stopped=rng.random() < 0.2,
                deleted_at=datetime(2026, 11, 1, tzinfo=UTC) if rng.random() < 0.2 else None,
            )
            ids.append(lead.id)
        ids += rng.sample(ids, min(len(ids), rng.randint(0, 3)))  # repeated ids
        if rng.random() < 0.3:
            ids.append("0" * 32)  # a lead that is gone
        rng.shuffle(ids)
        variables = sorted(rng.sample(["company", "city", "url"], rng.randint(0, 3)))
        counted, checks = read_audience(ids, variables, False)
        rows, every = read_audience(ids, variables, True)  # company domains: every row read
        assert counted == rows
        assert (checks.leads_missing, checks.missing, checks.examples) == (
            every.leads_missing,
            every.missing,
            every.examples,
        )
    finally:
        db.session.rollback()
