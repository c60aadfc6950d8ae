"""The clinic's pages under ``/ui``: server-rendered Jinja2, with htmx for the live previews.

Every change goes through :mod:`ertplan.service.actions` (the REST routers' own functions, hence
the same audited repositories and rules), every plan through the service's planner. A refused
input is shown beside the field it names (HTTP 422), never as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ertplan.core.errors import ConflictError, ErtplanError, InputError
from ertplan.core.serialize import to_data
from ertplan.formatting import number
from ertplan.service import actions
from ertplan.service.deps import NowDep, PlannerDep, RecordId, SessionDep
from ertplan.service.planning import Planner, override_required_by
from ertplan.service.schemas import (
    DATABASE_INT_MAX,
    AdministrationCreate,
    AdministrationUpdate,
    Manifestation,
    ObservationCreate,
    ObservationKind,
    OrderCreate,
    OrderUpdate,
    OrderVerify,
    PatientCreate,
    PregnancyStatus,
    PreparationCreate,
    RateChangeAdd,
    ReactionAdd,
    Sex,
    Storage,
    VerifyChange,
    WeightCreate,
)
from ertplan.service.screening import core_patient
from ertplan.store import repositories as repo
from ertplan.store.models import (
    Administration,
    Observation,
    Order,
    Patient,
    Preparation,
    User,
    Weight,
)
from ertplan.web.forms import (
    Form,
    as_field_value,
    errors_of,
    form_values,
    local_moment,
    optional,
    text,
)
from ertplan.web.session import (
    PageUser,
    authenticate,
    end_session,
    require_role,
    safe_next,
    start_session,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)
UNPROCESSABLE = 422
REFUSED = (ValidationError, ErtplanError)
# no other site may frame a page (clickjacking), pages are not cached, links leak no path
PAGE_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'",
                "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
                "X-Content-Type-Options": "nosniff"}
SEVERITIES = ("critical", "warning", "info")
# the choices of the forms are the schemas' own
OBSERVATION_KINDS: tuple[str, ...] = get_args(ObservationKind)
PATIENT_CHOICES: dict[str, Any] = {
    "sexes": get_args(Sex), "pregnancy_statuses": get_args(PregnancyStatus),
    "manifestation_names": get_args(Manifestation), "storages": get_args(Storage)}
CALENDAR_DAYS = 91  # how far ahead the patient page shows the calendar: 13 weeks (a page setting)
WEIGHT_DECIMALS = 2  # weights are shown, and so typed back, to 0.01 kg


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else number(value, digits)


def _zone(request: Request) -> ZoneInfo:
    zone: ZoneInfo = request.app.state.web_zone
    return zone


def render(request: Request, name: str, user: User | None, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page (or an htmx fragment) from its template, with the signed-in user and clinic zone."""
    zone = _zone(request)

    def when(value: datetime | str | None) -> str:
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    context.setdefault("errors", {})
    context.setdefault("values", {})
    response = templates.TemplateResponse(request, name, {
        "user": user, "num": _number, "when": when, "zone": str(zone), **context},
        status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# ---- signing in ---------------------------------------------------------------------------------

@router.get("")
def home() -> RedirectResponse:
    """The pages start at the patient list."""
    return _see("/ui/patients")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "sign_in.html", None, next=safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, form: Form, session: SessionDep, now: NowDep) -> Response:
    """Check the username and password; set the session cookie and go on."""
    username, password = text(form, "username"), form.get("password")
    target = safe_next(text(form, "next"))
    user = authenticate(session, username=username, password=password) if (
        username and isinstance(password, str) and password) else None
    if user is None:
        return render(request, "sign_in.html", None, status_code=401, next=target,
                      values={"username": username},
                      errors={"form": "wrong username or password"})
    response = _see(target)
    start_session(response, request, session, user=user, now=now)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, now: NowDep) -> Response:
    """End the session: the token expires now and the cookie is cleared."""
    response = _see("/ui/sign-in")
    end_session(response, request, session, now=now)
    return response


# ---- patients -----------------------------------------------------------------------------------

@router.get("/patients")
def patient_list(request: Request, user: PageUser, session: SessionDep,
                 q: str = "") -> HTMLResponse:
    """Patients by name; `q` searches names and identifiers (live, as the user types)."""
    query = q.strip()[:80]
    found = repo.search_patients(session, text=query)
    name = "_patient_rows.html" if request.headers.get("HX-Request") else "patients.html"
    return render(request, name, user, patients=found, q=query)


