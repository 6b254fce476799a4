-- Revision 0004 on PostgreSQL, downgrade: back to the functions and the row trigger on new
-- message_events of 0003.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments. The
-- revision joins each indented line onto the line above it with one space, so the wrapping is
-- for reading only: function and trigger bodies reach the database with one line per statement,
-- exactly as this revision has always written them.

-- The statement-level message functions as 0003 wrote them, without the guard.
CREATE OR REPLACE FUNCTION kpis_message_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

-- The row trigger of 0003 on new message_events, and its function.
DROP TRIGGER kpis_event_inserted ON message_events;

DROP FUNCTION kpis_event_inserted();

CREATE FUNCTION kpis_event_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
-- Events of one message take turns, so two first clicks cannot both count.
PERFORM 1 FROM messages WHERE id = NEW.message_id FOR NO KEY UPDATE;
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
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND id <> NEW.id) e) f
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
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) e) f)
            d
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
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND id <> NEW.id) e) f
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, -1 AS opened, 0 AS replied, 0 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND id <> NEW.id) e) f
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, -1 AS replied, 0 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND id <> NEW.id) e) f
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, -1 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                         AND id <> NEW.id) e) f
          WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                     WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END) IS
                  NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) e) f
          WHERE m.sent_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) e) f
          WHERE m.open_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) e) f
          WHERE f.replied_at IS NOT NULL
          UNION ALL
          SELECT m.campaign_id, m.domain_used,
              ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                      WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END))
                        AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
              0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
          FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                    scheduled_at
                FROM messages
                WHERE id = NEW.message_id) m,
              (SELECT max(CASE WHEN e.event_type = 'opened' AND (e.meta ->> 'machine') = 'false'
                              THEN 1 ELSE 0 END) AS human_open,
                   max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                   min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,
                   min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                       AS bounce_event_at,
                   max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                       AS unsubscribed
               FROM (SELECT event_type, meta, created_at
                     FROM message_events
                     WHERE message_id = NEW.message_id
                         AND event_type IN
                             ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')) e) f
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
             FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                       scheduled_at
                   FROM messages
                   WHERE id = NEW.message_id) m,
                 (SELECT max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                          AS human_open,
                      max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                      min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                          AS replied_at,
                      min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                          AS bounce_event_at,
                      max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                          AS unsubscribed
                  FROM (SELECT event_type, meta, created_at
                        FROM message_events
                        WHERE message_id = NEW.message_id
                            AND event_type IN
                                ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                            AND id <> NEW.id) e) f);
