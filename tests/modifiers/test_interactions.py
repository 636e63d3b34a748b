"""CYP3A co-medication time courses and clearance grids (pksim.modifiers.interactions).

The time-varying simulation is checked against ``solve_ivp`` integrating the *continuous*
effect, written out independently below from the first-order formulas in the module docstring;
the grid is checked against the same continuous multipliers within its log tolerance.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from pksim.library import drugs
from pksim.model import concentrations_general
from pksim.modifiers import courses as courses_module
from pksim.modifiers import interactions as ix

LN2 = math.log(2.0)
HEPATIC_T_HALF = 72.0  # h, Galetin 2006 mean hepatic CYP3A4 degradation half-life (3 d)
INTESTINAL_T_HALF = 23.0  # h, PK_REFERENCE section 1.3 intestinal CYP3A4 degradation half-life

# Typical LN patient of PK_REFERENCE section 1.1 (CYP3A5 *3/*3, 60 kg).
CL, V, KA, TLAG = 14.0, 700.0, 4.5, 0.4


# ----------------------------------------------------------------------------- simulation


def _simulate(
    comeds,
    *,
    days=28,
    expresser=False,
    doses_per_day=2,
    dose=1.5,
    cl=CL,
    v=V,
    ka=KA,
    samples=None,
    log_tolerance=ix.DEFAULT_LOG_TOLERANCE,
):
    tau = 24.0 / doses_per_day
    times = np.arange(0.0, days * 24.0, tau)[np.newaxis, :]
    samples = np.arange(1, days + 1) * 24.0 if samples is None else samples
    grid = ix.cl_multiplier_grid(
        comeds, expresser, log_tolerance=log_tolerance, t_end=float(np.max(samples))
    )
    out = concentrations_general(
        cl,
        v,
        ka,
        TLAG,
        1.0,
        times,
        np.full(times.shape, dose),
        samples,
        dose_f=ix.f_multipliers(comeds, times, expresser),
        cl_change_times=grid.change_times,
        cl_multipliers=grid.multipliers,
    )
    return out[0]


def _steady_state_auc(comeds, *, days=150, tau=12.0, dose=1.5):
    """AUC over the last dosing interval (Simpson on 4001 points), ng*h/mL."""
    t0 = (days - 1) * 24.0 + 12.0
    samples = np.linspace(t0, t0 + tau, 4001)
    conc = _simulate(comeds, days=days + 1, samples=samples, dose=dose)
    h = samples[1] - samples[0]
    return h / 3 * (conc[0] + conc[-1] + 4 * conc[1:-1:2].sum() + 2 * conc[2:-1:2].sum())


@pytest.mark.parametrize(
    ("name", "published_ratio"),
    [
        ("posaconazole", 4.58),  # Noxafil label Table 16
        ("voriconazole", 4.2093),  # Ann Pharmacother 2023, CYP3A5 non-expressers: +320.93 %
        ("rifampicin", (7 / 14) / (0.053 / 0.036)),  # Prograf label 12.3: about x0.34
        ("ketoconazole", 30 / 14 / (0.34 * 30 / 14)),  # Floren 1997: CL/F -66 %
    ],
)
def test_constant_comedication_steady_state_auc_ratio(name, published_ratio):
    """Steady-state AUC_tau = F D / CL, so the ratio is the catalogue's (exact in the model)."""
    base = _steady_state_auc([])
    with_drug = _steady_state_auc([ix.CoMedication(name, start_day=-math.inf)])
    assert base == pytest.approx(1000 * 1.5 / CL, rel=1e-6)
    assert with_drug / base == pytest.approx(published_ratio, rel=2e-3)


def _phi(t, start, stop, k_on, k_off):
    """Fraction of full effect: first-order on while taken, first-order off afterwards."""
    if t < start:
        return 0.0
    if t < stop:
        return 1.0 - math.exp(-k_on * (t - start))
    reached = 1.0 - math.exp(-k_on * (stop - start))
    return reached * math.exp(-k_off * (t - stop))


