"""The command line: ``main(argv) -> int``, the subcommands' wiring, and the error boundary.

Each subcommand's work lives in its own module under ``cupiform/commands/``; this module
only parses arguments, calls it, and maps what escapes to an exit code:
0 success, 1 error (one message on stderr, a traceback only with ``-v``), 2 success with
changes (``--detailed-exitcode``), 130 interrupted.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from cupiform import ending
from cupiform.errors import CupiformError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class GlobalOptions:
    """What the options before the subcommand say, for every subcommand."""

    directory: Path
    color: bool
    verbose: bool


class ExitCode(Exception):
    """Raised by a subcommand to end with a given code and no message (e.g. 2: changes)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _color_wanted(no_color: bool) -> bool:
    return not no_color and not os.environ.get("NO_COLOR")  # set and not empty, by convention


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run as if started in DIR (like git -C).",
)
@click.option("--no-color", is_flag=True, help="No colour in output (also NO_COLOR).")
@click.option("-v", "--verbose", is_flag=True, help="Log HTTP calls (credentials redacted).")
@click.version_option(package_name="cupiform")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, no_color: bool, verbose: bool) -> None:
    """cupiform: Cisco Unity Connection objects managed as code."""
    if directory is not None:
        if not directory.is_dir():
            raise CupiformError(f"-C {directory}: no such directory")
        os.chdir(directory)
    if verbose:
        from cupiform.cupi.log import enable

        enable(sys.stderr)
    ctx.obj = GlobalOptions(directory=Path.cwd(), color=_color_wanted(no_color), verbose=verbose)


@cli.group()
def emulator() -> None:
    """The CUPI emulator: a Unity Connection look-alike for tests and demos."""


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8443, show_default=True, type=int, help="0 picks a free port.")
@click.option("--db", default=":memory:", show_default=True, help="SQLite file, or :memory:.")
@click.option(
    "--seed",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML seed (users, smtp_proxy_addresses), loaded into a new database.",
)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate made at start.")
@click.option(
    "--ca-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --tls: write the CA certificate (PEM) here, for clients to trust.",
)
@click.option("--username", default="admin", show_default=True)
@click.option("--password", default="admin", show_default=True)
@click.option(
    "--latency-ms",
    default=0.0,
    type=float,
    show_default=True,
    help="Added to every request, inside the --max-concurrent window.",
)
@click.option(
    "--max-concurrent",
    default=0,
    type=int,
    show_default=True,
    help="Serve at most N requests at once; the rest wait, then 503 (0: no limit).",
)
@click.option(
    "--busy-wait-ms",
    default=100.0,
    type=float,
    show_default=True,
    help="How long a request waits for a slot before 503.",
)
@click.option(
    "--fail-rate",
    default=0.0,
    type=float,
    show_default=True,
    help="Share of requests (any method) answered with a random 500.",
)
@click.option(
    "--drop-post-rate",
    default=0.0,
    type=float,
    show_default=True,
    help="Share of POSTs that commit, then lose the connection before answering.",
)
@click.option(
    "--owner-create-only",
    is_flag=True,
    help="Refuse a PUT that changes an address's owner, as some servers do.",
)
@click.option("--random-seed", default=None, type=int, help="Seed the fault dice.")
@click.option(
    "--exit-after",
    default=0.0,
    type=float,
    help="Stop by itself after this many seconds (0: run until interrupted).",
)
@click.pass_obj
def emulator_serve(options: GlobalOptions, /, **kwargs: object) -> None:
    """Serve the CUPI emulator over HTTP(S)."""
    from cupiform.commands.emulator_serve import run

    run(options, **kwargs)  # type: ignore[arg-type]


@cli.command("validate")
@click.pass_obj
def validate(options: GlobalOptions) -> None:
    """Check cupiform.yaml and the manifests against the schemas and rules (no server)."""
    from cupiform.commands.validate import run

    click.echo(run(options.directory))


@cli.group("state")
def state() -> None:
    """Inspect and repair the state file (no server)."""


@state.command("list")
@click.pass_obj
def state_list(options: GlobalOptions) -> None:
    """List the addresses in the state."""
    from cupiform.commands.state_cmd import list_addresses

    if text := list_addresses(options.directory):
        click.echo(text)


@state.command("show")
@click.argument("name")
@click.pass_obj
def state_show(options: GlobalOptions, name: str) -> None:
    """Print one resource's state entry as JSON (NAME: address or bare name)."""
    from cupiform.commands.state_cmd import show

    click.echo(show(options.directory, name))


@state.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.pass_obj
def state_rm(options: GlobalOptions, names: tuple[str, ...]) -> None:
    """Forget resources; their objects stay on the server, unmanaged."""
    from cupiform.commands.state_cmd import remove

    click.echo(remove(options.directory, names))


