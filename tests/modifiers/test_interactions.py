"""CYP3A co-medication catalogue and time courses (pksim.interactions).

Published numbers are typed here from their sources (PK_REFERENCE.md sections 1.3 and 4), and the
time-varying simulation is checked against ``solve_ivp`` integrating the *continuous* effect,
written out independently below from the first-order formulas in the module docstring.
"""

import math
import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from pksim.model import concentrations_general
from pksim.modifiers import interactions as ix

LN2 = math.log(2.0)
HEPATIC_T_HALF = 72.0  # h, Galetin 2006 mean hepatic CYP3A4 degradation half-life (3 d)

# Typical LN patient of PK_REFERENCE section 1.1 (CYP3A5 *3/*3, 60 kg).
CL, V, KA, TLAG = 14.0, 700.0, 4.5, 0.4


# ----------------------------------------------------------------------------- catalogue


CONSENSUS_NAMES = [
    # Chinese LN consensus (seed 000), section 2: raise levels / lower levels, with its spelling.
    "红霉素",  # erythromycin
    "阿奇霉素",  # azithromycin
    "伊曲康唑",  # itraconazole
    "甲硝唑",  # metronidazole
    "利福平",  # rifampicin
    "卡巴芬净",  # caspofungin as written in the consensus
]


@pytest.mark.parametrize(
    "name",
    [
        "erythromycin",
        "azithromycin",
        "itraconazole",
        "ketoconazole",
        "fluconazole_100mg",
        "fluconazole_200mg",
        "voriconazole",
        "posaconazole",
        "isavuconazole",
        "metronidazole",
        "diltiazem_low_dose",
        "diltiazem_high_dose",
        "verapamil",
        "nifedipine",
        "amlodipine",
        "rifampicin",
        "caspofungin",
        "clarithromycin",
        "nirmatrelvir_ritonavir",
        "wuzhi_capsule",
        "grapefruit_juice",
        "rifabutin",
        "carbamazepine",
        "phenytoin",
        "phenobarbital",
    ],
)
def test_every_required_drug_is_catalogued(name):
    """Drugs named in the consensus (DOMAIN.md) and listed in PK_REFERENCE section 1.3."""
    drug = ix.lookup_drug(name)
    assert drug.name == name
    assert drug.mechanism in ix.MECHANISMS
    assert name in ix.list_drugs()


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("伏立康唑", "voriconazole"),
        ("利福平", "rifampicin"),
        ("五酯胶囊", "wuzhi_capsule"),
        ("VORICONAZOLE", "voriconazole"),
        ("Rifampin", "rifampicin"),
        ("Grapefruit juice", "grapefruit_juice"),
        ("paxlovid", "nirmatrelvir_ritonavir"),
        ("氨氯地平", "amlodipine"),
    ],
)
def test_aliases_and_chinese_names(alias, name):
    assert ix.lookup_drug(alias).name == name


@pytest.mark.parametrize("alias", CONSENSUS_NAMES)
def test_consensus_chinese_names_resolve(alias):
    assert ix.lookup_drug(alias).named_in_consensus


def test_unknown_name_suggests_and_lists():
    with pytest.raises(ValueError, match=r"did you mean 'voriconazole'.*Valid names: .*rifampicin"):
        ix.lookup_drug("vorikonazole")


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("fluconazole", ["fluconazole_100mg", "fluconazole_200mg"]),
        ("diltiazem", ["diltiazem_low_dose", "diltiazem_high_dose"]),
        ("咪唑类抗真菌药", ["itraconazole", "posaconazole"]),
    ],
)
def test_group_names_list_their_members(name, members):
    with pytest.raises(ValueError, match="choose one of") as error:
        ix.lookup_drug(name)
    assert all(member in str(error.value) for member in members)


def test_corticosteroids_point_to_the_covariate():
    with pytest.raises(ValueError, match="prednisone_mg_per_day"):
        ix.lookup_drug("泼尼松")


def _data_sources(file_name):
    data = tomllib.loads(
        resources.files("pksim").joinpath("data", file_name).read_text(encoding="utf-8")
    )
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("source", "mechanism_source"):
                    found.extend([value] if isinstance(value, str) else value)
                else:
                    walk(value)

    walk(data)
    return found


@pytest.mark.parametrize("file_name", ["interactions.toml", "food.toml", "formulations.toml"])
def test_every_source_resolves_in_references(file_name):
    references = tomllib.loads(
        resources.files("pksim").joinpath("data", "references.toml").read_text(encoding="utf-8")
    )
    sources = _data_sources(file_name)
    assert sources
    missing = sorted(set(sources) - set(references))
    assert not missing
    assert all(references[key].get("citation") for key in sources)