def _reference_multipliers(name, expresser, start_h, stop_h):
    """Independent continuous CL(t) and F(t) multipliers for one course of one drug."""
    drug = drugs.lookup_drug(name)
    effect = drug.effect(expresser)
    kdeg = LN2 / HEPATIC_T_HALF
    if drug.mechanism == "reversible_inhibition":
        k_on = LN2 / drug.onset_half_life.value
        k_off = LN2 / drug.offset_half_life.value

        def mult(phi, m):  # competitive inhibition: 1/m = 1 + phi (1/m_ss - 1)
            return 1.0 / (1.0 + phi * (1.0 / m - 1.0))
    else:
        # Turnover model: onset at kdeg / E_ss, E_ss = the cited residual CYP3A activity (the
        # CL multiplier stands in without one).
        residual = (
            drug.residual_activity.value
            if drug.residual_activity is not None
            else min(1.0, effect.cl_multiplier)
        )
        k_on = kdeg / residual if "inhibition" in drug.mechanism else kdeg
        k_off = kdeg

        def mult(phi, m):  # enzyme turnover: m = 1 + phi (m_ss - 1)
            return 1.0 + phi * (m - 1.0)

    # The F effect of an entry with f_turnover = "intestinal" (ritonavir) follows gut-wall
    # CYP3A (t1/2 23 h): onset and offset scale with that pool's kdeg.
    f_scale = HEPATIC_T_HALF / INTESTINAL_T_HALF if drug.f_turnover == "intestinal" else 1.0
    if drug.mechanism == "reversible_inhibition":
        f_scale = 1.0

    def cl_mult(t):
        return mult(_phi(t, start_h, stop_h, k_on, k_off), effect.cl_multiplier)

    def f_mult(t):
        phi = _phi(t, start_h, stop_h, k_on * f_scale, k_off * f_scale)
        return mult(phi, effect.f_multiplier)

    return cl_mult, f_mult


def _ode_troughs(name, expresser, start_h, stop_h, days, tau=12.0, dose=1.5):
    """solve_ivp (DOP853, rtol 1e-10) with the continuous CL(t); one gut for all doses.

    Returns the troughs at 24 d and the running maximum of the concentration (sampled every
    0.1 h) up to each trough time."""
    cl_mult, f_mult = _reference_multipliers(name, expresser, start_h, stop_h)
    dose_times = np.arange(0.0, days * 24.0, tau)
    end = days * 24.0
    events = sorted({*(dose_times + TLAG), start_h, stop_h, end} - {math.inf})
    events = [e for e in events if 0 < e <= end]
    dense = np.round(np.arange(0.1, end + 0.05, 0.1), 10)
    y = np.zeros(2)  # gut, central
    t_now = 0.0
    conc = np.zeros(dense.size)

    def rhs(t, state):
        return [-KA * state[0], KA * state[0] - CL * cl_mult(t) / V * state[1]]

    for event in events:
        if event > t_now:
            inside = (dense > t_now) & (dense <= event)
            solution = solve_ivp(
                rhs,
                (t_now, event),
                y,
                method="DOP853",
                rtol=1e-10,
                atol=1e-14,
                t_eval=dense[inside],
            )
            conc[inside] = solution.y[1] / V * 1000.0
            y = solve_ivp(rhs, (t_now, event), y, method="DOP853", rtol=1e-10, atol=1e-14).y[:, -1]
            t_now = event
        for td in dose_times:
            if abs(td + TLAG - event) < 1e-9:
                y[0] += dose * f_mult(td)
    trough_index = np.searchsorted(dense, np.arange(1, days + 1) * 24.0)
    return conc[trough_index], np.maximum.accumulate(conc)[trough_index]


@pytest.mark.parametrize(
    ("name", "expresser", "start_day", "stop_day"),
    [
        ("voriconazole", False, 15, 22),  # reversible, the example
        ("rifampicin", False, 3, 12),  # induction, CL and F
        ("diltiazem_low_dose", True, 2, None),  # mechanism-based, genotype-specific
        ("nirmatrelvir_ritonavir", False, 8, 12),  # mechanism-based, large F effect
    ],
)
def test_time_course_matches_continuous_ode(name, expresser, start_day, stop_day):
    """Grid error bound: |C - C_ref| <= (exp(delta) - 1) * running max of C_ref."""
    days = 24
    course = ix.CoMedication(name, start_day, stop_day)
    reference, peaks = _ode_troughs(name, expresser, course.start_h, course.stop_h, days)
    for delta in (ix.DEFAULT_LOG_TOLERANCE, 0.2):
        result = _simulate([course], days=days, expresser=expresser, log_tolerance=delta)
        bound = math.expm1(delta) * peaks + 1e-7 * reference
        assert np.all(np.abs(result - reference) <= bound)
    # The default grid is far inside its bound on troughs (time-averaged segments).
    result = _simulate([course], days=days, expresser=expresser)
    assert np.max(np.abs(result / reference - 1)) < 0.25 * math.expm1(ix.DEFAULT_LOG_TOLERANCE)


