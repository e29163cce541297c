"""Command-line verbs: `flask --app server <command>`."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import or_, select

from server import seed
from server.admin.config import effective
from server.database import refresh_planner_statistics
from server.devices import issue_enrolment_code
from server.extensions import db
from server.i18n import in_both_languages
from server.models import ROLES, Enterprise, Gate, User, Zone, utcnow
from server.ops import metrics
from server.passwords import MESSAGES, password_problem
from server.retention import Policy, plan_purge, purge
from server.unit_of_work import committing_command


def register_cli(app: Flask) -> None:
    for command in (
        init_db_command,
        seed_demo_command,
        create_user_command,
        enroll_code_command,
        purge_command,
    ):
        app.cli.add_command(committing_command(command))


@click.command("init-db")
def init_db_command() -> None:
    """Apply every database migration (safe to run again)."""
    upgrade()
    click.echo("Database is up to date.")


@click.command("seed-demo")
@click.option("--seed", "seed_value", default=2021, show_default=True, help="Random seed.")
@click.option("--workers", default=3000, show_default=True, help="Workers across enterprises.")
@click.option("--days", default=14, show_default=True, help="Days of gate events.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data exists.")
@click.option(
    "--outside-debug",
    is_flag=True,
    help="Seed although GATELOG_DEBUG is off: random passwords (printed once) and tokens.",
)
def seed_demo_command(
    seed_value: int, workers: int, days: int, if_empty: bool, outside_debug: bool
) -> None:
    """Fill an empty database with a deterministic demo: zone, enterprises, people, events."""
    production = current_app.config["GATELOG"].production
    if production and not outside_debug:
        raise click.ClickException(
            "seed-demo creates accounts with the passwords printed in the README, so it runs "
            "only with GATELOG_DEBUG=1. To seed this server anyway, with random passwords, "
            "add --outside-debug."
        )
    if db.session.scalar(select(Zone.id).limit(1)) is not None:
        if if_empty:
            click.echo("Demo data already present; not seeding again.")
            return
        raise click.ClickException("The database already holds data; seed-demo needs it empty.")
    with click.progressbar(length=days + 1, label="Days of gate events", file=sys.stderr) as bar:
        summary = seed.seed_demo(
            seed=seed_value,
            workers=workers,
            days=days,
            now=utcnow(),
            unpredictable=production,
            end_of_unit=db.session.commit,
            progress=bar.update,
        )
    click.echo(summary.describe())


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--enterprise", help="Tax code or id of the enterprise (hr users).")
@click.option("--zone", "zones", multiple=True, help="Name or id of a zone (inspectors).")
@click.option("--full-name", default="")
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.password_option()
def create_user_command(
    username: str,
    role: str,
    enterprise: str | None,
    zones: tuple[str, ...],
    full_name: str,
    language: str,
    password: str,
) -> None:
    """Create a console user."""
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise click.ClickException(f"User {username!r} already exists.")
    problem = password_problem(password, username=username)
    if problem is not None:
        raise click.ClickException(in_both_languages(MESSAGES[problem]))
    user = User(username=username, role=role, full_name=full_name, language=language)
    user.set_password(password)
    if role == "hr":
        if not enterprise:
            raise click.ClickException("An hr user needs --enterprise.")
        user.enterprise = _find_enterprise(enterprise)
    if role == "inspector":
        if not zones:
            raise click.ClickException("An inspector needs at least one --zone.")
        user.zones = [_find_zone(zone) for zone in zones]
    db.session.add(user)
    click.echo(f"Created {role} user {username!r}.")


@click.command("enroll-code")
@click.option("--gate", "gate_ref", required=True, help="Gate id, or TAXCODE:GATECODE.")
def enroll_code_command(gate_ref: str) -> None:
    """Print a one-use tablet enrolment code for a gate (valid 15 minutes)."""
    gate = _find_gate(gate_ref)
    issued = issue_enrolment_code(gate, actor=None, now=utcnow())
    click.echo(issued.qr_content)
    click.echo(
        f"Gate {gate.code} ({gate.name}) of {gate.enterprise.name}; "
        f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC.",
        err=True,
    )


def _find_enterprise(ref: str) -> Enterprise:
    criteria = [Enterprise.tax_code == ref]
    if ref.isdigit():
        criteria.append(Enterprise.id == int(ref))
    found = db.session.scalars(select(Enterprise).where(or_(*criteria))).all()
    if len(found) != 1:
        raise click.ClickException(f"No single enterprise matches {ref!r}.")
    return found[0]


def _find_zone(ref: str) -> Zone:
    criteria = [Zone.name == ref]
    if ref.isdigit():
        criteria.append(Zone.id == int(ref))
    zone = db.session.scalar(select(Zone).where(or_(*criteria)))
    if zone is None:
        raise click.ClickException(f"No zone matches {ref!r}.")
    return zone


def _find_gate(ref: str) -> Gate:
    if ref.isdigit():
        gate = db.session.get(Gate, int(ref))
    elif ":" in ref:
        tax_code, code = ref.split(":", 1)
        gate = db.session.scalar(
            select(Gate).join(Enterprise).where(Enterprise.tax_code == tax_code, Gate.code == code)
        )
    else:
        matches = db.session.scalars(select(Gate).where(Gate.code == ref)).all()
        if len(matches) > 1:
            raise click.ClickException(
                f"Gate code {ref!r} is used by several enterprises: use TAXCODE:{ref}."
            )
        gate = matches[0] if matches else None
    if gate is None or not gate.active:
        raise click.ClickException(f"No active gate matches {ref!r}.")
    return gate


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would go; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Apply the retention periods (run daily from cron); --dry-run only shows what would go."""
    settings = current_app.config["GATELOG"]
    policy = Policy.from_thresholds(effective(settings))
    now = utcnow()
    if dry_run:
        click.echo("Dry run: nothing is changed.")
        outcomes = plan_purge(now, policy)
    else:
        with metrics.timed_job("purge"):
            outcomes = purge(
                now, policy, timezone=settings.timezone, end_of_chunk=db.session.commit
            )
            # The daily job, and the purge has just changed what the tables hold.
            refresh_planner_statistics(db.session.connection())
    zone = ZoneInfo(settings.timezone)
    for outcome in outcomes:
        cutoff = outcome.cutoff.astimezone(zone)
        click.echo(
            f"{outcome.category}: older than {outcome.days:g} days "
            f"(before {cutoff:%Y-%m-%d %H:%M} {settings.timezone})"
        )
        for kind, count in outcome.counts.items():
            verb = "would go" if dry_run else "done"
            click.echo(f"  {kind}: {count} {verb}")
