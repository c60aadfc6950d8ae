"""``ertplan fhir``: export a stored patient as a FHIR R4 Bundle, import a Bundle into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ertplan.cli.serve import DatabaseUrl

HELP = ("Exchange records as FHIR R4 Bundles (JSON). Example: ertplan fhir export 1 > "
        "patient.json; ertplan fhir import patient.json --database-url sqlite:///other.sqlite3")
EXPORT_HELP = ("Write one stored patient's records as a FHIR R4 collection Bundle (Patient, "
               "weights and lab Observations, MedicationRequests, bags as Medications, "
               "MedicationAdministrations, reactions as AdverseEvents). Example: "
               "ertplan fhir export 1 --output patient-1.json")
IMPORT_HELP = ("Import a FHIR R4 Bundle's weights and lab results (units converted; unknown codes "
               "reported), whole or not at all; an ertplan export also recreates the patient's "
               "orders, bags and infusions when the patient is new to the store. Prints a JSON "
               "report. Example: ertplan fhir import patient-1.json")

app = typer.Typer(name="fhir", help=HELP, no_args_is_help=True, add_completion=False)
cli = app  # what cli/app.py's lazy_command builds, only when `ertplan fhir` runs


@app.callback()
def _fhir_group() -> None:
    """Keep `fhir` a group of two subcommands."""


@app.command("export", help=EXPORT_HELP)
def export_command(
    patient_id: Annotated[int, typer.Argument(help="The stored patient's id, e.g. 1.",
                                              show_default=False)],
    output: Annotated[Path | None, typer.Option(
        help="Write the Bundle to this file instead of standard output.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a patient."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import Engine

    from ertplan.cli.serve import open_records
    from ertplan.core.errors import InputError
    from ertplan.interop.fhir_store import export_patient
    from ertplan.service.planning import Planner
    from ertplan.store.db import session_factory, transaction
    from ertplan.store.errors import NotFoundError

    if patient_id < 1:
        raise InputError("patient-id", "must be a stored patient's id (1 or more)", patient_id)
    engine = open_records(database_url)
    assert isinstance(engine, Engine)
    try:
        with transaction(session_factory(engine)) as session:
            bundle = export_patient(session, Planner(), patient_id=patient_id,
                                    now=datetime.now(UTC).replace(microsecond=0))
    except NotFoundError as error:
        raise InputError("patient-id", str(error), patient_id) from None
    finally:
        engine.dispose()
    text = json.dumps(bundle, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise InputError("output", f"cannot be written ({error.strerror})",
                             str(output)) from None
        typer.echo(f"ertplan: wrote {len(bundle['entry'])} resources to {output}", err=True)


@app.command("import", help=IMPORT_HELP)
def import_command(
    bundle_path: Annotated[Path, typer.Argument(metavar="BUNDLE.json",
                                                help="A FHIR R4 Bundle in JSON.",
                                                show_default=False)],
    database_url: DatabaseUrl = None,
) -> None:
    """Import a Bundle."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import Engine

    from ertplan.cli.serve import open_records
    from ertplan.core.errors import InputError
    from ertplan.interop.fhir_store import import_bundle
    from ertplan.service.planning import Planner
    from ertplan.store.db import session_factory, transaction

    try:
        bundle = json.loads(bundle_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError("bundle", f"cannot be read ({error.__class__.__name__})",
                         str(bundle_path)) from None
    except (ValueError, RecursionError) as error:
        raise InputError("bundle", f"is not JSON ({' '.join(str(error).split())[:120]})",
                         str(bundle_path)) from None
    engine = open_records(database_url)
    assert isinstance(engine, Engine)
    try:
        with transaction(session_factory(engine)) as session:
            report = import_bundle(session, Planner(), bundle=bundle, actor=None,
                                   now=datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