@state.command("unlock")
@click.pass_obj
def state_unlock(options: GlobalOptions) -> None:
    """Clear a lock whose holder is gone (refused while the holder runs)."""
    from cupiform.commands.state_cmd import unlock

    click.echo(unlock(options.directory))


# Options that several commands share.
_target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only this resource (and what it depends on); repeatable.",
)
_auto_approve_option = click.option("--auto-approve", is_flag=True, help="Do not ask for 'yes'.")
_parallelism_option = click.option(
    "--parallelism", type=int, default=None, help="Write calls in flight."
)
_force_option = click.option("--force", is_flag=True, help="Go ahead past the safety thresholds.")


@cli.command("plan")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the plan here, for apply to carry out later.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="For people, a PR comment, or machines.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (drift counts), 0 when none.",
)
@click.option("--refresh-only", is_flag=True, help="Only drift and unmanaged objects.")
@_target_option
@click.pass_obj
def plan(
    options: GlobalOptions,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
) -> None:
    """Compare manifests, state and the live server; print what apply would do."""
    from cupiform.commands.plan_cmd import run

    code = run(
        color=options.color and sys.stdout.isatty(),
        out=out,
        fmt=fmt,
        detailed_exitcode=detailed_exitcode,
        refresh_only=refresh_only,
        targets=targets,
    )
    if code:
        raise ExitCode(code)


@cli.command("apply")
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_auto_approve_option
@_parallelism_option
@_force_option
@click.option("--refresh-only", is_flag=True, help="Only write live values into state.")
@_target_option
@click.pass_obj
def apply(
    options: GlobalOptions,
    planfile: Path | None,
    auto_approve: bool,
    parallelism: int | None,
    force: bool,
    refresh_only: bool,
    targets: tuple[str, ...],
) -> None:
    """Plan (or load PLANFILE), confirm, and carry out the changes."""
    from cupiform.commands.apply_cmd import run

    run(
        color=options.color and sys.stdout.isatty(),
        planfile=planfile,
        auto_approve=auto_approve,
        parallelism=parallelism,
        force=force,
        refresh_only=refresh_only,
        targets=targets,
    )


@cli.command("destroy")
@_auto_approve_option
@_parallelism_option
@_force_option
@click.pass_obj
def destroy(
    options: GlobalOptions, auto_approve: bool, parallelism: int | None, force: bool
) -> None:
    """Delete every object cupiform manages."""
    from cupiform.commands.apply_cmd import run

    run(
        color=options.color and sys.stdout.isatty(),
        planfile=None,
        auto_approve=auto_approve,
        parallelism=parallelism,
        force=force,
        refresh_only=False,
        targets=(),
        destroy=True,
    )


@cli.command("import")
@click.argument("name")
@click.argument("id_or_address")
@click.pass_obj
def import_(options: GlobalOptions, name: str, id_or_address: str) -> None:
    """Bind manifest resource NAME to an existing object (ObjectId or SMTP address), in state
    only."""
    from cupiform.commands.import_cmd import run

    click.echo(run(name, id_or_address))


@cli.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the manifests (must hold none yet).",
)
@click.pass_obj
def export(options: GlobalOptions, out: Path) -> None:
    """Write manifests for every proxy address on the server and bind them in state."""
    from cupiform.commands.export_cmd import run

    click.echo(run(out))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code; never raises."""
    args = list(sys.argv[1:] if argv is None else argv)
    # A short-lived process that builds hundreds of thousands of small acyclic objects
    # (manifests, state, live objects): full collections would walk them again and again
    # for nothing. Objects that exist now are frozen; young-generation collection stays.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    # A cancelled CI job sends SIGTERM: stop as for Ctrl-C, so that an apply finishes the
    # calls in flight, records them, and ends with 130 instead of dying in the middle.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    verbose = "-v" in args or "--verbose" in args
    try:
        cli.main(args=args, prog_name="cupiform", standalone_mode=False)
    except ExitCode as done:
        return done.code
    except click.exceptions.Abort:
        click.echo("cupiform: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("cupiform: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as usage:
        # click's usage errors exit 2 by default; 2 means "changes" here, so they are 1.
        usage.show()
        return EXIT_ERROR
    except CupiformError as error:
        if verbose:
            traceback.print_exc()
        click.echo(f"cupiform: error: {error}", err=True)
        return EXIT_ERROR
    except Exception as bug:  # the boundary: a bug still gets one line and exit 1
        if verbose:
            traceback.print_exc()
        click.echo(
            f"cupiform: internal error: {type(bug).__name__}: {bug} "
            "(this is a bug in cupiform; -v shows the traceback)",
            err=True,
        )
        return EXIT_ERROR
    return EXIT_OK


def console() -> None:
    """The ``cupiform`` command: ``main``, then the process ends at once (``ending``)."""
    ending.at_once()
    ending.end(main())


if __name__ == "__main__":  # pragma: no cover
    console()
