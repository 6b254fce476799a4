-- Revision 0011 on SQLite, undone.

DROP TRIGGER bookings_message_deleted;

DROP TRIGGER bookings_message_updated;

DROP TRIGGER bookings_message_inserted;

DROP TABLE domain_booking_days;
