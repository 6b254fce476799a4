-- Revision 0004 on PostgreSQL: the trigger on new message_events runs once per statement, and
-- the statement-level message functions of 0003 return at once when their statement changed no
-- row.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments. The
-- revision joins each indented line onto the line above it with one space, so the wrapping is
-- for reading only: function and trigger bodies reach the database with one line per statement,
-- exactly as this revision has always written them.

-- The statement-level message functions of 0003, now returning at once when their statement
-- changed no row: an UPDATE matching nothing still fires its statement trigger.
CREATE OR REPLACE FUNCTION kpis_message_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
INSERT INTO campaign_kpis (campaign_id, mail_number, domain_used, messages, planned, queued,
                           sending, sent, opened, human_opened, clicked, replied, bounced,
                           failed, canceled, uncertain, unsubscribed)
    SELECT campaign_id, mail_number, domain_used, sum(messages), sum(planned), sum(queued),
        sum(sending), sum(sent), sum(opened), sum(human_opened), sum(clicked), sum(replied),
        sum(bounced), sum(failed), sum(canceled), sum(uncertain), sum(unsubscribed)
    FROM (SELECT m.campaign_id, m.mail_number, m.domain_used, 1 AS messages,
              CASE WHEN m.status <> 'canceled' THEN 1 ELSE 0 END AS planned,
              CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END AS queued,
              CASE WHEN m.status = 'sending' THEN 1 ELSE 0 END AS sending,
              CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END AS sent,
              CASE WHEN m.open_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
              CASE WHEN m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1 THEN 1 ELSE 0
                  END AS human_opened,
              coalesce(f.clicked, 0) AS clicked,
              CASE WHEN f.replied_at IS NOT NULL THEN 1 ELSE 0 END AS replied,
              CASE WHEN m.status = 'bounced' OR f.bounce_event_at IS NOT NULL THEN 1 ELSE 0 END
                  AS bounced,
              CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END AS failed,
              CASE WHEN m.status = 'canceled' THEN 1 ELSE 0 END AS canceled,
              CASE WHEN m.status = 'uncertain' THEN 1 ELSE 0 END AS uncertain,
              coalesce(f.unsubscribed, 0) AS unsubscribed
          FROM new_rows m,
              (SELECT 0 AS human_open, 0 AS clicked, NULL::timestamptz AS replied_at,
                   NULL::timestamptz AS bounce_event_at, 0 AS unsubscribed) f) d
    GROUP BY campaign_id, mail_number, domain_used
    HAVING sum(messages) <> 0 OR sum(planned) <> 0 OR sum(queued) <> 0 OR sum(sending) <> 0
        OR sum(sent) <> 0 OR sum(opened) <> 0 OR sum(human_opened) <> 0 OR sum(clicked) <> 0
        OR sum(replied) <> 0 OR sum(bounced) <> 0 OR sum(failed) <> 0 OR sum(canceled) <> 0
        OR sum(uncertain) <> 0 OR sum(unsubscribed) <> 0
    ON CONFLICT (campaign_id, mail_number, domain_used)
    DO UPDATE SET messages = campaign_kpis.messages + excluded.messages,
        planned = campaign_kpis.planned + excluded.planned,
        queued = campaign_kpis.queued + excluded.queued,
        sending = campaign_kpis.sending + excluded.sending,
        sent = campaign_kpis.sent + excluded.sent,
        opened = campaign_kpis.opened + excluded.opened,
        human_opened = campaign_kpis.human_opened + excluded.human_opened,
        clicked = campaign_kpis.clicked + excluded.clicked,
        replied = campaign_kpis.replied + excluded.replied,
        bounced = campaign_kpis.bounced + excluded.bounced,
        failed = campaign_kpis.failed + excluded.failed,
        canceled = campaign_kpis.canceled + excluded.canceled,
        uncertain = campaign_kpis.uncertain + excluded.uncertain,
        unsubscribed = campaign_kpis.unsubscribed + excluded.unsubscribed;