FINE = 1e-5
"""Log tolerance of a grid read as the continuous multiplier: |log grid(t) - log m(t)| <= FINE."""


def _on_fine_grid(courses, times, **kwargs):
    """CL multiplier at ``times`` (h) read off a grid of log tolerance :data:`FINE` (row 0)."""
    times = np.asarray(times, dtype=float)
    grid = ix.cl_multiplier_grid(courses, log_tolerance=FINE, t_end=times.max() + 1.0, **kwargs)
    return grid.multipliers[0, np.searchsorted(grid.change_times, times, side="right")]


def _assert_log_close(got, expected):
    assert np.all(np.abs(np.log(got) - np.log(expected)) <= FINE * (1 + 1e-9)), (got, expected)


def test_induction_half_effect_after_one_degradation_half_life():
    """Analytic first-order turnover: half the change after t1/2, same on the way back."""
    m_ss = drugs.lookup_drug("rifampicin").effect(False).cl_multiplier
    course = ix.CoMedication("rifampicin", start_day=1, stop_day=40)
    times = [HEPATIC_T_HALF, 2 * HEPATIC_T_HALF, course.stop_h, course.stop_h + 72.0]
    reached = 1 - 2 ** (-course.stop_h / HEPATIC_T_HALF)  # fraction of the effect at the stop
    expected = 1 + np.array([0.5, 0.75, reached, 0.5 * reached]) * (m_ss - 1)
    _assert_log_close(_on_fine_grid([course], times), expected)


def test_induction_trough_falls_then_recovers_between_the_steady_states():
    days = 60
    course = ix.CoMedication("rifampicin", start_day=1, stop_day=30)
    troughs = _simulate([course], days=days)
    free = _simulate([], days=days)
    on = troughs[:30]
    off = troughs[30:]
    assert np.all(np.diff(on[5:]) <= 1e-12)  # falling towards the induced steady state
    assert np.all(np.diff(off) >= -1e-12)  # recovering
    assert np.all(troughs <= free * (1 + 1e-12))
    # By day 30 the trough is the fully induced one: over days 25-30 (the tacrolimus memory)
    # at most 2**-(25 * 24 / 72) of the induction is missing, on F and on CL.
    induced = _simulate([ix.CoMedication("rifampicin", start_day=-math.inf)], days=days)
    assert troughs[29] == pytest.approx(induced[29], rel=2 * 2 ** (-25 * 24 / HEPATIC_T_HALF))
    assert troughs[29] > induced[29]


def test_mechanism_based_onset_and_offset_half_lives():
    """Turnover model: offset at kdeg; inactivation speeds the onset to kdeg / E_ss."""
    m_ss = drugs.lookup_drug("diltiazem_high_dose").effect(False).cl_multiplier  # 0.5
    course = ix.CoMedication("diltiazem_high_dose", start_day=1, stop_day=30)
    onset = HEPATIC_T_HALF * m_ss
    reached = 1 - 2 ** (-course.stop_h / onset)
    expected = 1 + np.array([0.5, reached, 0.5 * reached]) * (m_ss - 1)
    _assert_log_close(_on_fine_grid([course], [onset, course.stop_h, course.stop_h + 72]), expected)


def test_reversible_inhibition_follows_its_own_half_life():
    """Competitive inhibition: 1/m - 1 is proportional to the inhibitor's accumulation."""
    drug = drugs.lookup_drug("voriconazole")
    m_ss = drug.effect(False).cl_multiplier
    on, off = drug.onset_half_life.value, drug.offset_half_life.value
    course = ix.CoMedication("voriconazole", start_day=1, stop_day=10)
    reached = 1 - 2 ** (-course.stop_h / on)
    phi = np.array([0.5, reached, 0.5 * reached])
    expected = 1 / (1 + phi * (1 / m_ss - 1))
    got = _on_fine_grid([course], [on, course.stop_h, course.stop_h + off])
    _assert_log_close(got, expected)


