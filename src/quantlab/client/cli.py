"""Client verbs of the ``quantlab`` command: login, datasets, factors, backtest, tasks.

They talk to any server over the public API (``--url``, else ``QUANTLAB_SERVER_URL``, else
the server stored by ``quantlab login``). ``--json`` prints machine-readable output on stdout;
progress bars go to stderr and only on a terminal. A failure prints one ``error:`` line on
stderr and exits with status 1. Only typer is imported here; the client loads on first use.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from quantlab.client.sync import Client

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Server URL (default QUANTLAB_SERVER_URL or login).")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token", help="Access token (default QUANTLAB_TOKEN or login).", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

datasets_app = typer.Typer(help="Datasets on a quantlab server.", no_args_is_help=True)
factors_app = typer.Typer(help="Factor evaluation on a quantlab server.", no_args_is_help=True)
backtest_app = typer.Typer(help="Backtests on a quantlab server.", no_args_is_help=True)
tasks_app = typer.Typer(help="Jobs on a quantlab server.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the client verbs to the ``quantlab`` command."""
    app.command("login")(login)
    app.add_typer(datasets_app, name="datasets")
    app.add_typer(factors_app, name="factors")
    app.add_typer(backtest_app, name="backtest")
    app.add_typer(tasks_app, name="tasks")


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn any failure into one ``error:`` line and exit status 1 (no traceback)."""
    from quantlab.client.errors import QuantlabAPIError

    try:
        yield
    except QuantlabAPIError as exc:
        hint = ""
        if exc.status == 401:
            hint = " - run 'quantlab login' to sign in again"
        typer.echo(f"error: {exc}{hint}", err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError) as exc:  # local files, bad JSON
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise typer.Exit(130) from None


def _client(url: str | None, token: str | None) -> Client:
    from quantlab.client.sync import Client

    return Client(url, token)


def _emit(as_json: bool, payload: Any, text: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(payload, default=str, ensure_ascii=False))
    elif text is not None:
        typer.echo(text)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# --- login -------------------------------------------------------------------------------


def login(
    url: UrlOpt = None,
    token: TokenOpt = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Sign in with this account.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    token_name: Annotated[
        str, typer.Option("--token-name", help="Name of the personal access token to create.")
    ] = "quantlab-cli",  # noqa: S107 - a label, not a secret
) -> None:
    """Store a server URL and token in the user config file (mode 0600).

    With --token, the token is checked and stored. With --username, the password (from
    stdin with --password-stdin, else asked for) signs in once and a personal access token
    is created and stored; the password itself is never stored.
    """
    from quantlab.client.config import Profile, save_profile
    from quantlab.client.sync import Client

    with _errors():
        if token is None and username is None:
            raise ValueError("give --token or --username")
        if username is not None and token is None:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = typer.prompt("Password", hide_input=True)
            with Client(url, username=username, password=password) as session:
                token = str(session.create_token(token_name)["token"])
        with Client(url, token) as client:
            user = client.me()
        path = save_profile(Profile(url=client.url, token=token))
    typer.echo(f"signed in to {client.url} as {user.get('username')}; saved to {path}")


# --- datasets ----------------------------------------------------------------------------


@datasets_app.command("list")
def datasets_list(
    q: Annotated[str | None, typer.Option(help="Search text.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the datasets you can read."""
    with _errors(), _client(url, token) as client:
        items = client.list_datasets(q=q)
    rows = [d.raw for d in items]
    columns = ["id", "name", "status", "source", "latest_version"]
    _emit(as_json, rows, _table(rows, columns))


