-- Revision 0010 on PostgreSQL: campaign_audience.lead_count is the number of lead ids in
-- the snapshot, set by the database whenever lead_ids is written, then filled in for the
-- snapshots that exist already.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments;
-- an indented line continues the line above it.

CREATE FUNCTION campaign_audience_count_leads() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.lead_count := coalesce(jsonb_array_length(NEW.lead_ids), 0); RETURN NEW; END $$;

CREATE TRIGGER campaign_audience_lead_count BEFORE INSERT OR UPDATE OF lead_ids, lead_count
    ON campaign_audience FOR EACH ROW EXECUTE FUNCTION campaign_audience_count_leads();

UPDATE campaign_audience SET lead_count = coalesce(jsonb_array_length(lead_ids), 0);