def test_configurable_turnover_half_life():
    fast = drugs.Cyp3aTurnover(hepatic_half_life_h=36.0, intestinal_half_life_h=23.0)
    m_ss = drugs.lookup_drug("rifampicin").effect(False).cl_multiplier
    m = _on_fine_grid([ix.CoMedication("rifampicin")], [36.0], turnover=fast)
    _assert_log_close(m, 1 + 0.5 * (m_ss - 1))
    with pytest.raises(ValueError, match="hepatic_half_life_h"):
        drugs.Cyp3aTurnover(hepatic_half_life_h=0.0, intestinal_half_life_h=23.0)


def test_immediate_effect_switches_exactly():
    course = ix.CoMedication("caspofungin", start_day=3, stop_day=5)
    grid = ix.cl_multiplier_grid([course])
    np.testing.assert_array_equal(grid.change_times, [48.0, 120.0])
    np.testing.assert_allclose(grid.multipliers, [[1.0, 1 / 0.74, 1.0]], rtol=1e-15)


def test_two_comedications_multiply_and_grid_bound_holds():
    comeds = [ix.CoMedication("voriconazole", 5, 12), ix.CoMedication("rifampicin", 8, 20)]
    vori = _reference_multipliers("voriconazole", False, comeds[0].start_h, comeds[0].stop_h)[0]
    rif = _reference_multipliers("rifampicin", False, comeds[1].start_h, comeds[1].stop_h)[0]
    t = np.linspace(0.0, 30 * 24.0, 20001)
    expected = np.array([vori(x) * rif(x) for x in t])
    _assert_log_close(_on_fine_grid(comeds, t), expected)
    grid = ix.cl_multiplier_grid(comeds, t_end=t[-1])
    on_grid = grid.multipliers[0, np.searchsorted(grid.change_times, t, side="right")]
    assert np.max(np.abs(np.log(on_grid / expected))) <= ix.DEFAULT_LOG_TOLERANCE


def test_repeated_courses_chain_without_stacking():
    comeds = [ix.CoMedication("posaconazole", 1, 5), ix.CoMedication("posaconazole", 7, 12)]
    m = _on_fine_grid(comeds, np.linspace(0, 30 * 24, 3001))
    m_ss = drugs.lookup_drug("posaconazole").effect(False).cl_multiplier
    assert np.all((m <= 1) & (m >= m_ss))
    # The second course starts from the effect left by the first (no stacking, no reset).
    on = drugs.lookup_drug("posaconazole").onset_half_life.value
    off = drugs.lookup_drug("posaconazole").offset_half_life.value
    left = (1 - 2 ** (-5 * 24 / on)) * 2 ** (-24 / off)  # at the second start, day 7 (144 h)
    phi = 1 - (1 - left) * 2 ** (-24 / on)  # one day into the second course
    _assert_log_close(_on_fine_grid(comeds, [168.0]), 1 / (1 + phi * (1 / m_ss - 1)))
    with pytest.raises(ValueError, match="overlap"):
        ix.cl_multiplier_grid(
            [ix.CoMedication("posaconazole", 1, 8), ix.CoMedication("noxafil", 5)]
        )


def test_genotype_rows_only_when_needed():
    expresser = np.array([True, False, True])
    shared = ix.cl_multiplier_grid([ix.CoMedication("posaconazole", 2)], expresser)
    assert shared.multipliers.shape[0] == 1
    split = ix.cl_multiplier_grid([ix.CoMedication("amlodipine", -math.inf)], expresser)
    np.testing.assert_allclose(split.multipliers[:, 0], [1 / 2.2, 1.0, 1 / 2.2], rtol=1e-12)
    dose_f = ix.f_multipliers([ix.CoMedication("rifampicin", 1)], np.array([[0.0, np.nan]]))
    assert dose_f[0, 1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drug": "voriconazole", "start_day": 5, "stop_day": 3}, "stop_day"),
        ({"drug": "voriconazole", "start_day": math.nan}, "start_day"),
        ({"drug": "voriconazole", "start_day": 1, "stop_day": math.inf}, "stop_day"),
        ({"drug": "vorconazole"}, "did you mean"),
    ],
)
def test_bad_comedication_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ix.CoMedication(**kwargs)


