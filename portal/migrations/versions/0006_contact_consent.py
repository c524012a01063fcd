"""contact consent: a contact's e-mail address is shown publicly only with consent or as an organisation mailbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        # The person agreed to publication of name and e-mail address (contributions: public + consent).
        batch.add_column(sa.Column("consent", sa.Boolean(), server_default=sa.false(), nullable=False))
        # The address is a functional mailbox of the organisation (info@...), not a person's own address.
        batch.add_column(sa.Column("organisation_email", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Contacts of web contributions are public only with consent (see workflow.snapshot); contacts of content
    # files were taken from publications without consent and stay hidden until their file says otherwise.
    op.execute(sa.text(
        "UPDATE contacts SET consent = public WHERE example_id IN "
        "(SELECT id FROM practice_examples WHERE origin_path = '')"))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("organisation_email")
        batch.drop_column("consent")