@datasets_app.command("import")
def datasets_import(
    files: Annotated[list[Path], typer.Argument(help="CSV/TSV, Excel, Parquet or zipped Qlib.")],
    name: Annotated[str | None, typer.Option("--name", help="New dataset's name.")] = None,
    dataset_id: Annotated[
        str | None, typer.Option("--dataset-id", help="Add a version to this dataset.")
    ] = None,
    options: Annotated[
        str | None, typer.Option("--options", help="Import options as JSON.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the import.")] = True,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import local files as a dataset (a new one, or a new version with --dataset-id)."""
    with _errors(), _client(url, token) as client:
        parsed = json.loads(options) if options else None
        run = client.import_files(files, dataset_name=name, dataset_id=dataset_id, options=parsed)
        if wait:
            run.wait()
        record = run.result()
    text = f"import {record['id']}: {record['status']}, dataset {record.get('dataset_id')}"
    _emit(as_json, record, text)


@datasets_app.command("export")
def datasets_export(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id.")],
    format: Annotated[str, typer.Option("--format", help="csv, parquet or qlib.")] = "csv",
    version: Annotated[int | None, typer.Option(help="Version (default latest).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a dataset export to a file."""
    suffix = {"csv": ".csv.zip", "parquet": ".parquet", "qlib": ".qlib.zip"}.get(format, "")
    target = output or Path(f"{dataset_id}{suffix}")
    with _errors(), _client(url, token) as client:
        path = client.export_dataset(dataset_id, target, format=format, version=version)
    _emit(as_json, {"path": str(path), "bytes": path.stat().st_size}, str(path))


# --- factors -----------------------------------------------------------------------------


@factors_app.command("eval")
def factors_eval(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id.")],
    expression: Annotated[
        str | None, typer.Argument(help="Qlib expression, e.g. 'Mean($close, 5) / $close'.")
    ] = None,
    factor_id: Annotated[str | None, typer.Option(help="A saved factor instead.")] = None,
    feature_set: Annotated[str | None, typer.Option(help="Alpha158 or Alpha360.")] = None,
    horizons: Annotated[str | None, typer.Option(help="Comma-separated days, e.g. 1,5,20.")] = None,
    start: Annotated[str | None, typer.Option(help="First date.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the result.")] = True,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a factor (IC, Rank IC, quantile returns) and print its IC summary."""
    with _errors(), _client(url, token) as client:
        days = [int(h) for h in horizons.split(",")] if horizons else None
        run = client.evaluate_factor(
            dataset_id,
            expression=expression,
            factor_id=factor_id,
            feature_set=feature_set,
            horizons=days,
            start=start,
            end=end,
        )
        if not wait:
            started = {"id": run.id, "job_id": run.job_id}
            _emit(as_json, started, f"evaluation {run.id} (job {run.job_id}) started")
            return
        run.wait()
        evaluation = run.result()
    result = evaluation.result or {}
    summary = result.get("ic_summary") or []
    payload = {"id": evaluation.id, "job_id": run.job_id, "ic_summary": summary}
    payload["rank_ic_summary"] = result.get("rank_ic_summary") or []
    columns = ["horizon", "mean", "std", "ir", "t_stat", "n_days"]
    rows = [{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in summary]
    _emit(as_json, payload, f"evaluation {evaluation.id}\n" + _table(rows, columns))


# --- backtests ---------------------------------------------------------------------------


@backtest_app.command("run")
def backtest_run(
    spec: Annotated[Path, typer.Argument(help="Backtest request JSON file.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run.")] = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a backtest from a request file; with --wait, print its metrics when done."""
    with _errors(), _client(url, token) as client:
        run = client.run_backtest(spec)
        if not wait:
            started = {"id": run.id, "job_id": run.job_id}
            _emit(as_json, started, f"backtest {run.id} (job {run.job_id}) started")
            return
        job = run.wait(raise_on_failure=False)
        backtest = run.result()
    payload = {"id": backtest.id, "job_id": run.job_id, "status": job.status}
    payload["metrics"] = backtest.metrics or {}
    if job.status == "failed":
        message = (job.error or {}).get("message", "no reason given")
        typer.echo(f"error: backtest {backtest.id} failed: {message}", err=True)
        raise typer.Exit(1)
    lines = [f"backtest {backtest.id}: {job.status}"]
    lines += [
        f"  {k}: {_number(v)}"
        for k, v in (backtest.metrics or {}).items()
        if not isinstance(v, dict)
    ]
    _emit(as_json, payload, "\n".join(lines))


@backtest_app.command("export")
def backtest_export(
    backtest_id: Annotated[str, typer.Argument(help="Backtest id.")],
    format: Annotated[
        str, typer.Option("--format", help="pdf, html, xlsx, json or csv (zip).")
    ] = "pdf",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a backtest report."""
    suffix = ".zip" if format == "csv" else f".{format}"
    target = output or Path(f"backtest-{backtest_id}{suffix}")
    with _errors(), _client(url, token) as client:
        path = client.export_backtest(backtest_id, target, format=format)
    _emit(as_json, {"path": str(path), "bytes": path.stat().st_size}, str(path))


# --- tasks -------------------------------------------------------------------------------


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str | None, typer.Option(help="pending, running, completed ...")] = None,
    type: Annotated[str | None, typer.Option("--type", help="Job type.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List your jobs, newest first."""
    with _errors(), _client(url, token) as client:
        jobs = client.list_tasks(status=status, type=type, limit=limit)
    rows = [j.raw for j in jobs]
    columns = ["id", "type", "status", "percentage", "stage", "created_at"]
    _emit(as_json, rows, _table(rows, columns))


@tasks_app.command("logs")
def tasks_logs(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a job's log."""
    with _errors(), _client(url, token) as client:
        lines = client.task_logs(job_id, level=level)
    text = "\n".join(f"{x.ts} {x.level.upper():7} {x.message}" for x in lines)
    _emit(as_json, [x.raw for x in lines], text)


@tasks_app.command("cancel")
def tasks_cancel(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a job."""
    with _errors(), _client(url, token) as client:
        job = client.cancel_task(job_id)
    _emit(as_json, job.raw, f"job {job.id}: {job.status}")
