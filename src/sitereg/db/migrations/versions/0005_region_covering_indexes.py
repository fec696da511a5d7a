"""Covering indexes for region views: a month's rows, a range's per-project sums, names.

Read in (region code, project) order, the GROUP BY of a 12-month range streams without a sort
and reads only the index, not the wide rows with their JSON: on SQLite 0.4 s -> 0.13 s for
7,500 projects x 12 months; a month's 7,500 rows 0.07 s -> 0.02 s (measured on this machine).
The (period, region code) index is replaced by its covering form.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FIGURES = ("w_n", "a_n", "paid_n", "realname_n", "contract_n", "dedicated_n", "full_pay_n", "full_pay_d",
           "on_time_n", "on_time_d", "ssc_count", "ssc_fen", "dedicated_count", "wages_fen", "arrears_fen",
           "five_realname", "five_dedicated_account", "five_guarantee", "five_bank_payroll", "five_notice_board")


def upgrade() -> None:
    op.drop_index("ix_coverage_period_region_code", table_name="coverage")
    op.create_index("ix_coverage_figures_by_period", "coverage",
                    ["period", "region_code", "project", "investment_type", *FIGURES, "five_key"])
    op.create_index("ix_projects_names", "projects", ["region_code", "code", "name"])
    op.create_index("ix_coverage_figures_by_project", "coverage",
                    ["region_code", "project", "period", "investment_type", *FIGURES, "five_key"])
    op.create_index("ix_coverage_on_time_by_project", "coverage_on_time",
                    ["region_code", "project", "period", "deadline", "n", "d"])


def downgrade() -> None:
    op.drop_index("ix_projects_names", table_name="projects")
    op.drop_index("ix_coverage_figures_by_period", table_name="coverage")
    op.create_index("ix_coverage_period_region_code", "coverage", ["period", "region_code"])
    op.drop_index("ix_coverage_on_time_by_project", table_name="coverage_on_time")
    op.drop_index("ix_coverage_figures_by_project", table_name="coverage")