DELETE
    FROM campaign_kpi_days
    WHERE sent = 0 AND opened = 0 AND replied = 0 AND bounced = 0
        AND (campaign_id, domain_used, day) IN
            (SELECT m.campaign_id, m.domain_used, d.day
             FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at, open_at,
                       scheduled_at
                   FROM messages
                   WHERE id = NEW.message_id) m,
                 (SELECT max(CASE WHEN e.event_type = 'opened'
                                 AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0 END)
                          AS human_open,
                      max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,
                      min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                          AS replied_at,
                      min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                          AS bounce_event_at,
                      max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                          AS unsubscribed
                  FROM (SELECT event_type, meta, created_at
                        FROM message_events
                        WHERE message_id = NEW.message_id
                            AND event_type IN
                                ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')
                            AND id <> NEW.id) e) f,
                 (SELECT day
                  FROM (SELECT m.campaign_id, m.domain_used,
                            (((m.sent_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                            1 AS sent, 0 AS opened, 0 AS replied, 0 AS bounced
                        FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at,
                                  open_at, scheduled_at
                              FROM messages
                              WHERE id = NEW.message_id) m,
                            (SELECT max(CASE WHEN e.event_type = 'opened'
                                            AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0
                                            END) AS human_open,
                                 max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                     AS clicked,
                                 min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                     AS replied_at,
                                 min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                     AS bounce_event_at,
                                 max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                     AS unsubscribed
                             FROM (SELECT event_type, meta, created_at
                                   FROM message_events
                                   WHERE message_id = NEW.message_id
                                       AND event_type IN
                                           ('opened', 'clicked', 'replied', 'bounced',
                                            'unsubscribed') AND id <> NEW.id) e) f
                        WHERE m.sent_at IS NOT NULL) z
                  UNION ALL
                  SELECT day
                  FROM (SELECT m.campaign_id, m.domain_used,
                            (((m.open_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                            0 AS sent, 1 AS opened, 0 AS replied, 0 AS bounced
                        FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at,
                                  open_at, scheduled_at
                              FROM messages
                              WHERE id = NEW.message_id) m,
                            (SELECT max(CASE WHEN e.event_type = 'opened'
                                            AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0
                                            END) AS human_open,
                                 max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                     AS clicked,
                                 min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                     AS replied_at,
                                 min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                     AS bounce_event_at,
                                 max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                     AS unsubscribed
                             FROM (SELECT event_type, meta, created_at
                                   FROM message_events
                                   WHERE message_id = NEW.message_id
                                       AND event_type IN
                                           ('opened', 'clicked', 'replied', 'bounced',
                                            'unsubscribed') AND id <> NEW.id) e) f
                        WHERE m.open_at IS NOT NULL) z
                  UNION ALL
                  SELECT day
                  FROM (SELECT m.campaign_id, m.domain_used,
                            (((f.replied_at) AT TIME ZONE 'Europe/Amsterdam')::date) AS day,
                            0 AS sent, 0 AS opened, 1 AS replied, 0 AS bounced
                        FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at,
                                  open_at, scheduled_at
                              FROM messages
                              WHERE id = NEW.message_id) m,
                            (SELECT max(CASE WHEN e.event_type = 'opened'
                                            AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0
                                            END) AS human_open,
                                 max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                     AS clicked,
                                 min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                     AS replied_at,
                                 min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                     AS bounce_event_at,
                                 max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                     AS unsubscribed
                             FROM (SELECT event_type, meta, created_at
                                   FROM message_events
                                   WHERE message_id = NEW.message_id
                                       AND event_type IN
                                           ('opened', 'clicked', 'replied', 'bounced',
                                            'unsubscribed') AND id <> NEW.id) e) f
                        WHERE f.replied_at IS NOT NULL) z
                  UNION ALL
                  SELECT day
                  FROM (SELECT m.campaign_id, m.domain_used,
                            ((((CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                                    WHEN m.status = 'bounced'
                                    THEN coalesce(m.sent_at, m.scheduled_at) END)) AT TIME ZONE
                                      'Europe/Amsterdam')::date) AS day,
                            0 AS sent, 0 AS opened, 0 AS replied, 1 AS bounced
                        FROM (SELECT campaign_id, mail_number, domain_used, status, sent_at,
                                  open_at, scheduled_at
                              FROM messages
                              WHERE id = NEW.message_id) m,
                            (SELECT max(CASE WHEN e.event_type = 'opened'
                                            AND (e.meta ->> 'machine') = 'false' THEN 1 ELSE 0
                                            END) AS human_open,
                                 max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END)
                                     AS clicked,
                                 min(CASE WHEN e.event_type = 'replied' THEN e.created_at END)
                                     AS replied_at,
                                 min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END)
                                     AS bounce_event_at,
                                 max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END)
                                     AS unsubscribed
                             FROM (SELECT event_type, meta, created_at
                                   FROM message_events
                                   WHERE message_id = NEW.message_id
                                       AND event_type IN
                                           ('opened', 'clicked', 'replied', 'bounced',
                                            'unsubscribed') AND id <> NEW.id) e) f
                        WHERE (CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at
                                   WHEN m.status = 'bounced'
                                   THEN coalesce(m.sent_at, m.scheduled_at) END) IS NOT NULL) z)
                         d);
RETURN NULL;
END
$$;

CREATE TRIGGER kpis_event_inserted AFTER INSERT
    ON message_events
    FOR EACH ROW
    WHEN (NEW.event_type IN ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed'))
    EXECUTE FUNCTION kpis_event_inserted();