INSERT INTO campaign_kpi_days (campaign_id, domain_used, day, sent, opened, replied, bounced)
    SELECT campaign_id, domain_used, day, sum(sent), sum(opened), sum(replied), sum(bounced)
    FROM (SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM new_rows m,
              (SELECT 0 AS human_open, 0 AS clicked, NULL::timestamptz AS replied_at,
                   NULL::timestamptz AS bounce_event_at, 0 AS unsubscribed) f
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
          FROM new_rows m,
              (SELECT 0 AS human_open, 0 AS clicked, NULL::timestamptz AS replied_at,
                   NULL::timestamptz AS bounce_event_at, 0 AS unsubscribed) f
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
          FROM new_rows m,
              (SELECT 0 AS human_open, 0 AS clicked, NULL::timestamptz AS replied_at,
                   NULL::timestamptz AS bounce_event_at, 0 AS unsubscribed) f
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
          FROM new_rows m,
              (SELECT 0 AS human_open, 0 AS clicked, NULL::timestamptz AS replied_at,
                   NULL::timestamptz AS bounce_event_at, 0 AS unsubscribed) f
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL) d
    GROUP BY campaign_id, domain_used, day
    HAVING sum(sent) <> 0 OR sum(opened) <> 0 OR sum(replied) <> 0 OR sum(bounced) <> 0
    ON CONFLICT (campaign_id, domain_used, day)
    DO UPDATE SET sent = campaign_kpi_days.sent + excluded.sent,
        opened = campaign_kpi_days.opened + excluded.opened,
        replied = campaign_kpi_days.replied + excluded.replied,
        bounced = campaign_kpi_days.bounced + excluded.bounced;
RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpis_message_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
INSERT INTO campaign_kpis (campaign_id, mail_number, domain_used, messages, planned, queued,
                           sending, sent, opened, human_opened, clicked, replied, bounced,
                           failed, canceled, uncertain, unsubscribed)
    SELECT campaign_id, mail_number, domain_used, sum(messages), sum(planned), sum(queued),
        sum(sending), sum(sent), sum(opened), sum(human_opened), sum(clicked), sum(replied),
        sum(bounced), sum(failed), sum(canceled), sum(uncertain), sum(unsubscribed)
    FROM (SELECT m.campaign_id, m.mail_number, m.domain_used, -1 AS messages,
              -CASE WHEN m.status <> 'canceled' THEN 1 ELSE 0 END AS planned,
              -CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END AS queued,
              -CASE WHEN m.status = 'sending' THEN 1 ELSE 0 END AS sending,
              -CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END AS sent,
              -CASE WHEN m.open_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
              -CASE WHEN m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1 THEN 1 ELSE 0
                  END AS human_opened,
              -coalesce(f.clicked, 0) AS clicked,
              -CASE WHEN f.replied_at IS NOT NULL THEN 1 ELSE 0 END AS replied,
              -CASE WHEN m.status = 'bounced' OR f.bounce_event_at IS NOT NULL THEN 1 ELSE 0 END
                  AS bounced,
              -CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END AS failed,
              -CASE WHEN m.status = 'canceled' THEN 1 ELSE 0 END AS canceled,
              -CASE WHEN m.status = 'uncertain' THEN 1 ELSE 0 END AS uncertain,
              -coalesce(f.unsubscribed, 0) AS unsubscribed
          FROM old_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          UNION ALL
          SELECT m.campaign_id, m.mail_number, m.domain_used, 1 AS messages,
              CASE WHEN m.status <> 'canceled' THEN 1 ELSE 0 END AS planned,
              CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END AS queued,
              CASE WHEN m.status = 'sending' THEN 1 ELSE 0 END AS sending,
              CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END AS sent,
              CASE WHEN m.open_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
              CASE WHEN m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1 THEN 1 ELSE 0
                  END AS human_opened,
              coalesce(f.clicked, 0) AS clicked,
              CASE WHEN f.replied_at IS NOT NULL THEN 1 ELSE 0 END AS replied,
              CASE WHEN m.status = 'bounced' OR f.bounce_event_at IS NOT NULL THEN 1 ELSE 0 END
                  AS bounced,
              CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END AS failed,
              CASE WHEN m.status = 'canceled' THEN 1 ELSE 0 END AS canceled,
              CASE WHEN m.status = 'uncertain' THEN 1 ELSE 0 END AS uncertain,
              coalesce(f.unsubscribed, 0) AS unsubscribed
          FROM new_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id) d
    GROUP BY campaign_id, mail_number, domain_used
    HAVING sum(messages) <> 0 OR sum(planned) <> 0 OR sum(queued) <> 0 OR sum(sending) <> 0
        OR sum(sent) <> 0 OR sum(opened) <> 0 OR sum(human_opened) <> 0 OR sum(clicked) <> 0
        OR sum(replied) <> 0 OR sum(bounced) <> 0 OR sum(failed) <> 0 OR sum(canceled) <> 0
        OR sum(uncertain) <> 0 OR sum(unsubscribed) <> 0
    ON CONFLICT (campaign_id, mail_number, domain_used)
    DO UPDATE SET messages = campaign_kpis.messages + excluded.messages,
        planned = campaign_kpis.planned + excluded.planned,
        queued = campaign_kpis.queued + excluded.queued,
        sending = campaign_kpis.sending + excluded.sending,
        sent = campaign_kpis.sent + excluded.sent,
        opened = campaign_kpis.opened + excluded.opened,
        human_opened = campaign_kpis.human_opened + excluded.human_opened,
        clicked = campaign_kpis.clicked + excluded.clicked,
        replied = campaign_kpis.replied + excluded.replied,
        bounced = campaign_kpis.bounced + excluded.bounced,
        failed = campaign_kpis.failed + excluded.failed,
        canceled = campaign_kpis.canceled + excluded.canceled,
        uncertain = campaign_kpis.uncertain + excluded.uncertain,
        unsubscribed = campaign_kpis.unsubscribed + excluded.unsubscribed;
