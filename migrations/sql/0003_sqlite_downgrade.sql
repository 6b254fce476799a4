-- Revision 0003 on SQLite, downgrade: the KPI triggers go.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments. The
-- revision joins each indented line onto the line above it with one space, so the wrapping is
-- for reading only: function and trigger bodies reach the database with one line per statement,
-- exactly as this revision has always written them.

DROP TRIGGER IF EXISTS kpis_message_inserted;

DROP TRIGGER IF EXISTS kpis_message_updated;

DROP TRIGGER IF EXISTS kpis_message_deleting;

DROP TRIGGER IF EXISTS kpis_event_inserted;

DROP TRIGGER IF EXISTS kpis_event_updated;

DROP TRIGGER IF EXISTS kpis_event_deleted;
