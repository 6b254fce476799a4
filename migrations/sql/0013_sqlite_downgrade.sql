-- Revision 0013 on SQLite, undone: the triggers that list a lead's filled variables.

DROP TRIGGER IF EXISTS leads_filled_vars_inserted;

DROP TRIGGER IF EXISTS leads_filled_vars_updated;
