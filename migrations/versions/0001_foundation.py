"""Foundation: accounts, sessions, creator profiles, merchant organisations, interests.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22 21:27:25.123907
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["interest.id"], name=op.f("fk_interest_parent_id_interest")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest")),
        sa.UniqueConstraint("slug", name=op.f("uq_interest_slug")),
    )
    with op.batch_alter_table("interest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interest_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "merchant_organisation",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("website", sa.String(length=255), nullable=True),
        sa.Column("support_email", sa.String(length=320), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_organisation")),
        sa.UniqueConstraint("slug", name=op.f("uq_merchant_organisation_slug")),
    )
    op.create_table(
        "user",
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "role",
            sa.Enum("viewer", "creator", "merchant", "admin", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("is_guest", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_role"), ["role"], unique=False)

    op.create_table(
        "auth_session",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_auth_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "creator_profile",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("handle", sa.String(length=30), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("avatar_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_creator_profile_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_creator_profile")),
        sa.UniqueConstraint("handle", name=op.f("uq_creator_profile_handle")),
    )
    op.create_table(
        "merchant_member",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("owner", "member", name="memberrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_merchant_member_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_merchant_member_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_merchant_member")),
    )
    with op.batch_alter_table("merchant_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merchant_member_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "user_interest",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interest.id"],
            name=op.f("fk_user_interest_interest_id_interest"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_interest_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "interest_id", name=op.f("pk_user_interest")),
    )
    op.create_table(
        "refresh_token",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_refresh_token_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_token_token_hash")),
    )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_token_session_id"), ["session_id"], unique=False)

    _seed_interests()


def downgrade() -> None:
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_token_session_id"))

    op.drop_table("refresh_token")
    op.drop_table("user_interest")
    with op.batch_alter_table("merchant_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchant_member_organisation_id"))

    op.drop_table("merchant_member")
    op.drop_table("creator_profile")
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_user_id"))

    op.drop_table("auth_session")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_role"))

    op.drop_table("user")
    op.drop_table("merchant_organisation")
    with op.batch_alter_table("interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interest_parent_id"))

    op.drop_table("interest")


# Two-level interest taxonomy: (slug, name, [(child slug, child name), ...]). Admins edit it later
# through the API; this is the starting point every install shares.
TAXONOMY = [
    (
        "fashion",
        "Fashion",
        [
            ("sneakers", "Sneakers"),
            ("streetwear", "Streetwear"),
            ("accessories", "Accessories"),
            ("jewelry", "Jewelry"),
            ("bags", "Bags"),
        ],
    ),
    (
        "beauty",
        "Beauty",
        [
            ("skincare", "Skincare"),
            ("makeup", "Makeup"),
            ("haircare", "Haircare"),
            ("fragrance", "Fragrance"),
        ],
    ),
    (
        "home",
        "Home",
        [("decor", "Decor"), ("garden", "Garden"), ("cleaning", "Cleaning"), ("furniture", "Furniture")],
    ),
    ("kitchen", "Kitchen", [("cookware", "Cookware"), ("gadgets", "Kitchen gadgets"), ("coffee", "Coffee")]),
    ("food", "Food", [("recipes", "Recipes"), ("snacks", "Snacks"), ("baking", "Baking")]),
    (
        "tech",
        "Tech",
        [("phones", "Phones"), ("audio", "Audio"), ("smart-home", "Smart home"), ("cameras", "Cameras")],
    ),
    (
        "gaming",
        "Gaming",
        [("consoles", "Consoles"), ("pc-gaming", "PC gaming"), ("board-games", "Board games")],
    ),
    (
        "fitness",
        "Fitness",
        [("workouts", "Workouts"), ("yoga", "Yoga"), ("running", "Running"), ("supplements", "Supplements")],
    ),
    ("outdoors", "Outdoors", [("camping", "Camping"), ("hiking", "Hiking"), ("cycling", "Cycling")]),
    ("pets", "Pets", [("dogs", "Dogs"), ("cats", "Cats")]),
    ("kids", "Kids", [("toys", "Toys"), ("baby", "Baby")]),
    ("books", "Books", [("fiction", "Fiction"), ("non-fiction", "Non-fiction")]),
    ("entertainment", "Entertainment", [("comedy", "Comedy"), ("music", "Music"), ("film", "Film & TV")]),
    ("travel", "Travel", []),
    ("diy", "DIY & Crafts", []),
]


def _seed_interests() -> None:
    interest = sa.table(
        "interest",
        sa.column("id", sa.Integer),
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("parent_id", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("is_active", sa.Boolean),
    )
    rows = []
    next_id = 1
    for position, (slug, name, children) in enumerate(TAXONOMY):
        parent_id = next_id
        rows.append(
            {
                "id": parent_id,
                "slug": slug,
                "name": name,
                "parent_id": None,
                "position": position * 100,
                "is_active": True,
            }
        )
        next_id += 1
        for child_position, (child_slug, child_name) in enumerate(children, start=1):
            rows.append(
                {
                    "id": next_id,
                    "slug": f"{slug}.{child_slug}",
                    "name": child_name,
                    "parent_id": parent_id,
                    "position": position * 100 + child_position,
                    "is_active": True,
                }
            )
            next_id += 1
    op.bulk_insert(interest, rows)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('interest', 'id'), (SELECT max(id) FROM interest))")
