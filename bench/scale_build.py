"""Filling the agency-scale database (see bench/scale.py for what is product code and what SQL)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from scale_data import (
    LIST_SIZES,
    CampaignPlan,
    campaign_plans,
    list_names,
    scaled,
    sending_domains,
    write_list_csv,
)

from webapp.extensions import db

# Shares of the mails that went out, as the demo's history uses (webapp/demo/history.py).
OPEN_SHARE = 0.45
MACHINE_ONLY_SHARE = 0.3  # of the opened: only an image proxy loaded them
CLICK_SHARE_OF_HUMAN_OPENS = 0.18
BOUNCE_SHARE = 0.025  # of first mails
REPLY_SHARE = 0.05
UNSUBSCRIBE_SHARE = 0.004
# Repeat opens by people: 1..N per opened mail (what brings the events to ~1.5M).
HUMAN_OPENS_MAX = 5
# Then, days later, 1..N more opens of a person's first open, and deferrals before a send.
REPEAT_OPENS_MAX = 5
DEFERRED_SHARE = 0.05

NEW_ID = "replace(gen_random_uuid()::text, '-', '')"


class Builder:
    def __init__(self, app: Any, seed: int, now: datetime, phases: Any) -> None:
        self.app, self.seed, self.now, self.phases = app, seed, now, phases
        self.campaign_ids: dict[str, str] = {}

    def run(self) -> dict[str, Any]:
        self.demo()
        self.domains()
        self.leads()
        self.campaigns()
        self.history()
        self.more_events()
        return self.finish()

    # -- product paths --------------------------------------------------------------------

    def demo(self) -> None:
        from webapp.demo.world import seed_demo_world

        summary = seed_demo_world(self.now)
        db.session.commit()
        self.phases.done(f"demo world (users, 4 domains, template, 2,100 leads): {summary}")

    def domains(self) -> None:
        from webapp.models import SendingDomain

        for plan in sending_domains():
            db.session.add(
                SendingDomain(
                    name=plan.name,
                    label=plan.label,
                    interval_seconds=plan.interval_seconds,
                    smtp_host=f"smtp.{plan.name}",
                    smtp_user=f"outreach@{plan.name}",
                    imap_host=f"imap.{plan.name}",
                    imap_user=f"outreach@{plan.name}",
                    created_at=self.now - timedelta(days=200),
                )
            )
        db.session.commit()
        self.phases.done(f"{len(sending_domains())} sending domains")

    def leads(self) -> None:
        from webapp.services.leads.imports import import_file

        names = list_names(self.seed)
        emails: set[str] = set()
        domains: set[str] = set()
        with tempfile.TemporaryDirectory() as folder:
            for index, name in enumerate(names):
                path = Path(folder) / f"{name}.csv"
                rows = write_list_csv(path, index, self.seed, emails, domains)
                summary = import_file(str(path), name)
                db.session.commit()
                done = summary.to_dict()
                self.phases.done(
                    f"list {index + 1}/{len(names)} {name}: {rows:,} rows, created "
                    f"{done['created']:,}, skipped {done['skipped']:,}"
                )
        # The import stamps leads with the moment of import; spread them over the months
        # before the first campaign, each list on its own day.
        for index, name in enumerate(names):
            db.session.execute(
                sa.text(
                    "UPDATE leads SET created_at = :at + (random() * interval '2 hours'), "
                    "updated_at = :at WHERE list_name = :name"
                ),
                {"at": self.now - timedelta(days=200 - index * 2), "name": name},
            )
        db.session.commit()
        self.phases.done(f"{sum(map(scaled, LIST_SIZES)):,} leads imported in {len(names)} lists")

    def campaigns(self) -> None:
        """Create every campaign and apply its actions in time order, delivering what fell
        due between the moments (as the sender would have)."""
        from webapp.demo.seed import TEMPLATE_NAME
        from webapp.models import Campaign, Template

        template_id = db.session.execute(
            sa.select(Template.id).where(Template.name == TEMPLATE_NAME)
        ).scalar_one()
        domain_names = [d.name for d in sending_domains()]
        names = list_names(self.seed)
        plans = {plan.key: plan for plan in campaign_plans()}
        timeline: list[tuple[datetime, int, str, str]] = []
        for order, plan in enumerate(plans.values()):
            timeline.append(
                (self.now - timedelta(days=plan.created_days), order, plan.key, "create")
            )
            for action, days in plan.actions:
                timeline.append((self.now - timedelta(days=days), order, plan.key, action))
        timeline.sort()
        for moment, _order, key, action in timeline:
            self.deliver(moment)
            plan = plans[key]
            if action == "create":
                self.create(plan, template_id, domain_names, names, moment)
                continue
            from webapp.services.campaigns import apply_action

            campaign = db.session.get(Campaign, self.campaign_ids[key])
            assert campaign is not None
            written = apply_action(campaign, action, None, moment)
            db.session.commit()
            self.phases.done(
                f"{action} {plan.name!r} at {moment:%Y-%m-%d %H:%M}: {written:,} messages"
            )
        self.deliver(self.now)
        self.phases.done("campaigns created and started, due mail delivered")

    def create(
        self, plan: CampaignPlan, template_id: str, domains: list[str], lists: list[str],
        moment: datetime,
    ) -> None:  # fmt: skip
        from webapp.services.campaigns import create_campaign

        campaign = create_campaign(
            {
                "name": plan.name,
                "template_id": template_id,
                "audience": {
                    "list_names": [lists[i] for i in plan.lists],
                    "one_per_domain": plan.one_per_domain,
                },
                "domains": [domains[i] for i in plan.domains],
                "followup_enabled": True,
                "followup_days": 3,
            },
            None,
            moment,
        )
        campaign.created_at = moment
        if plan.limit is not None and campaign.audience is not None:
            campaign.audience.lead_ids = list(campaign.audience.lead_ids[: scaled(plan.limit)])
        db.session.commit()
        self.campaign_ids[plan.key] = campaign.id
        size = len(campaign.audience.lead_ids) if campaign.audience else 0
        self.phases.done(f"create {plan.name!r}: audience {size:,}")

    def deliver(self, until: datetime) -> None:
        """Queued mail of the running campaigns due before `until` goes out: sent, some
        opened later (an open after the build's `now` has not happened)."""
        from webapp.models import Campaign
        from webapp.services.campaigns import complete_if_done

        ids = list(self.campaign_ids.values())
        if not ids:
            return
        db.session.execute(
            sa.text(
                f"""
                UPDATE messages m SET sent_at = m.scheduled_at,
                    status = CASE WHEN s.open_at <= :now THEN 'opened' ELSE 'sent' END,
                    open_at = CASE WHEN s.open_at <= :now THEN s.open_at END
                FROM (SELECT m2.id, CASE WHEN random() < {OPEN_SHARE}
                             THEN m2.scheduled_at + (120 + random() * 172800) * interval '1 second'
                             END AS open_at
                      FROM messages m2 JOIN campaigns c ON c.id = m2.campaign_id
                      WHERE c.status = 'running' AND c.id = ANY(:ids)
                        AND m2.status = 'queued' AND m2.scheduled_at < :until) s
                WHERE m.id = s.id
                """
            ),
            {"ids": ids, "until": until, "now": self.now},
        )
        for campaign_id in ids:
            campaign = db.session.get(Campaign, campaign_id)
            running = campaign is not None and campaign.status == "running"
            if running and complete_if_done(campaign, until):
                db.session.execute(
                    sa.text(
                        "UPDATE campaigns SET finished_at = coalesce((SELECT max(sent_at) "
                        "FROM messages WHERE campaign_id = :c), finished_at) WHERE id = :c"
                    ),
                    {"c": campaign_id},
                )
        db.session.commit()

    # -- SQL: what happened after sending ---------------------------------------------------

    def history(self) -> None:
        ids = list(self.campaign_ids.values())
        params = {"ids": ids, "now": self.now}
        run = lambda sql, **extra: db.session.execute(sa.text(sql), params | extra)  # noqa: E731
        run("SELECT setseed(:s)", s=(self.seed % 1000) / 1000)
        run(
            """CREATE TEMP TABLE hist ON COMMIT DROP AS
               SELECT id, campaign_id, lead_id, mail_number, sent_at, open_at, random() AS r
               FROM messages WHERE campaign_id = ANY(:ids) AND sent_at IS NOT NULL"""
        )
        run("CREATE INDEX ON hist (campaign_id, lead_id)")
        # Hard bounces on first mails: the message bounced, the lead's thread ends.
        run(
            f"""CREATE TEMP TABLE ended ON COMMIT DROP AS
                SELECT id, campaign_id, lead_id, sent_at AS at, 'bounced' AS why
                FROM hist WHERE mail_number = 1 AND r < {BOUNCE_SHARE}"""
        )
        run(
            f"""INSERT INTO ended
                SELECT DISTINCT ON (campaign_id, lead_id) id, campaign_id, lead_id,
                       sent_at + (1 + floor(random() * 72)) * interval '1 hour', 'replied'
                FROM hist h WHERE r >= {BOUNCE_SHARE} AND random() < {REPLY_SHARE}
                  AND NOT EXISTS (SELECT 1 FROM ended e WHERE e.campaign_id = h.campaign_id
                                  AND e.lead_id = h.lead_id)
                ORDER BY campaign_id, lead_id, sent_at"""
        )
        run(
            f"""INSERT INTO ended
                SELECT DISTINCT ON (campaign_id, lead_id) id, campaign_id, lead_id,
                       sent_at + (10 + random() * 7200) * interval '1 minute', 'unsubscribed'
                FROM hist h WHERE random() < {UNSUBSCRIBE_SHARE}
                  AND NOT EXISTS (SELECT 1 FROM ended e WHERE e.campaign_id = h.campaign_id
                                  AND e.lead_id = h.lead_id)
                ORDER BY campaign_id, lead_id, sent_at"""
        )
        run("DELETE FROM ended WHERE at > :now")
        self.phases.done("history: bounces, replies and unsubscribes chosen")
        run(
            """UPDATE messages m SET status = 'bounced', sent_at = NULL, open_at = NULL,
                      last_error = '550 5.1.1 mailbox unknown'
               FROM ended e WHERE e.why = 'bounced' AND m.id = e.id"""
        )
        # Nothing goes after a thread ended: later mails canceled (queued or "sent" by deliver).
        run(
            """UPDATE messages m SET status = 'canceled', sent_at = NULL, open_at = NULL,
                      last_error = CASE e.why WHEN 'replied' THEN 'lead replied' END
               FROM ended e
               WHERE m.campaign_id = e.campaign_id AND m.lead_id = e.lead_id AND m.id <> e.id
                 AND m.scheduled_at > e.at AND m.status IN ('queued', 'sent', 'opened')"""
        )
        run(
            """UPDATE leads l SET status = CASE WHEN e.why = 'bounced' THEN 'bounced'
                                  ELSE 'suppressed' END
               FROM ended e WHERE e.why IN ('bounced', 'unsubscribed') AND l.id = e.lead_id"""
        )
        run(
            f"""INSERT INTO suppressions (id, email, domain, reason, note, created_at)
                SELECT DISTINCT ON (l.email) {NEW_ID}, l.email, NULL,
                       CASE e.why WHEN 'bounced' THEN 'hard_bounce' ELSE 'unsubscribed' END,
                       CASE e.why WHEN 'bounced' THEN 'SMTP 550 5.1.1' END, e.at
                FROM ended e JOIN leads l ON l.id = e.lead_id
                WHERE e.why IN ('bounced', 'unsubscribed')
                  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = l.email)
                ORDER BY l.email, e.at"""
        )
        self.phases.done("history: threads ended, leads suppressed")
        ev = "INSERT INTO message_events (id, message_id, event_type, meta, created_at) "
        run(
            ev
            + f"""SELECT {NEW_ID}, m.id, 'sent', '{{"code": 250}}'::jsonb, m.sent_at
                     FROM messages m WHERE m.campaign_id = ANY(:ids) AND m.sent_at IS NOT NULL"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, e.id, 'bounced', '{{"hard": true, "code": 550}}'::jsonb, e.at
                     FROM ended e WHERE e.why = 'bounced'"""
        )
        self.phases.done("history: sent and bounced events")
        # Opens: a machine's (image proxy) only, or a person's 1..N times.
        run(
            f"""CREATE TEMP TABLE opened ON COMMIT DROP AS
                SELECT id, open_at, random() < {MACHINE_ONLY_SHARE} AS machine
                FROM messages WHERE campaign_id = ANY(:ids) AND open_at IS NOT NULL"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, id, 'opened',
                            '{{"machine": true, "reason": "apple_mpp"}}'::jsonb, open_at
                     FROM opened WHERE machine"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, o.id, 'opened', '{{"machine": false}}'::jsonb,
                            o.open_at + (n - 1) * (random() * interval '30 hours')
                     FROM opened o,
                          generate_series(1, 1 + floor(random() * {HUMAN_OPENS_MAX})::int) n
                     WHERE NOT o.machine"""
        )
        run("DELETE FROM message_events WHERE created_at > :now AND event_type = 'opened'")
        run(
            ev
            + f"""SELECT {NEW_ID}, id, 'clicked',
                     '{{"machine": false, "url": "https://www.punthelder.nl/vindbaarheid"}}'::jsonb,
                     open_at + interval '40 seconds'
                     FROM opened WHERE NOT machine AND random() < {CLICK_SHARE_OF_HUMAN_OPENS}
                       AND open_at + interval '40 seconds' <= :now"""
        )
        self.phases.done("history: opens and clicks")
        run(
            ev
            + f"""SELECT {NEW_ID}, e.id, 'replied', jsonb_build_object('source', 'inbox',
                            'subject', 'Re: Vindbaarheid in Google', 'excerpt',
                            (ARRAY['Goedemiddag, dat klinkt interessant. Kunt u bellen?',
                                   'Graag die quickscan, dank u.',
                                   'Wij hebben hier op dit moment geen behoefte aan.',
                                   'Wat kost zoiets ongeveer?'])[1 + floor(random() * 4)::int]),
                            e.at
                     FROM ended e WHERE e.why = 'replied'"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, e.id, 'unsubscribed', '{{"source": "link"}}'::jsonb, e.at
                     FROM ended e WHERE e.why = 'unsubscribed'"""
        )
        run(
            """UPDATE leads l SET last_emailed_at = x.at
               FROM (SELECT lead_id, max(sent_at) AS at FROM messages
                     WHERE sent_at IS NOT NULL GROUP BY lead_id) x
               WHERE l.id = x.lead_id AND l.last_emailed_at IS DISTINCT FROM x.at"""
        )
        db.session.commit()
        self.phases.done("history: replies, unsubscribes, leads' last mail")

    def more_events(self) -> None:
        """What brings the events to the issue's ~1.5M: people opening a mail again days
        later, clicking twice, and mail servers deferring a mail before taking it."""
        params = {"ids": list(self.campaign_ids.values()), "now": self.now}
        run = lambda sql, **extra: db.session.execute(sa.text(sql), params | extra)  # noqa: E731
        run("SELECT setseed(:s)", s=(self.seed % 1000) / 1000 + 0.0005)
        ev = "INSERT INTO message_events (id, message_id, event_type, meta, created_at) "
        run(
            ev
            + f"""SELECT {NEW_ID}, e.message_id, 'opened', '{{"machine": false}}'::jsonb,
                            e.created_at + (1 + random() * 240) * interval '1 hour'
                     FROM message_events e JOIN messages m ON m.id = e.message_id,
                          generate_series(1, 1 + floor(random() * {REPEAT_OPENS_MAX})::int) n
                     WHERE m.campaign_id = ANY(:ids) AND e.event_type = 'opened'
                       AND e.meta ->> 'machine' = 'false'
                       AND e.created_at = m.open_at"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, e.message_id, 'clicked', e.meta,
                            e.created_at + (1 + random() * 72) * interval '1 hour'
                     FROM message_events e JOIN messages m ON m.id = e.message_id
                     WHERE m.campaign_id = ANY(:ids) AND e.event_type = 'clicked'
                       AND random() < 0.5"""
        )
        run(
            ev
            + f"""SELECT {NEW_ID}, id, 'deferred',
                            '{{"code": 451, "reason": "4.7.1 greylisted, try again later"}}'::jsonb,
                            sent_at - interval '10 minutes'
                     FROM messages WHERE campaign_id = ANY(:ids) AND sent_at IS NOT NULL
                       AND random() < {DEFERRED_SHARE}"""
        )
        run(
            "DELETE FROM message_events WHERE created_at > :now "
            "AND event_type IN ('opened', 'clicked')"
        )
        db.session.commit()
        self.phases.done("history: repeat opens and clicks, deferrals")

    def finish(self) -> dict[str, Any]:
        from webapp.services.kpis.summaries import rebuild_summaries

        rebuild_summaries()
        db.session.commit()
        self.phases.done("KPI summaries rebuilt")
        engine = db.engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
        self.phases.done("VACUUM (ANALYZE)")
        count = lambda sql: db.session.execute(sa.text(sql)).scalar()  # noqa: E731
        sizes: dict[str, Any] = {
            "leads": count("SELECT count(*) FROM leads"),
            "lists": count("SELECT count(DISTINCT list_name) FROM leads"),
            "domains": count("SELECT count(*) FROM sending_domains"),
            "campaigns": count("SELECT count(*) FROM campaigns"),
            "messages": count("SELECT count(*) FROM messages"),
            "events": count("SELECT count(*) FROM message_events"),
            "future_bookings": count(
                "SELECT count(*) FROM messages WHERE status = 'queued' AND scheduled_at >= now()"
            ),
            "last_booking": str(
                count("SELECT max(scheduled_at) FROM messages WHERE status = 'queued'")
            ),
        }
        notable = {}
        for key in ("running_107k", "paused_86k", "draft_26k"):
            cid = self.campaign_ids[key]
            row = db.session.execute(
                sa.text(
                    "SELECT c.name, c.status, jsonb_array_length(a.lead_ids::jsonb), "
                    "(SELECT count(*) FROM messages m WHERE m.campaign_id = c.id), "
                    "(SELECT count(*) FROM messages m WHERE m.campaign_id = c.id "
                    " AND m.status = 'queued') "
                    "FROM campaigns c LEFT JOIN campaign_audience a ON a.campaign_id = c.id "
                    "WHERE c.id = :c"
                ),
                {"c": cid},
            ).one()
            notable[key] = {"id": cid, "name": row[0], "status": row[1], "audience": row[2],
                            "messages": row[3], "queued": row[4]}  # fmt: skip
        sizes["campaign_ids"] = self.campaign_ids
        sizes["notable"] = notable
        statuses = db.session.execute(
            sa.text("SELECT status, count(*) FROM campaigns GROUP BY status ORDER BY 1")
        ).all()
        sizes["campaign_statuses"] = dict(statuses)
        return sizes
