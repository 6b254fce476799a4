-- Revision 0013 on PostgreSQL: leads.filled_vars holds the names of the lead's variables
-- that have a value (not null, not empty after trimming spaces, tabs, line breaks and
-- no-break spaces), so the audience's "only complete" test is one containment per lead
-- instead of reading each variable out of vars. Set by the database whenever vars is
-- written (whoever writes it), then filled in for the leads that exist already. A list
-- longer than 1,000 characters is not stored (NULL: read vars), so the value always fits
-- in the audience index (idx_leads_audience) beside the lead's other columns.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments;
-- an indented line continues the line above it.

CREATE FUNCTION leads_filled_vars(vars jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN octet_length(filled::text) <= 1000 THEN filled END
    FROM (SELECT CASE WHEN jsonb_typeof(vars) = 'object' THEN coalesce((
        SELECT jsonb_agg(key ORDER BY key) FROM jsonb_each_text(vars)
        WHERE btrim(value, E' \t\r\n\u00a0') <> ''), '[]'::jsonb) ELSE '[]'::jsonb END
        AS filled) AS listed $$;

CREATE FUNCTION leads_fill_vars() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.filled_vars := leads_filled_vars(NEW.vars); RETURN NEW; END $$;

CREATE TRIGGER leads_filled_vars BEFORE INSERT OR UPDATE OF vars, filled_vars
    ON leads FOR EACH ROW EXECUTE FUNCTION leads_fill_vars();

UPDATE leads SET filled_vars = leads_filled_vars(vars);
