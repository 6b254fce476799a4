-- Revision 0011 on PostgreSQL, undone.

DROP TRIGGER bookings_message_deleted ON messages;

DROP TRIGGER bookings_message_updated ON messages;

DROP TRIGGER bookings_message_inserted ON messages;

DROP FUNCTION bookings_message_deleted();

DROP FUNCTION bookings_message_updated();

DROP FUNCTION bookings_message_inserted();

DROP TABLE domain_booking_days;
