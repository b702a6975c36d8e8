"""`iub disposal ...`: run approved disposal lists from the command line or a platform scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import typer

from app.core.settings import Settings

disposal_cli = typer.Typer(help="Disposal (gallring): run approved disposal lists.", no_args_is_help=True)


@disposal_cli.command("run")
def run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run the lists due by this date (YYYY-MM-DD); default today.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Files per batch (one transaction each).", min=1)] = None,
) -> None:
    """Execute every approved disposal list whose date has come (resuming one that was interrupted).

    Exit status 0 when every list ran, 1 when one was skipped (locked by another runner, or its items
    are not the approved version)."""
    from app.cli import _settings

    settings = _settings()
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        typer.echo("iub: --as-of must be a date, YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    skipped = asyncio.run(_run(settings, day, dry_run, batch_size))
    if skipped:
        raise typer.Exit(1)


async def _run(settings: Settings, as_of: dt.date | None, dry_run: bool, batch_size: int | None) -> int:
    from app.core.db import Database
    from app.disposal.execution import DisposalRunner
    from app.kit.clock import today

    db = Database.connect(settings.database_url)
    day = as_of or today()
    skipped = 0
    try:
        with _progress() as progress:
            runner = DisposalRunner(db, settings, batch_size=batch_size, progress=progress)
            reports = await runner.run(as_of=day, dry_run=dry_run)
        if not reports:
            typer.echo(f"no approved disposal list due by {day.isoformat()}")
        for report in reports:
            verb = "would remove" if report.dry_run else "removed"
            if report.skipped:
                skipped += 1
                typer.echo(f"list {report.list_id}: skipped ({report.skipped})")
                continue
            typer.echo(
                f"list {report.list_id} ({report.committee}): {verb} {report.files_done} file(s), "
                f"left {report.held} held and {report.changed} changed; {len(report.packages)} package(s)"
                + (f"; certificate: run {report.run_id}" if report.run_id else "")
            )
            for action, rules in sorted(report.done.items()):
                for rule, n in sorted(rules.items()):
                    typer.echo(f"  {action:<17} {rule:<24} {n}")
        return skipped
    finally:
        await db.dispose()


class _progress:
    """A rich progress bar on a terminal when `rich` is installed; else nothing."""

    def __enter__(self) -> _progress:
        self._bar: Any = None
        self._task: Any = None
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        except ImportError:  # pragma: no cover - rich is optional
            return self
        self._bar = Progress(
            TextColumn("disposal"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
        )
        self._bar.start()
        return self

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            return
        if self._task is None:
            self._task = self._bar.add_task("files", total=total)
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self._task = None

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