def test_describe_drug_shows_effect_mechanism_and_citations():
    text = ix.describe_drug("伏立康唑")
    assert "Voriconazole" in text
    assert "reversible inhibition" in text
    assert "x3.2" in text
    assert "Vfend (voriconazole) prescribing information" in text
    assert "(missing" not in text
    genotype = ix.describe_drug("amlodipine")
    assert "CYP3A5 expressers" in genotype and "non-expressers" in genotype
    for name in ix.list_drugs():
        assert "(missing from references.toml)" not in ix.describe_drug(name)


# Published numbers (PK_REFERENCE section 4): (drug, expresser, CL multiplier, F multiplier).
PUBLISHED = [
    # Noxafil label Table 16 / Sansone-Parsons 2007: AUC x4.58, placed on CL/F.
    ("posaconazole", False, 1 / 4.58, 1.0),
    # Vfend label (drugs.com summary): AUC x3.2.
    ("voriconazole", False, 1 / 3.2, 1.0),
    # Prograf label 12.3: F 14 -> 7 %, CL 0.036 -> 0.053 L/h/kg.
    ("rifampicin", False, 0.053 / 0.036, 7 / 14),
    # Floren 1997: F 14 -> 30 %, CL/F -66 % -> systemic CL = 0.34 x F ratio.
    ("ketoconazole", False, 0.34 * 30 / 14, 30 / 14),
    # PMID 37924724: fitted CL x0.35, F x18.7.
    ("nirmatrelvir_ritonavir", True, 0.35, 18.7),
    # Zuo 2013 (amlodipine): CL/F / 2.2 in expressers, unchanged in non-expressers.
    ("amlodipine", True, 1 / 2.2, 1.0),
    ("amlodipine", False, 1.0, 1.0),
    # Susomboon 2022, day-7 AUC12/D: expressers 34.9 -> 43.6, non-expressers 49.4 -> 71.1.
    ("diltiazem_low_dose", True, 34.9 / 43.6, 1.0),
    ("diltiazem_low_dose", False, 49.4 / 71.1, 1.0),
    # Xin 2007: CL/F -49 %.
    ("wuzhi_capsule", False, 0.51, 1.0),
    # Manez 1994: median C0 x1.4 (100 mg/day) and x3.1 (200 mg/day).
    ("fluconazole_100mg", False, 1 / 1.4, 1.0),
    ("fluconazole_200mg", False, 1 / 3.1, 1.0),
    # J Antimicrob Chemother 2023 (PMID 37667501): C/D x1.44.
    ("isavuconazole", False, 1 / 1.44, 1.0),
    # Cancidas SmPC: 12-h concentration -26 %.
    ("caspofungin", False, 1 / 0.74, 1.0),
]


@pytest.mark.parametrize(("name", "expresser", "cl", "f"), PUBLISHED)
def test_catalogue_matches_published_effects(name, expresser, cl, f):
    effect = ix.lookup_drug(name).effect(expresser)
    assert effect.cl_multiplier == pytest.approx(cl, rel=2e-3)
    assert effect.f_multiplier == pytest.approx(f, rel=2e-3)


def test_directions_follow_mechanisms():
    """Inhibitors never raise CL or lower F; inducers the reverse (loader-enforced)."""
    for name in ix.list_drugs():
        drug = ix.lookup_drug(name)
        for flag in (False, True):
            effect = drug.effect(flag)
            if drug.mechanism in ("reversible_inhibition", "mechanism_based_inhibition"):
                assert effect.cl_multiplier <= 1 <= effect.f_multiplier
            elif drug.mechanism == "induction":
                assert effect.f_multiplier <= 1 <= effect.cl_multiplier


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
        ("voriconazole", 3.2),  # Vfend label
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
    drug = ix.lookup_drug(name)
    effect = drug.effect(expresser)
    kdeg = LN2 / HEPATIC_T_HALF
    if drug.mechanism == "reversible_inhibition":
        k_on = LN2 / drug.onset_half_life.value
        k_off = LN2 / drug.offset_half_life.value

        def mult(phi, m):  # competitive inhibition: 1/m = 1 + phi (1/m_ss - 1)
            return 1.0 / (1.0 + phi * (1.0 / m - 1.0))
    else:
        k_on = kdeg / min(1.0, effect.cl_multiplier) if "inhibition" in drug.mechanism else kdeg
        k_off = kdeg

        def mult(phi, m):  # enzyme turnover: m = 1 + phi (m_ss - 1)
            return 1.0 + phi * (m - 1.0)

    def cl_mult(t):
        return mult(_phi(t, start_h, stop_h, k_on, k_off), effect.cl_multiplier)

    def f_mult(t):
        return mult(_phi(t, start_h, stop_h, k_on, k_off), effect.f_multiplier)

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


