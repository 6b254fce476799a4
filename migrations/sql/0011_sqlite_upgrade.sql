-- Revision 0011 on SQLite: the row triggers that keep domain_booking_days, then the summary
-- of the messages that exist already.
--
-- SQLite has no time zone rules, so the Europe/Amsterdam day of a UTC timestamp is worked out
-- with the EU's summer time written out, as revision 0003 does.
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

CREATE TRIGGER bookings_message_inserted AFTER INSERT ON messages FOR EACH ROW
    WHEN NEW.status <> 'canceled'
BEGIN
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT NEW.domain_used, date(NEW.scheduled_at, CASE WHEN NEW.scheduled_at >= datetime(substr(NEW.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND NEW.scheduled_at < datetime(substr(NEW.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        NEW.campaign_id, 1, 0
    WHERE NEW.status IN ('queued', 'sending')
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT NEW.domain_used, date(coalesce(NEW.sent_at, NEW.scheduled_at), CASE WHEN coalesce(NEW.sent_at, NEW.scheduled_at) >= datetime(substr(coalesce(NEW.sent_at, NEW.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(NEW.sent_at, NEW.scheduled_at) < datetime(substr(coalesce(NEW.sent_at, NEW.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        NEW.campaign_id, 0, 1
    WHERE NEW.status <> 'canceled'
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
END;

CREATE TRIGGER bookings_message_updated AFTER UPDATE OF campaign_id,
    domain_used, status, sent_at, scheduled_at
    ON messages
    FOR EACH ROW
    WHEN OLD.status IS NOT NEW.status OR OLD.sent_at IS NOT NEW.sent_at
        OR OLD.scheduled_at IS NOT NEW.scheduled_at OR OLD.campaign_id IS NOT NEW.campaign_id
        OR OLD.domain_used IS NOT NEW.domain_used
BEGIN
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT OLD.domain_used, date(OLD.scheduled_at, CASE WHEN OLD.scheduled_at >= datetime(substr(OLD.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND OLD.scheduled_at < datetime(substr(OLD.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        OLD.campaign_id, -1, 0
    WHERE OLD.status IN ('queued', 'sending')
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT OLD.domain_used, date(coalesce(OLD.sent_at, OLD.scheduled_at), CASE WHEN coalesce(OLD.sent_at, OLD.scheduled_at) >= datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(OLD.sent_at, OLD.scheduled_at) < datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        OLD.campaign_id, 0, -1
    WHERE OLD.status <> 'canceled'
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT NEW.domain_used, date(NEW.scheduled_at, CASE WHEN NEW.scheduled_at >= datetime(substr(NEW.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND NEW.scheduled_at < datetime(substr(NEW.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        NEW.campaign_id, 1, 0
    WHERE NEW.status IN ('queued', 'sending')
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT NEW.domain_used, date(coalesce(NEW.sent_at, NEW.scheduled_at), CASE WHEN coalesce(NEW.sent_at, NEW.scheduled_at) >= datetime(substr(coalesce(NEW.sent_at, NEW.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(NEW.sent_at, NEW.scheduled_at) < datetime(substr(coalesce(NEW.sent_at, NEW.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        NEW.campaign_id, 0, 1
    WHERE NEW.status <> 'canceled'
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
DELETE FROM domain_booking_days
    WHERE live = 0 AND planned = 0 AND domain_used = OLD.domain_used
        AND campaign_id = OLD.campaign_id
        AND day IN (date(OLD.scheduled_at, CASE WHEN OLD.scheduled_at >= datetime(substr(OLD.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND OLD.scheduled_at < datetime(substr(OLD.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
            date(coalesce(OLD.sent_at, OLD.scheduled_at), CASE WHEN coalesce(OLD.sent_at, OLD.scheduled_at) >= datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(OLD.sent_at, OLD.scheduled_at) < datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END));
END;

CREATE TRIGGER bookings_message_deleted AFTER DELETE ON messages FOR EACH ROW
    WHEN OLD.status <> 'canceled'
BEGIN
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT OLD.domain_used, date(OLD.scheduled_at, CASE WHEN OLD.scheduled_at >= datetime(substr(OLD.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND OLD.scheduled_at < datetime(substr(OLD.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        OLD.campaign_id, -1, 0
    WHERE OLD.status IN ('queued', 'sending')
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT OLD.domain_used, date(coalesce(OLD.sent_at, OLD.scheduled_at), CASE WHEN coalesce(OLD.sent_at, OLD.scheduled_at) >= datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(OLD.sent_at, OLD.scheduled_at) < datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
        OLD.campaign_id, 0, -1
    WHERE OLD.status <> 'canceled'
    ON CONFLICT (domain_used, day, campaign_id)
    DO UPDATE SET live = domain_booking_days.live + excluded.live,
        planned = domain_booking_days.planned + excluded.planned;
DELETE FROM domain_booking_days
    WHERE live = 0 AND planned = 0 AND domain_used = OLD.domain_used
        AND campaign_id = OLD.campaign_id
        AND day IN (date(OLD.scheduled_at, CASE WHEN OLD.scheduled_at >= datetime(substr(OLD.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND OLD.scheduled_at < datetime(substr(OLD.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END),
            date(coalesce(OLD.sent_at, OLD.scheduled_at), CASE WHEN coalesce(OLD.sent_at, OLD.scheduled_at) >= datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(OLD.sent_at, OLD.scheduled_at) < datetime(substr(coalesce(OLD.sent_at, OLD.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END));
END;

INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned)
    SELECT domain_used, day, campaign_id, sum(live), sum(planned)
    FROM (SELECT m.domain_used, date(m.scheduled_at, CASE WHEN m.scheduled_at >= datetime(substr(m.scheduled_at, 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND m.scheduled_at < datetime(substr(m.scheduled_at, 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END) AS day,
              m.campaign_id, 1 AS live, 0 AS planned
          FROM messages m
          WHERE m.status IN ('queued', 'sending')
          UNION ALL
          SELECT m.domain_used, date(coalesce(m.sent_at, m.scheduled_at), CASE WHEN coalesce(m.sent_at, m.scheduled_at) >= datetime(substr(coalesce(m.sent_at, m.scheduled_at), 1, 4) || '-03-25', 'weekday 0', '+1 hours')
        AND coalesce(m.sent_at, m.scheduled_at) < datetime(substr(coalesce(m.sent_at, m.scheduled_at), 1, 4) || '-10-25', 'weekday 0', '+1 hours')
        THEN '+2 hours' ELSE '+1 hours' END) AS day,
              m.campaign_id, 0 AS live, 1 AS planned
          FROM messages m
          WHERE m.status <> 'canceled') d
    GROUP BY domain_used, day, campaign_id;