@router.get("/patients/new")
def new_patient_page(request: Request, user: PageUser) -> HTMLResponse:
    """The form registering a patient (physicians)."""
    require_role(user, "physician")
    return render(request, "patient_form.html", user, values={"pregnancy_status": "unknown"},
                  **PATIENT_CHOICES)


@router.post("/patients")
def create_patient(request: Request, user: PageUser, form: Form, session: SessionDep,
                   now: NowDep) -> Response:
    """Register a patient, as ``POST /patients`` does."""
    require_role(user, "physician")
    try:
        body = PatientCreate(
            identifier=text(form, "identifier"), name=text(form, "name"),
            birth_date=text(form, "birth_date") or None,  # type: ignore[arg-type]
            sex=text(form, "sex") or None,  # type: ignore[arg-type]
            gaucher_type=_integer(text(form, "gaucher_type")),  # type: ignore[arg-type]
            pregnancy_status=text(form, "pregnancy_status") or "unknown",  # type: ignore[arg-type]
            lactating=_yes_no(form, "lactating"),
            hypersensitivity_history=_yes_no(form, "hypersensitivity_history"),
            prior_alglucerase_reaction=_yes_no(form, "prior_alglucerase_reaction"),
            manifestations=form.getlist("manifestations"),  # type: ignore[arg-type]
            hypersensitivity=optional(form, "hypersensitivity"),
            alglucerase_antibodies=optional(form, "alglucerase_antibodies"),
            alglucerase_reactions=optional(form, "alglucerase_reactions"))
        patient = actions.create_patient(session, actor=user, body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return render(request, "patient_form.html", user, status_code=UNPROCESSABLE,
                      errors=errors_of(error), values=form_values(form),
                      manifestations=form.getlist("manifestations"), **PATIENT_CHOICES)
    return _see(f"/ui/patients/{patient.id}")


def _integer(value: str) -> int | str | None:
    """A whole number typed in a form (the schema then checks its range), else the text."""
    return int(value) if value.isdigit() else (value or None)


def _yes_no(form: FormData, name: str) -> bool | None:
    answer = text(form, name)
    return {"yes": True, "no": False}.get(answer)


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: RecordId, user: PageUser, session: SessionDep,
                 now: NowDep, planner: PlannerDep) -> HTMLResponse:
    """Demographics and history, weights, orders, calendar, infusions and response charts."""
    return _patient_page(request, user, session, now, planner, patient_id)


def _patient_page(request: Request, user: User, session: Session, now: datetime,
                  planner: Planner, patient_id: int, status_code: int = 200,
                  **context: Any) -> HTMLResponse:
    patient = repo.get_record(session, model=Patient, record_id=patient_id)
    today = now.astimezone(_zone(request)).date()
    weights = repo.list_records(session, model=Weight, where={"patient_id": patient_id},
                                limit=500)
    weights.sort(key=lambda weight: (weight.measured_on, weight.id), reverse=True)
    orders = repo.list_records(session, model=Order, where={"patient_id": patient_id}, limit=500)
    current = next((order for order in reversed(orders)
                    if order.status != "discontinued"), None)
    person, _unknown = core_patient(session, patient, today=today)
    calendar, calendar_problem = _calendar(planner, current, weights, today, now)
    infusions = _infusions(session, orders)
    observations = repo.list_records(session, model=Observation,
                                     where={"patient_id": patient_id}, limit=500)
    charts, chart_problem, goals = _charts(session, planner, patient, today)
    return render(request, "patient.html", user, status_code=status_code, patient=patient,
                  age=person.age_on(today), weights=weights, orders=orders, current=current,
                  calendar=calendar, calendar_problem=calendar_problem, infusions=infusions,
                  observations=observations, charts=charts, chart_problem=chart_problem,
                  goals=goals, kinds=OBSERVATION_KINDS, today=today.isoformat(), **context)


def _calendar(planner: Planner, order: Order | None, weights: list[Weight],
              today: date, now: datetime) -> tuple[Any, str | None]:
    """``ertplan calendar`` of the order from its start (so the dates keep its rhythm) to the
    page's horizon or the order's end; the page lists the infusions from `today` on."""
    if order is None:
        return None, "no current order"
    if not weights:
        return None, "no recorded weight"
    end = today + timedelta(days=CALENDAR_DAYS)
    if order.end_date is not None:
        end = min(end, order.end_date)
    if end < order.start_date:
        end = order.start_date
    try:
        calendar = planner.calendar_from_text({
            "drug": order.drug, "weight": f"{weights[0].weight_kg!r} kg",
            "dose": f"{order.dose_units_per_kg!r} U/kg", "every": f"{order.interval_days!r} d",
            "start": order.start_date.isoformat(), "end": end.isoformat()}, now=now)
    except ErtplanError as error:
        return None, str(error)
    data = to_data(calendar)
    data["earlier"] = sum(1 for item in data["infusions"] if item["date"] < today.isoformat())
    data["infusions"] = [item for item in data["infusions"] if item["date"] >= today.isoformat()]
    return data, None


