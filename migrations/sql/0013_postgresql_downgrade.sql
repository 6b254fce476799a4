-- Revision 0013 on PostgreSQL, undone: the trigger that lists a lead's filled variables.

DROP TRIGGER IF EXISTS leads_filled_vars ON leads;

DROP FUNCTION IF EXISTS leads_fill_vars();

DROP FUNCTION IF EXISTS leads_filled_vars(jsonb);