INSERT INTO campaign_kpi_days (campaign_id, domain_used, day, sent, opened, replied, bounced)
    SELECT campaign_id, domain_used, day, sum(sent), sum(opened), sum(replied), sum(bounced)
    FROM (SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              -1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM old_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, -1 AS opened, 0 AS replied, 0 AS bounced
          FROM old_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, -1 AS replied, 0 AS bounced
          FROM old_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, -1 AS bounced
          FROM old_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM new_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
          FROM new_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
          FROM new_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
          FROM new_rows m
          LEFT JOIN (SELECT e.message_id,
                         max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                             AS human_open,
                         max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                         min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                             AS replied_at,
                         min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                             AS bounce_event_at,
                         max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                             AS unsubscribed
                     FROM message_events e
                     WHERE e.event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND e.message_id IN (SELECT id FROM new_rows)
                     GROUP BY e.message_id) f ON f.message_id = m.id
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL) d
    GROUP BY campaign_id, domain_used, day
    HAVING sum(sent) <> 0 OR sum(opened) <> 0 OR sum(replied) <> 0 OR sum(bounced) <> 0
    ON CONFLICT (campaign_id, domain_used, day)
    DO UPDATE SET sent = campaign_kpi_days.sent + excluded.sent,
        opened = campaign_kpi_days.opened + excluded.opened,
        replied = campaign_kpi_days.replied + excluded.replied,
        bounced = campaign_kpi_days.bounced + excluded.bounced;
