-- Revision 0010 on PostgreSQL, undone: the trigger that counts a snapshot's lead ids.

DROP TRIGGER IF EXISTS campaign_audience_lead_count ON campaign_audience;

DROP FUNCTION IF EXISTS campaign_audience_count_leads();
