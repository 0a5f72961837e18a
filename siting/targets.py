"""Targets: the fewest new sites that reach the policy targets.

The targets of the Fuxin 2020 policy are a share of the demand within a walk of a facility
(50 % community coverage) and a number of infant-care slots per 1,000 residents (4.5).
:func:`fewest_sites` finds the smallest number of new sites meeting either or both, exactly
(HiGHS; model in :mod:`siting.milp`), or says why no set of eligible parcels can.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from siting import milp
from siting._errors import ConfigError
from siting._selection import (
    Selection,
    as_csr,
    check_capacity,
    check_demand,
    check_sites,
    cover_result,
    positive,
    reached_by,
    relative_gap,
    split_result,
)
from siting.reduction import reduce_cover

__all__ = ["fewest_sites"]


def fewest_sites(
    within: Any,
    demand: Any,
    *,
    candidates: Any,
    fixed: Any = None,
    coverage_share: float | None = None,
    slots: Any = None,
    slots_per_1000: float | None = None,
    residents: float | None = None,
    capacity: Any = None,
    time_limit: float | None = None,
) -> Selection:
    """Find the fewest new sites that reach a coverage share and/or slots per 1,000 residents.

    Parameters
    ----------
    within
        Sites x demand points, as in :func:`max_cover`.
    demand
        Weight of each demand point; the coverage share is of their total (points no site
        reaches included).
    candidates, fixed
        As in :func:`max_cover`.
    coverage_share
        Share (0-1) of the demand that must be covered by the new and fixed sites together
        (e.g. 0.5). With ``capacity``, "covered" means served within the sites' capacities.
    slots
        Slots per row (new and fixed) for the slots target (e.g. ``capacity_slots`` of the
        parcels and the existing under-3 places).
    slots_per_1000, residents
        Slots target: ``slots_per_1000 x residents / 1000`` slots in all, existing (fixed)
        ones included (e.g. 4.5 per 1,000).
    capacity
        Slots per row limiting the demand each site serves (capacitated coverage).
    time_limit
        Seconds for the MILP.

    Returns
    -------
    Selection
        ``objective`` = number of new sites, ``bound`` = proven lower bound;
        ``details`` states each target, what is reached and the margin.

    Raises
    ------
    ConfigError
        If no target is given, a target is out of range, or it cannot be reached even with
        every candidate; the message says what is possible (e.g. "the slots target needs at
        least 14 sites; 9 eligible parcels exist").
    InputDataError
        On mismatched sizes, negative values or bad rows.
    """
    t0 = time.perf_counter()
    a = as_csr(within, "within")
    w = check_demand(demand, a.shape[1])
    cand, fix = check_sites(a.shape[0], candidates, fixed)
    if coverage_share is None and slots_per_1000 is None:
        msg = "give a target: coverage_share (e.g. 0.5) and/or slots_per_1000 with residents"
        raise ConfigError(msg)
    cap = check_capacity(capacity, a.shape[0])
    total = float(w.sum())
    details: dict[str, Any] = {"fixed_sites": len(fix), "eligible_parcels": len(cand)}
    slot_need = None
    s_arr = None
    if slots_per_1000 is not None:
        rate = positive(slots_per_1000, "slots_per_1000")
        people = positive(residents, "residents") if residents is not None else None
        if people is None:
            msg = "slots_per_1000 needs residents (the population the rate applies to)"
            raise ConfigError(msg)
        s_arr = check_capacity(slots, a.shape[0], "slots")
        if s_arr is None:
            msg = "slots_per_1000 needs slots: the slots of every row (new and fixed)"
            raise ConfigError(msg)
        wanted = rate * people / 1000.0
        existing = float(s_arr[fix].sum())
        slot_need = max(wanted - existing, 0.0)
        details.update(
            slots_target=round(wanted, 2),
            slots_existing=round(existing, 2),
            slots_needed_new=round(slot_need, 2),
        )
        _check_slots_reachable(
            s_arr[cand], need=slot_need, wanted=wanted, existing=existing, rate=rate
        )
    cover_need = None
    if coverage_share is not None:
        share = positive(coverage_share, "coverage_share", upper=1.0)
        cover_need = share * total
        details["coverage_target"] = share
    inst = None
    coverage_model = None
    base = 0.0
    if cover_need is not None:
        if cap is None:
            fixed_hit = reached_by(a, fix)
            base = float(w[fixed_hit].sum())
            rest = np.where(fixed_hit, 0.0, w)
            inst = reduce_cover(a, rest, candidates=cand, drop_dominated=slot_need is None)
            best = base + float(inst.weight.sum())
            coverage_model = milp.cover_model(inst.matrix, inst.weight, k=None)
        else:
            inst = reduce_cover(a, w, candidates=cand, fixed=fix, drop_dominated=False)
            n_c = len(inst.rows) - len(fix)
            coverage_model = milp.capacitated_cover_model(
                inst.matrix, inst.weight, cap[inst.rows], n_cand=n_c, k=None
            )
            every = _capacitated_all_open(inst, cap, n_c)
            base, best = 0.0, every
        details["coverage_before"] = round(base / total, 6) if total else 0.0
        if best < cover_need - 1e-9 * max(1.0, total):
            reach = "served within capacity" if cap is not None else "covered"
            msg = (
                f"the coverage target {cover_need / total:.1%} cannot be reached: with all "
                f"{len(cand)} eligible parcel(s) opened (and {len(fix)} existing site(s)) "
                f"{best / total:.1%} of the demand is {reach}; lower the target or add "
                "candidate parcels near the demand no site reaches"
            )
            raise ConfigError(msg)
    n_c = len(cand) if inst is None else len(inst.rows) - len(fix)
    cand_rows = cand if inst is None else inst.rows[:n_c]
    model = milp.fewest_sites_model(
        coverage_model,
        n_cand=n_c,
        covered_target=None if cover_need is None else cover_need - base,
        slots=None if s_arr is None else s_arr[cand_rows],
        slots_target=slot_need,
    )
    out = milp.solve(model, time_limit=time_limit)
    details.update(milp_seconds=round(out.seconds, 4), milp_nodes=out.nodes)
    if not np.isfinite(out.objective):
        msg = f"HiGHS found no set of sites meeting the targets ({out.status})"
        raise ConfigError(msg)
    x = out.values[model.columns["x"]]
    chosen = cand_rows[x[:n_c] > 0.5]
    bound = math.ceil(out.bound - 1e-6)
    if cap is not None and inst is not None:
        sel = split_result(
            a, w, inst=inst, model=model, out=out, n_c=n_c, name="fewest_sites",
            details=details, t0=t0, maximise=False,
        )  # fmt: skip
        covered = float(sel.served.sum())
        sites = sel.sites
    else:
        fixed_hit = reached_by(a, fix)
        sel = cover_result(
            a, w, chosen=chosen, fix=fix, bound=float(bound), status=out.status,
            how="MILP (HiGHS)", model="fewest_sites", details=details, fixed_hit=fixed_hit,
            t0=t0,
        )  # fmt: skip
        covered = sel.objective
        sites = sel.sites
    got_slots = None if s_arr is None else float(s_arr[fix].sum() + s_arr[sites].sum())
    details.update(_target_report(cover_need, covered, total, got_slots, details))
    return Selection(
        model="fewest_sites",
        method="MILP (HiGHS)",
        status=out.status,
        sites=sites,
        objective=float(len(sites)),
        bound=float(bound),
        gap=relative_gap(float(len(sites)), float(bound)),
        served=sel.served,
        assigned=sel.assigned,
        site_served=sel.site_served,
        gains=sel.gains,
        details=details,
    )


def _check_slots_reachable(
    cand_slots: np.ndarray, *, need: float, wanted: float, existing: float, rate: float
) -> None:
    """Refuse a slots target no set of candidates reaches, saying what would."""
    have = float(cand_slots.sum())
    if need <= have + 1e-9:
        return
    top = float(cand_slots.max()) if len(cand_slots) else 0.0
    at_least = math.ceil(need / top) if top > 0 else None
    sites = (
        f"the target needs at least {at_least} sites of the largest size ({top:g} slots); "
        if at_least is not None
        else "no eligible parcel holds a class; "
    )
    msg = (
        f"the slots target cannot be reached: {rate:g} per 1,000 residents = {wanted:,.0f} "
        f"slots, {existing:,.0f} existing, so {need:,.0f} new slots are needed; {sites}"
        f"{len(cand_slots)} eligible parcel(s) exist and hold {have:,.0f} slots together"
    )
    raise ConfigError(msg)


def _capacitated_all_open(inst: Any, cap: np.ndarray, n_c: int) -> float:
    """Demand served within capacity when every candidate is open (an LP)."""
    model = milp.capacitated_cover_model(
        inst.matrix, inst.weight, cap[inst.rows], n_cand=n_c, k=None, strong=False
    )
    model.lower[:n_c] = 1.0
    out = milp.solve(model, relax=True)
    return float(out.objective)


def _target_report(
    cover_need: float | None,
    covered: float,
    total: float,
    got_slots: float | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cover_need is not None:
        share = covered / total if total else 0.0
        out["coverage_after"] = round(share, 6)
        out["coverage_margin"] = round(share - details["coverage_target"], 6)
        out["coverage_met"] = covered >= cover_need - 1e-9 * max(1.0, total)
    if got_slots is not None:
        out["slots_after"] = round(got_slots, 2)
        out["slots_margin"] = round(got_slots - details["slots_target"], 2)
        out["slots_met"] = got_slots >= details["slots_target"] - 1e-9
    return out