def test_bad_grid_input():
    course = [ix.CoMedication("voriconazole")]
    with pytest.raises(ValueError, match="log_tolerance"):
        ix.cl_multiplier_grid(course, log_tolerance=0.0)
    with pytest.raises(ValueError, match="expresser"):
        ix.cl_multiplier_grid(course, np.array([0.0, 1.0]))
    ppi = [ix.CoMedication("lansoprazole")]
    with pytest.raises(ValueError, match="genotype classes"):
        ix.cl_multiplier_grid(ppi, np.array([False, True]))
    with pytest.raises(ValueError, match="known CYP2C19 status"):
        ix.cl_multiplier_grid(ppi, np.array([0, -1]))
    with pytest.raises(ValueError, match="t_end"):
        ix.cl_multiplier_grid(course, t_end=-1.0)


@settings(max_examples=60)
@given(
    name=st.sampled_from(drugs.list_drugs()),
    start_day=st.floats(-5, 20),
    length=st.one_of(st.none(), st.floats(0, 10)),
    expresser=st.booleans(),
    cl=st.floats(5, 40),
    v=st.floats(200, 1500),
    ka=st.floats(0.3, 6),
)
def test_inhibitors_never_lower_and_inducers_never_raise_a_trough(
    name, start_day, length, expresser, cl, v, ka
):
    course = ix.CoMedication(name, start_day, None if length is None else start_day + length)
    with_drug = _simulate([course], days=21, expresser=expresser, cl=cl, v=v, ka=ka)
    without = _simulate([], days=21, cl=cl, v=v, ka=ka)
    direction = drugs.lookup_drug(name).direction
    if direction == "inhibitor":
        assert np.all(with_drug >= without * (1 - 1e-12))
    elif direction == "inducer":
        assert np.all(with_drug <= without * (1 + 1e-12))
    else:
        assert direction == "neutral"
        np.testing.assert_allclose(with_drug, without, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_day": -math.inf, "stop_day": -1e300}, r"stop_day: must be a number of days from"),
        ({"start_day": -1e300}, r"start_day: must be a number of days from -3650 to 3650"),
        ({"start_day": 1, "stop_day": 1e300}, r"stop_day: .* got 1e\+300"),
        ({"start_day": 10**400}, r"start_day: .* got an integer of 1,329 bits"),
        ({"start_day": True}, r"start_day: .* got True"),
    ],
)
def test_course_days_must_be_plausible(kwargs, message):
    """Days beyond ten years of the first dose were accepted (-inf to -1e300 ran silently)."""
    with pytest.raises(ValueError, match=message):
        ix.CoMedication("rifampicin", **kwargs)


def test_a_course_may_end_before_day_1_its_effect_wearing_off():
    """Rifampicin stopped 5 days before tacrolimus still induces on day 1 (kept on purpose)."""
    course = ix.CoMedication("rifampicin", start_day=-30, stop_day=-5)
    grid = ix.cl_multiplier_grid([course], t_end=240.0)
    # 25 days on (624 h), then 120 h of CYP3A re-synthesis (half-life 72 h) before t = 0
    phi = (1 - 2 ** (-624 / 72)) * 2 ** (-120 / 72)
    expected = 1 + phi * (drugs.lookup_drug("rifampicin").effect(False).cl_multiplier - 1)
    assert expected > 1.1
    assert abs(math.log(grid.multipliers[0, 0] / expected)) <= ix.DEFAULT_LOG_TOLERANCE
    assert course.days == "days -30 to -5"


def test_overlapping_courses_are_every_pair_named_with_their_days():
    courses = [
        ix.CoMedication("voriconazole", 1, 30),
        ix.CoMedication("rifampicin", 1),
        ix.CoMedication("vfend", 5, 10),  # inside the first
        ix.CoMedication("voriconazole", 20, 25),  # also inside the first, not next to it
        ix.CoMedication("voriconazole", 31),  # after: fine
    ]
    assert courses_module.overlapping_courses(courses) == [(0, 2), (0, 3)]
    with pytest.raises(ValueError) as caught:
        ix.cl_multiplier_grid(courses)
    message = str(caught.value)
    assert "None" not in message
    assert message == (
        "co-medications: voriconazole days 5 to 10 overlaps another course (days 1 to 30); "
        "courses of the same drug must not overlap: merge them into one course, or start the "
        "later one after the earlier one stops"
    )
    open_ended = [ix.CoMedication("voriconazole", 1), ix.CoMedication("voriconazole", 3, 4)]
    with pytest.raises(ValueError, match=r"overlaps another course \(from day 1 to the end\)"):
        ix.f_multipliers(open_ended, [0.0])