def _infusions(session: Session, orders: list[Order]) -> list[dict[str, Any]]:
    rows = []
    for order in orders:
        for preparation in repo.list_records(session, model=Preparation,
                                             where={"order_id": order.id}, limit=500):
            given = repo.list_records(session, model=Administration,
                                      where={"preparation_id": preparation.id}, limit=500)
            rows.append({"order": order, "preparation": preparation, "administrations": given})
    return rows


def _charts(session: Session, planner: Planner, patient: Patient,
            today: date) -> tuple[dict[str, str], str | None, list[Any]]:
    from ertplan.service.response import assess_stored_patient

    response = assess_stored_patient(session, planner, patient, today=today)
    if response.assessment is None:
        return {}, response.problem, []
    from ertplan.plots import trend_chart_svgs

    return (trend_chart_svgs(response.assessment), None,
            [goal for goal in response.assessment.goals if goal.analyte is not None])


@router.post("/patients/{patient_id}/weights")
def add_weight(request: Request, patient_id: RecordId, user: PageUser, form: Form,
               session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Record a weight (physician, nurse or pharmacist), as ``POST /weights``."""
    require_role(user, "physician", "nurse", "pharmacist")
    try:
        weight_kg = planner.weight_kg(text(form, "weight"))
        body = WeightCreate(patient_id=patient_id, weight_kg=weight_kg,
                            measured_on=text(form, "measured_on") or None)  # type: ignore[arg-type]
        actions.create_weight(session, actor=user, body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _patient_page(request, user, session, now, planner, patient_id,
                             status_code=UNPROCESSABLE, errors=errors_of(error),
                             values=form_values(form))
    return _see(f"/ui/patients/{patient_id}#weights")


@router.post("/patients/{patient_id}/observations")
def add_observation(request: Request, patient_id: RecordId, user: PageUser, form: Form,
                    session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Record an observation with unit, date and source, as ``POST /observations``."""
    require_role(user, "physician", "nurse", "pharmacist")
    try:
        body = ObservationCreate(
            patient_id=patient_id, kind=text(form, "kind"),  # type: ignore[arg-type]
            value=text(form, "value") or None,  # type: ignore[arg-type]
            value_text=optional(form, "value_text"), unit=optional(form, "unit"),
            observed_on=text(form, "observed_on") or None,  # type: ignore[arg-type]
            source=text(form, "source"))
        actions.create_observation(session, actor=user, body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _patient_page(request, user, session, now, planner, patient_id,
                             status_code=UNPROCESSABLE, errors=errors_of(error),
                             values=form_values(form))
    return _see(f"/ui/patients/{patient_id}#observations")


# ---- orders and the live preview ----------------------------------------------------------------

def _preview(planner: Planner, form: FormData | dict[str, str], now: datetime) -> dict[str, Any]:
    """The preparation plan of the typed order, or the field-naming messages of what is wrong."""
    def get(name: str) -> str | None:
        value = form.get(name)
        return value.strip() or None if isinstance(value, str) else None

    fields = {"weight": get("weight") or "", "dose": get("dose") or "", "every": get("every"),
              "duration": get("duration"), "vial_sizes": get("vial_sizes")}
    try:
        plan = planner.plan_from_text(fields, now=now)
    except REFUSED as error:
        return {"plan": None, "preview_errors": errors_of(error)}
    return {"plan": to_data(plan), "override": override_required_by(plan), "preview_errors": {}}


@router.post("/fragments/preview")
def preview_fragment(request: Request, user: PageUser, form: Form, now: NowDep,
                     planner: PlannerDep) -> HTMLResponse:
    """The preparation preview of what the physician is typing (as ``POST /plans/preparation``).

    Answers 200 even for a refused input, so that htmx swaps the message in.
    """
    return render(request, "_preview.html", user, **_preview(planner, form, now))


@router.get("/patients/{patient_id}/orders/new")
def new_order_page(request: Request, patient_id: RecordId, user: PageUser, session: SessionDep,
                   now: NowDep, planner: PlannerDep, weight: str | None = None,
                   dose: str | None = None, every: str | None = None) -> HTMLResponse:
    """The order form with the live preparation preview (physicians).

    `weight`, `dose` and `every` fill the form in (a SMART launch from the EHR passes the EHR's
    latest weight and the card's order); nothing is stored until the physician orders.
    """
    require_role(user, "physician")
    patient = repo.get_record(session, model=Patient, record_id=patient_id)
    latest = repo.latest_weight(session, patient_id=patient_id)
    values = {"weight": "" if latest is None
              else f"{_number(latest.weight_kg, WEIGHT_DECIMALS)} kg",
              "dose": "60 U/kg", "every": "2 weeks",
              "start_date": now.astimezone(_zone(request)).date().isoformat()}
    for name, given in (("weight", weight), ("dose", dose), ("every", every)):
        if given and given.strip():
            values[name] = given.strip()[:100]
    return render(request, "order_form.html", user, patient=patient, order=None, values=values,
                  latest_weight=latest, **_preview(planner, values, now))


@router.post("/patients/{patient_id}/orders")
def create_order(request: Request, patient_id: RecordId, user: PageUser, form: Form,
                 session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Order from the typed weight, dose and frequency, as ``POST /orders``.

    A typed weight that differs from the latest recorded one is recorded first (measured today),
    since the pharmacist's plan takes the latest weight.
    """
    require_role(user, "physician")
    patient = repo.get_record(session, model=Patient, record_id=patient_id)
    try:
        parsed = _parsed_order(planner, form, now)
        _record_weight_if_new(session, user, patient_id, parsed.weight_kg,
                              now.astimezone(_zone(request)).date(), now)
        body = OrderCreate(
            patient_id=patient_id, dose_units_per_kg=parsed.dose_units_per_kg,
            interval_days=parsed.frequency.interval_days, duration_min=parsed.duration_min,
            start_date=text(form, "start_date") or None,  # type: ignore[arg-type]
            end_date=optional(form, "end_date"),  # type: ignore[arg-type]
            change_reason=optional(form, "change_reason"))
        order = actions.create_order(session, actor=user, body=body, now=now, planner=planner)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return render(request, "order_form.html", user, status_code=UNPROCESSABLE,
                      patient=patient, order=None, values=form_values(form),
                      latest_weight=repo.latest_weight(session, patient_id=patient_id),
                      errors=errors_of(error), **_preview(planner, form, now))
    return _see(f"/ui/orders/{order.id}")


def _parsed_order(planner: Planner, form: FormData, now: datetime) -> Any:
    return planner.order_from_text({
        "weight": text(form, "weight"), "dose": text(form, "dose"),
        "every": optional(form, "every"), "duration": optional(form, "duration")}, now=now)


def _record_weight_if_new(session: Session, user: User, patient_id: int, weight_kg: float,
                          today: date, now: datetime) -> None:
    latest = repo.latest_weight(session, patient_id=patient_id)
    # the form shows the latest weight to 0.01 kg: typed back unchanged, it is the same weight
    if latest is None or round(latest.weight_kg, WEIGHT_DECIMALS) != round(weight_kg,
                                                                          WEIGHT_DECIMALS):
        actions.create_weight(session, actor=user, now=now, body=WeightCreate(
            patient_id=patient_id, weight_kg=weight_kg, measured_on=today))


@router.get("/orders/{order_id}/change")
def change_order_page(request: Request, order_id: RecordId, user: PageUser, session: SessionDep,
                      now: NowDep, planner: PlannerDep) -> HTMLResponse:
    """The order form filled with the order, to change it with a reason (physicians)."""
    require_role(user, "physician")
    order = repo.get_record(session, model=Order, record_id=order_id)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    weight = repo.latest_weight(session, patient_id=order.patient_id)
    values = {"weight": "" if weight is None
              else f"{_number(weight.weight_kg, WEIGHT_DECIMALS)} kg",
              "dose": f"{_number(order.dose_units_per_kg)} U/kg",
              "every": f"{_number(order.interval_days, 4)} days",
              "duration": "" if order.duration_min is None
              else f"{_number(order.duration_min)} min",
              "start_date": order.start_date.isoformat(),
              "end_date": "" if order.end_date is None else order.end_date.isoformat()}
    return render(request, "order_form.html", user, patient=patient, order=order, values=values,
                  latest_weight=weight, **_preview(planner, values, now))


@router.post("/orders/{order_id}/change")
def change_order(request: Request, order_id: RecordId, user: PageUser, form: Form,
                 session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Change an order with a reason, as ``PATCH /orders/{id}``; it goes back to the pharmacist."""
    require_role(user, "physician")
    order = repo.get_record(session, model=Order, record_id=order_id)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    try:
        parsed = _parsed_order(planner, form, now)
        _record_weight_if_new(session, user, order.patient_id, parsed.weight_kg,
                              now.astimezone(_zone(request)).date(), now)
        body = OrderUpdate(
            version=text(form, "version") or None,  # type: ignore[arg-type]
            change_reason=text(form, "change_reason"),
            dose_units_per_kg=parsed.dose_units_per_kg,
            interval_days=parsed.frequency.interval_days, duration_min=parsed.duration_min,
            start_date=text(form, "start_date") or None,  # type: ignore[arg-type]
            end_date=optional(form, "end_date"))  # type: ignore[arg-type]
        actions.update_order(session, actor=user, order_id=order_id, body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return render(request, "order_form.html", user, status_code=UNPROCESSABLE,
                      patient=patient, order=order, values=form_values(form),
                      latest_weight=repo.latest_weight(session, patient_id=order.patient_id),
                      errors=errors_of(error), **_preview(planner, form, now))
    return _see(f"/ui/orders/{order_id}")


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: RecordId, user: PageUser, session: SessionDep,
               now: NowDep, planner: PlannerDep) -> HTMLResponse:
    """The order, its plan at the latest weight with the screening, verification and
    preparation (pharmacists)."""
    return _order_page(request, user, session, now, planner, order_id)


def _order_page(request: Request, user: User, session: Session, now: datetime,
                planner: Planner, order_id: int, status_code: int = 200,
                **context: Any) -> HTMLResponse:
    order = repo.get_record(session, model=Order, record_id=order_id)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    try:
        plan = actions.verification_plan(session, order=order, now=now, planner=planner)
        plan_data, override, plan_problem = to_data(plan), override_required_by(plan), None
    except ErtplanError as error:
        plan_data, override, plan_problem = None, [], str(error)
    preparations = repo.list_records(session, model=Preparation, where={"order_id": order_id},
                                     limit=500)
    zone = _zone(request)
    context.setdefault("values", {})
    context["values"].setdefault("reconstituted_at", as_field_value(now, zone))
    return render(request, "order.html", user, status_code=status_code, order=order,
                  patient=patient, plan=plan_data, override=override, plan_problem=plan_problem,
                  preparations=preparations, prescriber=_username(session, order.prescriber_id),
                  storages=PATIENT_CHOICES["storages"],
                  verifier=_username(session, order.verified_by_id), **context)


def _username(session: Session, user_id: int | None) -> str | None:
    return None if user_id is None else repo.get_record(session, model=User,
                                                        record_id=user_id).username


@router.post("/orders/{order_id}/verify")
def verify_order(request: Request, order_id: RecordId, user: PageUser, form: Form,
                 session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Verify the order, as ``POST /orders/{id}/verify`` (override reason where required)."""
    require_role(user, "pharmacist")
    try:
        body = OrderVerify(version=text(form, "version") or None,  # type: ignore[arg-type]
                           override_reason=optional(form, "override_reason"))
        actions.verify_order(session, actor=user, order_id=order_id, body=body, now=now,
                             planner=planner)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _order_page(request, user, session, now, planner, order_id,
                           status_code=UNPROCESSABLE, errors=errors_of(error),
                           values=form_values(form))
    return _see(f"/ui/orders/{order_id}#prepare")


@router.post("/orders/{order_id}/preparations")
def create_preparation(request: Request, order_id: RecordId, user: PageUser, form: Form,
                       session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Record the bag with the lot of each vial size, as ``POST /preparations``."""
    require_role(user, "pharmacist")
    zone = _zone(request)
    try:
        vials = []
        for index in range(int(text(form, "vial_rows") or 0)):
            vials.append({
                "lot": text(form, f"vials-{index}-lot"),
                "vial_units": text(form, f"vials-{index}-vial_units") or None,
                "count": text(form, f"vials-{index}-count") or None,
                "expiry_date": text(form, f"vials-{index}-expiry_date") or None})
        body = PreparationCreate(
            order_id=order_id, vials=vials,  # type: ignore[arg-type]
            reconstituted_at=local_moment(text(form, "reconstituted_at"), "reconstituted_at",
                                          zone),
            storage=text(form, "storage") or "refrigerated")  # type: ignore[arg-type]
        preparation = actions.create_preparation(session, actor=user, body=body, now=now,
                                                 planner=planner)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _order_page(request, user, session, now, planner, order_id,
                           status_code=UNPROCESSABLE, errors=errors_of(error),
                           values=form_values(form))
    return _see(f"/ui/preparations/{preparation.id}")


# ---- preparations: worksheet, label, second check, start of the infusion -----------------------

def _preparation_context(session: Session, preparation: Preparation) -> dict[str, Any]:
    order = repo.get_record(session, model=Order, record_id=preparation.order_id)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    return {"preparation": preparation, "order": order, "patient": patient,
            "plan": preparation.plan,
            "prepared_by": _username(session, preparation.prepared_by_id),
            "verified_by": _username(session, preparation.verified_by_id),
            "administrations": repo.list_records(session, model=Administration,
                                                 where={"preparation_id": preparation.id})}


@router.get("/preparations/{preparation_id}")
def preparation_page(request: Request, preparation_id: RecordId, user: PageUser,
                     session: SessionDep, now: NowDep) -> HTMLResponse:
    """The worksheet with the lots (printable), the bag label, the second check and the start."""
    return _preparation_page(request, user, session, now, preparation_id)


def _preparation_page(request: Request, user: User, session: Session, now: datetime,
                      preparation_id: int, status_code: int = 200,
                      **context: Any) -> HTMLResponse:
    preparation = repo.get_record(session, model=Preparation, record_id=preparation_id)
    context.setdefault("values", {})
    context["values"].setdefault("started_at", as_field_value(now, _zone(request)))
    return render(request, "preparation.html", user, status_code=status_code,
                  generated_at=now, **_preparation_context(session, preparation), **context)


def _worksheet_context(session: Session, preparation: Preparation, now: datetime) -> Any:
    from ertplan.documents import VialLot, WorksheetContext

    found = _preparation_context(session, preparation)
    return WorksheetContext(
        plan=preparation.plan, patient_name=found["patient"].name,
        patient_identifier=found["patient"].identifier, preparation_id=preparation.id,
        order_id=preparation.order_id,
        lots=tuple(VialLot(vial_units=vial.vial_units, count=vial.count, lot=vial.lot,
                           expiry_date=vial.expiry_date) for vial in preparation.vials),
        prepared_by=found["prepared_by"], verified_by=found["verified_by"], generated_at=now)


@router.get("/preparations/{preparation_id}/worksheet.pdf")
def worksheet_pdf(preparation_id: RecordId, user: PageUser, session: SessionDep,
                  now: NowDep) -> Response:
    """The worksheet as a PDF file (:func:`ertplan.documents.worksheet_pdf`)."""
    from ertplan.documents import worksheet_pdf as make_pdf

    preparation = repo.get_record(session, model=Preparation, record_id=preparation_id)
    content = make_pdf(_worksheet_context(session, preparation, now))
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="worksheet-{preparation_id}.pdf"'})


@router.get("/preparations/{preparation_id}/label.svg")
def bag_label(preparation_id: RecordId, user: PageUser, session: SessionDep,
              now: NowDep) -> Response:
    """The bag label with the Code 128 barcode of the preparation id, as SVG."""
    from ertplan.documents import bag_label_svg

    preparation = repo.get_record(session, model=Preparation, record_id=preparation_id)
    return Response(bag_label_svg(_worksheet_context(session, preparation, now)),
                    media_type="image/svg+xml")


@router.post("/preparations/{preparation_id}/verify")
def verify_preparation(request: Request, preparation_id: RecordId, user: PageUser, form: Form,
                       session: SessionDep, now: NowDep) -> Response:
    """The second pharmacist's check, as ``POST /preparations/{id}/verify``."""
    require_role(user, "pharmacist")
    try:
        body = VerifyChange(version=text(form, "version") or None)  # type: ignore[arg-type]
        actions.verify_preparation(session, actor=user, preparation_id=preparation_id,
                                   body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _preparation_page(request, user, session, now, preparation_id,
                                 status_code=UNPROCESSABLE, errors=errors_of(error))
    return _see(f"/ui/preparations/{preparation_id}")


@router.post("/preparations/{preparation_id}/administrations")
def start_administration(request: Request, preparation_id: RecordId, user: PageUser, form: Form,
                         session: SessionDep, now: NowDep) -> Response:
    """Start the infusion once the bag's barcode matches this preparation (nurses)."""
    require_role(user, "nurse")
    preparation = repo.get_record(session, model=Preparation, record_id=preparation_id)
    try:
        _check_barcode(session, text(form, "barcode"), preparation)
        body = AdministrationCreate(
            preparation_id=preparation_id,
            started_at=local_moment(text(form, "started_at"), "started_at", _zone(request)),
            premedication=optional(form, "premedication"))
        administration = actions.create_administration(session, actor=user, body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _preparation_page(request, user, session, now, preparation_id,
                                 status_code=UNPROCESSABLE, errors=errors_of(error),
                                 values=form_values(form))
    return _see(f"/ui/administrations/{administration.id}")


def _check_barcode(session: Session, scanned: str, preparation: Preparation) -> None:
    """The scanned or typed barcode must be this bag's: another bag, even of the same patient,
    is refused with what it is."""
    from ertplan.documents import parse_barcode_payload

    if not scanned:
        raise InputError("barcode", "scan or type the barcode on the bag's label before the "
                         "start")
    found = parse_barcode_payload(scanned)
    if found != preparation.id:
        other = session.get(Preparation, found) if found <= DATABASE_INT_MAX else None
        whose = ""
        if other is not None:
            other_order = repo.get_record(session, model=Order, record_id=other.order_id)
            other_patient = repo.get_record(session, model=Patient,
                                            record_id=other_order.patient_id)
            whose = f" for {other_patient.name} ({other_patient.identifier})"
        raise InputError("barcode", f"this is the label of preparation {found}{whose}, not of "
                         f"preparation {preparation.id}: do not start, check the bag", scanned)


# ---- administrations ----------------------------------------------------------------------------

def _administration_page(request: Request, user: User, session: Session, now: datetime,
                         administration_id: int, status_code: int = 200,
                         **context: Any) -> HTMLResponse:
    administration = repo.get_record(session, model=Administration,
                                     record_id=administration_id)
    preparation = repo.get_record(session, model=Preparation,
                                  record_id=administration.preparation_id)
    zone = _zone(request)
    context.setdefault("values", {})
    for name in ("at", "ended_at", "reaction_at"):
        context["values"].setdefault(name, as_field_value(now, zone))
    signs = _known_signs(request.app.state.planner, preparation)
    return render(request, "administration.html", user, status_code=status_code,
                  administration=administration, signs=signs,
                  given_by=_username(session, administration.given_by_id),
                  **_preparation_context(session, preparation), **context)


def _known_signs(planner: Planner, preparation: Preparation) -> tuple[str, ...]:
    from ertplan.core.safety import known_signs

    return known_signs(planner.monograph(preparation.plan["drug"]))


@router.get("/administrations/{administration_id}")
def administration_page(request: Request, administration_id: RecordId, user: PageUser,
                        session: SessionDep, now: NowDep) -> HTMLResponse:
    """The running infusion: rate changes, reactions, the stop."""
    return _administration_page(request, user, session, now, administration_id)


@router.post("/administrations/{administration_id}/stop")
def stop_administration(request: Request, administration_id: RecordId, user: PageUser, form: Form,
                        session: SessionDep, now: NowDep) -> Response:
    """Record the end of the infusion, as ``PATCH /administrations/{id}``."""

    def record() -> None:
        body = AdministrationUpdate(
            version=text(form, "version") or None,  # type: ignore[arg-type]
            ended_at=local_moment(text(form, "ended_at"), "ended_at", _zone(request)))
        actions.end_administration(session, actor=user, administration_id=administration_id,
                                   body=body, now=now)

    return _record_on_administration(request, administration_id, user, form, session, now,
                                     record)


@router.post("/administrations/{administration_id}/rate-changes")
def add_rate_change(request: Request, administration_id: RecordId, user: PageUser, form: Form,
                    session: SessionDep, now: NowDep) -> Response:
    """Record a rate change, as ``POST /administrations/{id}/rate-changes``."""

    def record() -> None:
        body = RateChangeAdd(
            version=text(form, "version") or None,  # type: ignore[arg-type]
            at=local_moment(text(form, "at"), "at", _zone(request)),
            rate_ml_per_h=text(form, "rate_ml_per_h") or None,  # type: ignore[arg-type]
            reason=optional(form, "reason"))
        actions.add_rate_change(session, actor=user, administration_id=administration_id,
                                body=body, now=now)

    return _record_on_administration(request, administration_id, user, form, session, now,
                                     record)


def _record_on_administration(request: Request, administration_id: int, user: User,
                              form: FormData, session: Session, now: datetime,
                              record: Callable[[], None]) -> Response:
    """A nurse's change to a running infusion: recorded and the page shown again, or the form
    shown again with what was refused beside its field."""
    require_role(user, "nurse")
    try:
        record()
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _administration_page(request, user, session, now, administration_id,
                                    status_code=UNPROCESSABLE, errors=errors_of(error),
                                    values=form_values(form))
    return _see(f"/ui/administrations/{administration_id}")


@router.post("/administrations/{administration_id}/reactions")
def add_reaction(request: Request, administration_id: RecordId, user: PageUser, form: Form,
                 session: SessionDep, now: NowDep, planner: PlannerDep) -> Response:
    """Record a reaction and show the monograph's handling (``ertplan reaction``'s assessment).

    The signs ticked are graded by the core; the recorded description starts with them.
    """
    require_role(user, "nurse")
    administration = repo.get_record(session, model=Administration,
                                     record_id=administration_id)
    preparation = repo.get_record(session, model=Preparation,
                                  record_id=administration.preparation_id)
    order = repo.get_record(session, model=Order, record_id=preparation.order_id)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    signs = [sign for sign in form.getlist("signs") if isinstance(sign, str)]
    try:
        at = local_moment(text(form, "reaction_at"), "reaction_at", _zone(request))
        plan = preparation.plan
        person, _unknown = core_patient(session, patient, today=at.date())
        assessment = planner.reaction_for_order(
            signs, drug=plan["drug"], weight_kg=plan["weight_kg"],
            dose_units_per_kg=order.dose_units_per_kg, interval_days=order.interval_days,
            duration_min=plan["infusion"]["duration_min"],
            final_volume_ml=plan["final_volume_ml"], prepared_at=now,
            onset_min=max((at - administration.started_at) / timedelta(minutes=1), 0.0),
            age_years=person.age_on(at.date()),
            vial_sizes_units=[vial["units"] for vial in plan["vials"]])
        notes = text(form, "description")
        body = ReactionAdd(
            version=text(form, "version") or None,  # type: ignore[arg-type]
            at=at, grade=text(form, "grade") or None,  # type: ignore[arg-type]
            description="signs: " + ", ".join(signs) + (f"; {notes}" if notes else ""),
            action_taken=text(form, "action_taken"))
        actions.add_reaction(session, actor=user, administration_id=administration_id,
                             body=body, now=now)
        session.commit()
    except REFUSED as error:
        session.rollback()
        return _administration_page(request, user, session, now, administration_id,
                                    status_code=UNPROCESSABLE, errors=errors_of(error),
                                    values=form_values(form), ticked=signs)
    return _administration_page(request, user, session, now, administration_id,
                                assessment=to_data(assessment))


# ---- the stateless worksheet (linked from CDS Hooks cards) --------------------------------------

@router.get("/worksheet")
def worksheet_preview(request: Request, user: PageUser, now: NowDep, planner: PlannerDep,
                      weight: str = "", dose: str = "", every: str | None = None,
                      duration: str | None = None,
                      vial_sizes: str | None = None) -> HTMLResponse:
    """The printable worksheet of a plan for the given inputs; nothing is stored.

    ``/ui/worksheet?weight=70kg&dose=60U/kg&every=2w`` (optional ``duration``, ``vial_sizes``).
    """
    values = {"weight": weight, "dose": dose, "every": every or "", "duration": duration or "",
              "vial_sizes": vial_sizes or ""}
    found = _preview(planner, {key: value[:100] for key, value in values.items()}, now)
    refused = found["plan"] is None and any(values.values())
    return render(request, "worksheet.html", user, status_code=UNPROCESSABLE if refused else 200,
                  values=values, generated_at=now,
                  errors=found["preview_errors"] if refused else {}, **found)


def install_error_pages(app: Any) -> None:
    """Answer the pages' errors with pages; every other path keeps the API's JSON answers."""
    from fastapi.exceptions import RequestValidationError
    from sqlalchemy.exc import DataError
    from starlette.exceptions import HTTPException

    from ertplan.store.errors import NotFoundError
    from ertplan.web.session import PageForbidden, SignInRequired, sign_in_location

    api_handlers = dict(app.exception_handlers)

    def status_of(error: Exception) -> int:
        if isinstance(error, HTTPException):
            return error.status_code
        if isinstance(error, NotFoundError):
            return 404
        if isinstance(error, ConflictError):
            return 409
        if isinstance(error, PageForbidden):
            return 403
        return UNPROCESSABLE

    async def answer(request: Request, error: Exception) -> Response:
        if isinstance(error, SignInRequired):
            location = sign_in_location(error.next_path)
            if request.headers.get("HX-Request"):  # htmx follows HX-Redirect, not a 303
                return Response(status_code=401, headers={"HX-Redirect": location})
            return RedirectResponse(location, status_code=303)
        if not request.url.path.startswith("/ui") and not isinstance(error, PageForbidden):
            for kind in type(error).__mro__:
                if kind in api_handlers:
                    result: Response = await api_handlers[kind](request, error)
                    return result
            raise error
        code = status_of(error)
        if isinstance(error, RequestValidationError):
            message = "; ".join(
                f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
                for item in error.errors())
        elif isinstance(error, HTTPException):
            message = str(error.detail)
        else:
            message = " ".join(str(error).split())
        return render(request, "error.html", None, status_code=code, code=code,
                      message=message)

    for kind in (SignInRequired, PageForbidden, ErtplanError, DataError, HTTPException,
                 RequestValidationError):
        app.add_exception_handler(kind, answer)
