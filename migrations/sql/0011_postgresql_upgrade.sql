-- Revision 0011 on PostgreSQL: the triggers that keep domain_booking_days, then the summary
-- of the messages that exist already.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments. The
-- revision joins each indented line onto the line above it with one space.

CREATE TABLE domain_booking_days (
    domain_used VARCHAR(253) NOT NULL,
    day DATE NOT NULL,
    campaign_id VARCHAR(32) NOT NULL,
    live INTEGER DEFAULT '0' NOT NULL,
    planned INTEGER DEFAULT '0' NOT NULL,
    CONSTRAINT pk_domain_booking_days PRIMARY KEY (domain_used, day, campaign_id));

-- Starting a campaign inserts its plan, stopping it cancels everything queued, a re-plan moves
-- it: once per statement over the transition tables, a 100,000-row statement is one grouped
-- adjustment. A message adds +1 to its groups, removing it adds -1; groups whose change nets
-- to zero (a status change from queued to sending, a new open) write nothing.
CREATE FUNCTION bookings_message_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT domain_used, day, campaign_id, sum(live), sum(planned)
    FROM (SELECT m.domain_used, (((m.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day, m.campaign_id,
              1 AS live, 0 AS planned
          FROM new_rows m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, (((coalesce(m.sent_at, m.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              m.campaign_id, 0 AS live, 1 AS planned
          FROM new_rows m
          WHERE m.status <> 'canceled') d
    GROUP BY domain_used, day, campaign_id
    HAVING sum(live) <> 0 OR sum(planned) <> 0
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
RETURN NULL;
END
$$;

CREATE TRIGGER bookings_message_inserted AFTER INSERT
    ON messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bookings_message_inserted();

CREATE FUNCTION bookings_message_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
    RETURN NULL;
END IF;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT domain_used, day, campaign_id, sum(live), sum(planned)
    FROM (SELECT m.domain_used, (((m.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day, m.campaign_id,
              -1 AS live, 0 AS planned
          FROM old_rows m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, (((coalesce(m.sent_at, m.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              m.campaign_id, 0 AS live, -1 AS planned
          FROM old_rows m
          WHERE m.status <> 'canceled'
          UNION ALL
          SELECT m.domain_used, (((m.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day, m.campaign_id,
              1 AS live, 0 AS planned
          FROM new_rows m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, (((coalesce(m.sent_at, m.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              m.campaign_id, 0 AS live, 1 AS planned
          FROM new_rows m
          WHERE m.status <> 'canceled') d
    GROUP BY domain_used, day, campaign_id
    HAVING sum(live) <> 0 OR sum(planned) <> 0
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
DELETE FROM domain_booking_days b
    WHERE b.live = 0 AND b.planned = 0
        AND (b.domain_used, b.day, b.campaign_id) IN (
            SELECT o.domain_used, (((o.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date), o.campaign_id FROM old_rows o
            UNION
            SELECT o.domain_used, (((coalesce(o.sent_at, o.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date), o.campaign_id
            FROM old_rows o);
RETURN NULL;
END
$$;

CREATE TRIGGER bookings_message_updated AFTER UPDATE
    ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bookings_message_updated();

CREATE FUNCTION bookings_message_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
    RETURN NULL;
END IF;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT domain_used, day, campaign_id, sum(live), sum(planned)
    FROM (SELECT m.domain_used, (((m.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day, m.campaign_id,
              -1 AS live, 0 AS planned
          FROM old_rows m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, (((coalesce(m.sent_at, m.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              m.campaign_id, 0 AS live, -1 AS planned
          FROM old_rows m
          WHERE m.status <> 'canceled') d
    GROUP BY domain_used, day, campaign_id
    HAVING sum(live) <> 0 OR sum(planned) <> 0
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
DELETE FROM domain_booking_days b
    WHERE b.live = 0 AND b.planned = 0
        AND (b.domain_used, b.day, b.campaign_id) IN (
            SELECT o.domain_used, (((o.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date), o.campaign_id FROM old_rows o
            UNION
            SELECT o.domain_used, (((coalesce(o.sent_at, o.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date), o.campaign_id
            FROM old_rows o);
RETURN NULL;
END
$$;

CREATE TRIGGER bookings_message_deleted AFTER DELETE
    ON messages
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION bookings_message_deleted();

INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT domain_used, day, campaign_id, sum(live), sum(planned)
    FROM (SELECT m.domain_used, (((m.scheduled_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day, m.campaign_id,
              1 AS live, 0 AS planned
          FROM messages m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, (((coalesce(m.sent_at, m.scheduled_at)) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              m.campaign_id, 0 AS live, 1 AS planned
          FROM messages m
          WHERE m.status <> 'canceled') d
    GROUP BY domain_used, day, campaign_id
    HAVING sum(live) <> 0 OR sum(planned) <> 0
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
