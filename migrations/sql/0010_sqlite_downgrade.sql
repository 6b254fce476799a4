-- Revision 0010 on SQLite, undone: the triggers that count a snapshot's lead ids.

DROP TRIGGER IF EXISTS campaign_audience_lead_count_inserted;

DROP TRIGGER IF EXISTS campaign_audience_lead_count_updated;
