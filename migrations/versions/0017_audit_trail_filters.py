"""the audit trail's filters by person and by action

The audit trail page and `GET /api/v1/audit` read events newest first, filtered by person
or by action. With only `created_at` indexed, a person or an action that is rare makes the
page walk the whole trail backwards (610-690 ms and 380-420 ms on a million events, where
these indexes answer in about 10 ms; bench/audit_trail.py), and deleting a person, whose
events keep their rows with `user_id` set to NULL, scanned every event (310-510 ms; 17-25
ms with the index).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(
            'idx_audit_events_user_created', ['user_id', 'created_at', 'id'], unique=False
        )
        batch_op.create_index(
            'idx_audit_events_action_created', ['action', 'created_at', 'id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('idx_audit_events_action_created')
        batch_op.drop_index('idx_audit_events_user_created')
