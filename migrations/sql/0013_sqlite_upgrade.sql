-- Revision 0013 on SQLite: leads.filled_vars holds the names of the lead's variables that
-- have a value (not null, not empty after trimming spaces, tabs, line breaks and no-break
-- spaces), set after every write of vars (SQLite has no BEFORE trigger that can change the
-- new row), then filled in for the leads that exist already. A list longer than 1,000
-- characters is not stored (NULL: read vars), as on PostgreSQL.
--
-- Statements end with a semicolon and a blank line; lines starting with -- are comments;
-- an indented line continues the line above it.

CREATE TRIGGER leads_filled_vars_inserted AFTER INSERT ON leads FOR EACH ROW
BEGIN
UPDATE leads SET filled_vars = (SELECT CASE WHEN length(filled) <= 1000 THEN filled END FROM (SELECT json_group_array(key)
    AS filled FROM (SELECT key
    FROM json_each(CASE json_type(NEW.vars) WHEN 'object' THEN NEW.vars ELSE '{}' END)
    WHERE trim(value, char(32, 9, 13, 10, 160)) <> '' ORDER BY key))) WHERE id = NEW.id;
END;

CREATE TRIGGER leads_filled_vars_updated AFTER UPDATE OF vars, filled_vars ON leads
    FOR EACH ROW WHEN NEW.filled_vars IS NOT (SELECT CASE WHEN length(filled) <= 1000 THEN filled END FROM (SELECT json_group_array(key)
    AS filled FROM (SELECT key
    FROM json_each(CASE json_type(NEW.vars) WHEN 'object' THEN NEW.vars ELSE '{}' END)
    WHERE trim(value, char(32, 9, 13, 10, 160)) <> '' ORDER BY key)))
BEGIN
UPDATE leads SET filled_vars = (SELECT CASE WHEN length(filled) <= 1000 THEN filled END FROM (SELECT json_group_array(key)
    AS filled FROM (SELECT key
    FROM json_each(CASE json_type(NEW.vars) WHEN 'object' THEN NEW.vars ELSE '{}' END)
    WHERE trim(value, char(32, 9, 13, 10, 160)) <> '' ORDER BY key))) WHERE id = NEW.id;
END;

UPDATE leads SET filled_vars = (SELECT CASE WHEN length(filled) <= 1000 THEN filled END FROM (SELECT json_group_array(key)
    AS filled FROM (SELECT key
    FROM json_each(CASE json_type(leads.vars) WHEN 'object' THEN leads.vars ELSE '{}' END)
    WHERE trim(value, char(32, 9, 13, 10, 160)) <> '' ORDER BY key)));