DELETE
    FROM campaign_kpis
    WHERE messages = 0
        AND (campaign_id, mail_number, domain_used) IN
            (SELECT m.campaign_id, m.mail_number, m.domain_used
             FROM old_rows m
             LEFT JOIN (SELECT e.message_id,
                            max(CASE WHEN e.event_type = 'opened'
                                    AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                                AS human_open,
                            max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                AS clicked,
                            min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                AS replied_at,
                            min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                AS bounce_event_at,
                            max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                AS unsubscribed
                        FROM message_events e
                        WHERE e.event_type IN
                                ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                            AND e.message_id IN (SELECT id FROM new_rows)
                        GROUP BY e.message_id) f ON f.message_id = m.id);
DELETE
    FROM campaign_kpi_days
    WHERE sent = 0 AND opened = 0 AND replied = 0 AND bounced = 0
        AND (campaign_id, domain_used, day) IN
            (SELECT campaign_id, domain_used, day
             FROM (SELECT m.campaign_id, m.domain_used,
                       (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
                   FROM old_rows m
                   LEFT JOIN (SELECT e.message_id,
                                  max(CASE WHEN e.event_type = 'opened'
                                          AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                                      AS human_open,
                                  max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                      AS clicked,
                                  min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                      AS replied_at,
                                  min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                      AS bounce_event_at,
                                  max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                      AS unsubscribed
                              FROM message_events e
                              WHERE e.event_type IN
                                      ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                                  AND e.message_id IN (SELECT id FROM new_rows)
                              GROUP BY e.message_id) f ON f.message_id = m.id
                   WHERE m.sent_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
                   FROM old_rows m
                   LEFT JOIN (SELECT e.message_id,
                                  max(CASE WHEN e.event_type = 'opened'
                                          AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                                      AS human_open,
                                  max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                      AS clicked,
                                  min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                      AS replied_at,
                                  min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                      AS bounce_event_at,
                                  max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                      AS unsubscribed
                              FROM message_events e
                              WHERE e.event_type IN
                                      ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                                  AND e.message_id IN (SELECT id FROM new_rows)
                              GROUP BY e.message_id) f ON f.message_id = m.id
                   WHERE m.open_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
                   FROM old_rows m
                   LEFT JOIN (SELECT e.message_id,
                                  max(CASE WHEN e.event_type = 'opened'
                                          AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                                      AS human_open,
                                  max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                      AS clicked,
                                  min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                      AS replied_at,
                                  min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                      AS bounce_event_at,
                                  max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                      AS unsubscribed
                              FROM message_events e
                              WHERE e.event_type IN
                                      ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                                  AND e.message_id IN (SELECT id FROM new_rows)
                              GROUP BY e.message_id) f ON f.message_id = m.id
                   WHERE f.replied_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                               WHEN m.status = 'bounced'
                               THEN coalesce(m.sent_at, m.scheduled_at) END)) AT TIME ZONE
                                 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
                   FROM old_rows m
                   LEFT JOIN (SELECT e.message_id,
                                  max(CASE WHEN e.event_type = 'opened'
                                          AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                                      AS human_open,
                                  max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                      AS clicked,
                                  min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                      AS replied_at,
                                  min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                      AS bounce_event_at,
                                  max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                      AS unsubscribed
                              FROM message_events e
                              WHERE e.event_type IN
                                      ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                                  AND e.message_id IN (SELECT id FROM new_rows)
                              GROUP BY e.message_id) f ON f.message_id = m.id
                   WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                              WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at)
                              END) IS NOT NULL) k);
RETURN NULL;
END
$$;

-- The open pixel writes its hits in batches, and most of them are machine or repeated opens
-- that change no summary: the event trigger runs once per statement, and only for the messages
-- whose flags really change.
DROP TRIGGER kpis_event_inserted ON message_events;

DROP FUNCTION kpis_event_inserted();

-- Every query here is driven by the statement's rows and reaches message_events by message id,
-- so its plan holds however stale the table's statistics are.
CREATE FUNCTION kpis_event_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids varchar[];
b_human_open int[]; a_human_open int[];
b_clicked int[]; a_clicked int[];
b_replied_at timestamptz[]; a_replied_at timestamptz[];
b_bounce_event_at timestamptz[]; a_bounce_event_at timestamptz[];
b_unsubscribed int[]; a_unsubscribed int[];
BEGIN
IF NOT EXISTS (SELECT 1
               FROM new_rows n
               WHERE n.event_type IN ('clicked', 'replied', 'bounced', 'unsubscribed')
                   OR (n.event_type = 'opened' AND (n.meta ->> 'machine') = 'false'))
        THEN RETURN NULL; END IF;
-- Events of one message take turns, so two first clicks cannot both count; a statement waiting
-- here sees the other's events once it has the lock.
PERFORM 1
    FROM messages
    WHERE id IN (SELECT n.message_id
                 FROM new_rows n
                 WHERE n.event_type IN ('clicked', 'replied', 'bounced', 'unsubscribed')
                     OR (n.event_type = 'opened' AND (n.meta ->> 'machine') = 'false'))
    ORDER BY id FOR NO KEY UPDATE;
-- The messages whose flags this statement changes, with their flags before and after.
SELECT array_agg(t.message_id), array_agg(x.b_human_open), array_agg(x.a_human_open),
        array_agg(x.b_clicked), array_agg(x.a_clicked), array_agg(x.b_replied_at),
        array_agg(x.a_replied_at), array_agg(x.b_bounce_event_at),
        array_agg(x.a_bounce_event_at), array_agg(x.b_unsubscribed), array_agg(x.a_unsubscribed)
    INTO ids, b_human_open, a_human_open, b_clicked, a_clicked, b_replied_at, a_replied_at,
        b_bounce_event_at, a_bounce_event_at, b_unsubscribed, a_unsubscribed
    FROM (SELECT n.message_id, array_agg(n.id) AS new_ids
          FROM new_rows n
          WHERE n.event_type IN ('clicked', 'replied', 'bounced', 'unsubscribed')
              OR (n.event_type = 'opened' AND (n.meta ->> 'machine') = 'false')
          GROUP BY n.message_id) t
    CROSS JOIN LATERAL (SELECT coalesce(max(CASE WHEN e.event_type = 'opened'
                                                AND (e.meta ->> 'machine') = 'false' THEN 1 END)
                                                FILTER (WHERE e.id <> ALL(t.new_ids)),
                                        0) AS b_human_open,
                            coalesce(max(CASE WHEN e.event_type = 'opened'
                                             AND (e.meta ->> 'machine') = 'false' THEN 1 END),
                                     0) AS a_human_open,
                            coalesce(max(CASE WHEN e.event_type = 'clicked' THEN 1 END) FILTER
                                             (WHERE e.id <> ALL(t.new_ids)),
                                     0) AS b_clicked,
                            coalesce(max(CASE WHEN e.event_type = 'clicked' THEN 1 END), 0)
                                AS a_clicked,
                            min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) FILTER
                                    (WHERE e.id <> ALL(t.new_ids)) AS b_replied_at,
                            min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                AS a_replied_at,
                            min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END) FILTER
                                    (WHERE e.id <> ALL(t.new_ids)) AS b_bounce_event_at,
                            min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                AS a_bounce_event_at,
                            coalesce(max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 END)
                                             FILTER (WHERE e.id <> ALL(t.new_ids)),
                                     0) AS b_unsubscribed,
                            coalesce(max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 END), 0)
                                AS a_unsubscribed
                        FROM message_events e
                        WHERE e.message_id = t.message_id
                            AND e.event_type IN
                                ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) x
    WHERE ROW(x.b_human_open, x.b_clicked, x.b_replied_at, x.b_bounce_event_at, x.b_unsubscribed)
            IS DISTINCT FROM ROW(x.a_human_open, x.a_clicked, x.a_replied_at,
                                 x.a_bounce_event_at, x.a_unsubscribed);
