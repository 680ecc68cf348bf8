"""`bcsi sandbox ...`: serve the local HTTPS cloud (Entra ID, Graph, Dataverse, Business Central)."""
from __future__ import annotations

from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sandbox():
    """The local HTTPS cloud (Entra ID, Graph, Dataverse, Business Central) for demos and tests."""


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True,
              help="TCP port on 127.0.0.1; 0 picks a free one (reported in endpoints.json).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Data dir: state.db, the CA (ca.pem), endpoints.json. Kept across restarts.")
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Seed YAML for a fresh data dir (default: the embedded sandbox/seeds/default.yaml).")
@click.option("--latency-ms", type=click.IntRange(0), default=0, show_default=True,
              help="Delay every API response by this many milliseconds.")
@click.option("--faults", metavar="SPEC",
              help="Per-request faults on Graph and Dataverse, deterministic for a seed: 429=P (throttled), "
                   "503=P, reset-before=P (connection dropped before the request runs: not applied), "
                   "reset-after=P (dropped after it ran, before the answer: applied), reset=P (half of each), "
                   "seed=N; e.g. 429=0.2,503=0.05,reset=0.02,seed=7.")
@click.option("--delays", metavar="SPEC",
              help="Replication delays in seconds instead of the seed's: 'off', or e.g. "
                   "dataverseUserSync=5,servicePrincipal=2,usageLocation=2,groupLicensing=3 (sandbox/README.md).")
@click.option("--batch-order", metavar="ORDER",
              help="Order of the Graph $batch items without dependsOn: 'request', or 'shuffle:SEED' (the seed's default).")
def serve(port, data_dir, seed_file, latency_ms, faults, delays, batch_order):
    """Serve the sandbox over HTTPS until SIGTERM; prints the endpoints as one JSON line when ready."""
    from sandbox import consistency
    from sandbox.app import FaultSpec
    from sandbox.seed import SeedError
    from sandbox.server import serve as run

    try:
        FaultSpec.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        if delays is not None:
            consistency.with_delays(consistency.Consistency(), delays)
    except consistency.ConsistencyError as exc:
        raise click.BadParameter(str(exc), param_hint="--delays") from None
    try:
        if batch_order is not None:
            consistency.with_batch_order(consistency.Consistency(), batch_order)
    except consistency.ConsistencyError as exc:
        raise click.BadParameter(str(exc), param_hint="--batch-order") from None
    try:
        run(data_dir=data_dir, port=port, seed_file=seed_file, latency_ms=latency_ms, faults=faults,
            delays=delays, batch_order=batch_order)
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
