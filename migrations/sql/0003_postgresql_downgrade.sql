-- Revision 0003 on PostgreSQL, downgrade: the KPI triggers and their functions go.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments. The
-- revision joins each indented line onto the line above it with one space, so the wrapping is
-- for reading only: function and trigger bodies reach the database with one line per statement,
-- exactly as this revision has always written them.

DROP TRIGGER IF EXISTS kpis_message_inserted ON messages;

DROP FUNCTION IF EXISTS kpis_message_inserted();

DROP TRIGGER IF EXISTS kpis_message_updated ON messages;

DROP FUNCTION IF EXISTS kpis_message_updated();

DROP TRIGGER IF EXISTS kpis_message_deleting ON messages;

DROP FUNCTION IF EXISTS kpis_message_deleting();

DROP TRIGGER IF EXISTS kpis_event_inserted ON message_events;

DROP FUNCTION IF EXISTS kpis_event_inserted();

DROP TRIGGER IF EXISTS kpis_event_updated ON message_events;

DROP FUNCTION IF EXISTS kpis_event_updated();

DROP TRIGGER IF EXISTS kpis_event_deleted ON message_events;

DROP FUNCTION IF EXISTS kpis_event_deleted();