IF ids IS NULL THEN RETURN NULL; END IF;
INSERT INTO campaign_kpis (campaign_id, mail_number, domain_used, messages, planned, queued,
                           sending, sent, opened, human_opened, clicked, replied, bounced,
                           failed, canceled, uncertain, unsubscribed)
    SELECT campaign_id, mail_number, domain_used, sum(messages), sum(planned), sum(queued),
        sum(sending), sum(sent), sum(opened), sum(human_opened), sum(clicked), sum(replied),
        sum(bounced), sum(failed), sum(canceled), sum(uncertain), sum(unsubscribed)
    FROM (SELECT m.campaign_id, m.mail_number, m.domain_used, -1 AS messages,
              -CASE WHEN m.status <> 'canceled' THEN 1 ELSE 0 END AS planned,
              -CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END AS queued,
              -CASE WHEN m.status = 'sending' THEN 1 ELSE 0 END AS sending,
              -CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END AS sent,
              -CASE WHEN m.open_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
              -CASE WHEN m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1 THEN 1 ELSE 0
                  END AS human_opened,
              -coalesce(f.clicked, 0) AS clicked,
              -CASE WHEN f.replied_at IS NOT NULL THEN 1 ELSE 0 END AS replied,
              -CASE WHEN m.status = 'bounced' OR f.bounce_event_at IS NOT NULL THEN 1 ELSE 0 END
                  AS bounced,
              -CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END AS failed,
              -CASE WHEN m.status = 'canceled' THEN 1 ELSE 0 END AS canceled,
              -CASE WHEN m.status = 'uncertain' THEN 1 ELSE 0 END AS uncertain,
              -coalesce(f.unsubscribed, 0) AS unsubscribed
          FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                      b_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          UNION ALL
          SELECT m.campaign_id, m.mail_number, m.domain_used, 1 AS messages,
              CASE WHEN m.status <> 'canceled' THEN 1 ELSE 0 END AS planned,
              CASE WHEN m.status = 'queued' THEN 1 ELSE 0 END AS queued,
              CASE WHEN m.status = 'sending' THEN 1 ELSE 0 END AS sending,
              CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END AS sent,
              CASE WHEN m.open_at IS NOT NULL THEN 1 ELSE 0 END AS opened,
              CASE WHEN m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1 THEN 1 ELSE 0
                  END AS human_opened,
              coalesce(f.clicked, 0) AS clicked,
              CASE WHEN f.replied_at IS NOT NULL THEN 1 ELSE 0 END AS replied,
              CASE WHEN m.status = 'bounced' OR f.bounce_event_at IS NOT NULL THEN 1 ELSE 0 END
                  AS bounced,
              CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END AS failed,
              CASE WHEN m.status = 'canceled' THEN 1 ELSE 0 END AS canceled,
              CASE WHEN m.status = 'uncertain' THEN 1 ELSE 0 END AS uncertain,
              coalesce(f.unsubscribed, 0) AS unsubscribed
          FROM unnest(ids, a_human_open, a_clicked, a_replied_at, a_bounce_event_at,
                      a_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id) d
    GROUP BY campaign_id, mail_number, domain_used
    HAVING sum(messages) <> 0 OR sum(planned) <> 0 OR sum(queued) <> 0 OR sum(sending) <> 0
        OR sum(sent) <> 0 OR sum(opened) <> 0 OR sum(human_opened) <> 0 OR sum(clicked) <> 0
        OR sum(replied) <> 0 OR sum(bounced) <> 0 OR sum(failed) <> 0 OR sum(canceled) <> 0
        OR sum(uncertain) <> 0 OR sum(unsubscribed) <> 0
    ON CONFLICT (campaign_id, mail_number, domain_used)
    DO UPDATE SET messages = campaign_kpis.messages + excluded.messages,
        planned = campaign_kpis.planned + excluded.planned,
        queued = campaign_kpis.queued + excluded.queued,
        sending = campaign_kpis.sending + excluded.sending,
        sent = campaign_kpis.sent + excluded.sent,
        opened = campaign_kpis.opened + excluded.opened,
        human_opened = campaign_kpis.human_opened + excluded.human_opened,
        clicked = campaign_kpis.clicked + excluded.clicked,
        replied = campaign_kpis.replied + excluded.replied,
        bounced = campaign_kpis.bounced + excluded.bounced,
        failed = campaign_kpis.failed + excluded.failed,
        canceled = campaign_kpis.canceled + excluded.canceled,
        uncertain = campaign_kpis.uncertain + excluded.uncertain,
        unsubscribed = campaign_kpis.unsubscribed + excluded.unsubscribed;
INSERT INTO campaign_kpi_days (campaign_id, domain_used, day, sent, opened, replied, bounced)
    SELECT campaign_id, domain_used, day, sum(sent), sum(opened), sum(replied), sum(bounced)
    FROM (SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              -1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                      b_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, -1 AS opened, 0 AS replied, 0 AS bounced
          FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                      b_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, -1 AS replied, 0 AS bounced
          FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                      b_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, -1 AS bounced
          FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                      b_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM unnest(ids, a_human_open, a_clicked, a_replied_at, a_bounce_event_at,
                      a_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
          FROM unnest(ids, a_human_open, a_clicked, a_replied_at, a_bounce_event_at,
                      a_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
          FROM unnest(ids, a_human_open, a_clicked, a_replied_at, a_bounce_event_at,
                      a_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
          FROM unnest(ids, a_human_open, a_clicked, a_replied_at, a_bounce_event_at,
                      a_unsubscribed)
              AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
          JOIN messages m ON m.id = f.message_id
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL) d
    GROUP BY campaign_id, domain_used, day
    HAVING sum(sent) <> 0 OR sum(opened) <> 0 OR sum(replied) <> 0 OR sum(bounced) <> 0
    ON CONFLICT (campaign_id, domain_used, day)
    DO UPDATE SET sent = campaign_kpi_days.sent + excluded.sent,
        opened = campaign_kpi_days.opened + excluded.opened,
        replied = campaign_kpi_days.replied + excluded.replied,
        bounced = campaign_kpi_days.bounced + excluded.bounced;
DELETE
    FROM campaign_kpis
    WHERE messages = 0
        AND (campaign_id, mail_number, domain_used) IN
            (SELECT m.campaign_id, m.mail_number, m.domain_used
             FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                         b_unsubscribed)
                 AS f(message_id, human_open, clicked, replied_at, bounce_event_at, unsubscribed)
             JOIN messages m ON m.id = f.message_id);
DELETE
    FROM campaign_kpi_days
    WHERE sent = 0 AND opened = 0 AND replied = 0 AND bounced = 0
        AND (campaign_id, domain_used, day) IN
            (SELECT campaign_id, domain_used, day
             FROM (SELECT m.campaign_id, m.domain_used,
                       (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
                   FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                               b_unsubscribed)
                       AS f(message_id, human_open, clicked, replied_at, bounce_event_at,
                            unsubscribed)
                   JOIN messages m ON m.id = f.message_id
                   WHERE m.sent_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
                   FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                               b_unsubscribed)
                       AS f(message_id, human_open, clicked, replied_at, bounce_event_at,
                            unsubscribed)
                   JOIN messages m ON m.id = f.message_id
                   WHERE m.open_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
                   FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                               b_unsubscribed)
                       AS f(message_id, human_open, clicked, replied_at, bounce_event_at,
                            unsubscribed)
                   JOIN messages m ON m.id = f.message_id
                   WHERE f.replied_at IS NOT NULL
                   UNION ALL
                   SELECT m.campaign_id, m.domain_used,
                       ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                               WHEN m.status = 'bounced'
                               THEN coalesce(m.sent_at, m.scheduled_at) END)) AT TIME ZONE
                                 'Europe/Amsterdam')::date) AS day,
                       0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
                   FROM unnest(ids, b_human_open, b_clicked, b_replied_at, b_bounce_event_at,
                               b_unsubscribed)
                       AS f(message_id, human_open, clicked, replied_at, bounce_event_at,
                            unsubscribed)
                   JOIN messages m ON m.id = f.message_id
                   WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                              WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at)
                              END) IS NOT NULL) k);
RETURN NULL;
END
$$;

CREATE TRIGGER kpis_event_inserted AFTER INSERT
    ON message_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION kpis_event_inserted();
