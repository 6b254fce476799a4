-- Revision 0010 on SQLite: campaign_audience.lead_count is the number of lead ids in the
-- snapshot, set after every write of lead_ids (SQLite has no BEFORE trigger that can change
-- the new row), then filled in for the snapshots that exist already.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments;
-- an indented line continues the line above it.

CREATE TRIGGER campaign_audience_lead_count_inserted AFTER INSERT ON campaign_audience
    FOR EACH ROW
BEGIN
UPDATE campaign_audience SET lead_count = coalesce(json_array_length(NEW.lead_ids), 0)
    WHERE id = NEW.id;
END;

CREATE TRIGGER campaign_audience_lead_count_updated AFTER UPDATE OF lead_ids, lead_count
    ON campaign_audience FOR EACH ROW
    WHEN NEW.lead_count IS NOT coalesce(json_array_length(NEW.lead_ids), 0)
BEGIN
UPDATE campaign_audience SET lead_count = coalesce(json_array_length(NEW.lead_ids), 0)
    WHERE id = NEW.id;
END;

UPDATE campaign_audience SET lead_count = coalesce(json_array_length(lead_ids), 0);