def test_induction_half_effect_after_one_degradation_half_life():
    """Analytic first-order turnover: half the change after t1/2, same on the way back."""
    m_ss = ix.lookup_drug("rifampicin").effect(False).cl_multiplier
    course = ix.CoMedication("rifampicin", start_day=1, stop_day=40)
    times = np.array([HEPATIC_T_HALF, 2 * HEPATIC_T_HALF, course.stop_h, course.stop_h + 72.0])
    m = ix.cl_multiplier_at([course], times)[0]
    assert m[0] - 1 == pytest.approx(0.5 * (m_ss - 1), rel=1e-12)
    assert m[1] - 1 == pytest.approx(0.75 * (m_ss - 1), rel=1e-12)
    assert m[3] - 1 == pytest.approx(0.5 * (m[2] - 1), rel=1e-12)


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
    m_ss = ix.lookup_drug("diltiazem_high_dose").effect(False).cl_multiplier  # 0.5
    course = ix.CoMedication("diltiazem_high_dose", start_day=1, stop_day=30)
    onset = HEPATIC_T_HALF * m_ss
    m = ix.cl_multiplier_at([course], np.array([onset, course.stop_h, course.stop_h + 72]))[0]
    assert m[0] - 1 == pytest.approx(0.5 * (m_ss - 1), rel=1e-12)
    assert m[2] - 1 == pytest.approx(0.5 * (m[1] - 1), rel=1e-12)


def test_reversible_inhibition_follows_its_own_half_life():
    drug = ix.lookup_drug("voriconazole")
    m_ss = drug.effect(False).cl_multiplier
    course = ix.CoMedication("voriconazole", start_day=1, stop_day=10)
    t = np.array([drug.onset_half_life.value, course.stop_h + drug.offset_half_life.value])
    m = ix.cl_multiplier_at([course], t)[0]
    assert 1 / m[0] - 1 == pytest.approx(0.5 * (1 / m_ss - 1), rel=1e-12)
    reached = 1 / ix.cl_multiplier_at([course], np.array([course.stop_h]))[0, 0] - 1
    assert 1 / m[1] - 1 == pytest.approx(0.5 * reached, rel=1e-12)


def test_configurable_turnover_half_life():
    fast = ix.Cyp3aTurnover(hepatic_half_life_h=36.0, intestinal_half_life_h=23.0)
    m_ss = ix.lookup_drug("rifampicin").effect(False).cl_multiplier
    m = ix.cl_multiplier_at([ix.CoMedication("rifampicin")], np.array([36.0]), turnover=fast)
    assert m[0, 0] - 1 == pytest.approx(0.5 * (m_ss - 1), rel=1e-12)
    with pytest.raises(ValueError, match="hepatic_half_life_h"):
        ix.Cyp3aTurnover(hepatic_half_life_h=0.0, intestinal_half_life_h=23.0)


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
    np.testing.assert_allclose(ix.cl_multiplier_at(comeds, t)[0], expected, rtol=1e-12)
    grid = ix.cl_multiplier_grid(comeds, t_end=t[-1])
    on_grid = grid.multipliers[0, np.searchsorted(grid.change_times, t, side="right")]
    assert np.max(np.abs(np.log(on_grid / expected))) <= ix.DEFAULT_LOG_TOLERANCE


def test_repeated_courses_chain_without_stacking():
    comeds = [ix.CoMedication("posaconazole", 1, 5), ix.CoMedication("posaconazole", 7, 12)]
    m = ix.cl_multiplier_at(comeds, np.linspace(0, 30 * 24, 3001))[0]
    m_ss = ix.lookup_drug("posaconazole").effect(False).cl_multiplier
    assert np.all((m <= 1) & (m >= m_ss))
    with pytest.raises(ValueError, match="overlap"):
        ix.cl_multiplier_grid(
            [ix.CoMedication("posaconazole", 1, 8), ix.CoMedication("noxafil", 5)]
        )


def test_genotype_rows_only_when_needed():
    expresser = np.array([True, False, True])
    shared = ix.cl_multiplier_grid([ix.CoMedication("voriconazole", 2)], expresser)
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
        ix.cl_multiplier_grid(course, np.array([0, 1]))
    with pytest.raises(ValueError, match="t_end"):
        ix.cl_multiplier_grid(course, t_end=-1.0)


@settings(max_examples=60)
@given(
    name=st.sampled_from(ix.list_drugs()),
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
    direction = ix.lookup_drug(name).direction
    if direction == "inhibitor":
        assert np.all(with_drug >= without * (1 - 1e-12))
    elif direction == "inducer":
        assert np.all(with_drug <= without * (1 + 1e-12))
    else:
        assert direction == "neutral"
        np.testing.assert_allclose(with_drug, without, rtol=1e-12)
