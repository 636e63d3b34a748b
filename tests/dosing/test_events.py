"""Dose events: clock times on the trough grid, adherence draws, argument checks, and the events
fed to the kernel against the textbook steady-state trough."""

import math
import tomllib

import numpy as np
import pytest

from pksim.dosing.events import dose_events, scheduled_dose_times
from tests.dosing.regimens import events, load

# ----------------------------------------------------------------------------- dose times


@pytest.mark.parametrize(
    ("clock", "offsets", "clock_h"),
    [
        (["08:00", "20:00"], [0.0, 12.0], [8.0, 20.0]),
        (["07:30", "19:00"], [0.0, 11.5], [7.5, 19.0]),
        (["20:00", "08:00"], [0.0, 12.0], [20.0, 8.0]),  # evening first, wraps past midnight
        (["22:15"], [0.0], [22.25]),
    ],
)
def test_clock_times_give_dose_times(clock, offsets, clock_h):
    r = load(name="x", daily_dose_mg=3, dose_clock_times=clock)
    e = events(r, [60.0, 70.0], days=3)
    expected = np.concatenate([24.0 * d + np.array(offsets) for d in range(3)])
    np.testing.assert_array_equal(e.times, np.tile(expected, (2, 1)))
    np.testing.assert_array_equal(e.clock_h[0], np.tile(clock_h, 3))
    np.testing.assert_array_equal(e.day, np.repeat([1, 2, 3], len(clock)))
    np.testing.assert_array_equal(e.slot, np.tile(np.arange(len(clock)), 3))
    assert r.doses_per_day == len(clock)


def test_toml_local_times_are_accepted():
    table = tomllib.loads('name = "x"\ndaily_dose_mg = 3\ndose_clock_times = [07:00:00, 19:00:00]')
    assert load(**table).dose_clock_times == ("07:00", "19:00")


def test_doses_fall_on_the_trough_grid():
    """First dose of day d at 24 (d - 1) h: the trough at 24 d h is just before it."""
    e = events(load(name="x", daily_dose_mg=3, doses_per_day=2), [60.0], days=28)
    np.testing.assert_array_equal(e.times[0, ::2], 24.0 * np.arange(28))
    assert e.amounts.sum() == pytest.approx(28 * 3.0)


def test_scheduled_times_are_the_events_of_a_punctual_patient():
    """The nominal schedule (for plots) equals the dose times of anyone who takes every dose on
    time, whatever the weight."""
    r = load(name="x", mg_per_kg_per_day=0.05, dose_clock_times=["07:00", "21:30"])
    np.testing.assert_array_equal(
        scheduled_dose_times(r, 4), events(r, [45.0, 80.0], days=4).times[1]
    )


# ----------------------------------------------------------------------------- adherence


ADHERENCE_N = 4000
ADHERENCE_DAYS = 28


def test_missed_and_late_dose_rates():
    """Missed fraction and late-dose delays match their distributions.

    4000 subjects x 28 days x 2 doses = 224 000 independent slots. Missed: binomial with
    p = 0.15, SE = sqrt(p (1 - p) / N) = 0.00075; we allow 5 SE. Late: each taken dose late with
    p = 0.4 (SE 0.0012 over about 190 000 taken doses, 5 SE allowed), delay uniform on
    [0, 3) h: mean 1.5 h, SE = 3 / sqrt(12 x 76 000) = 0.0031 h, 5 SE allowed; and the
    Kolmogorov distance to the uniform cdf below 1.63 / sqrt(76 000) = 0.0059 (1 % level).
    """
    r = load(
        name="x",
        daily_dose_mg=3,
        doses_per_day=2,
        missed_dose_probability=0.15,
        late_dose_max_h=3,
        late_dose_probability=0.4,
    )
    e = events(r, np.full(ADHERENCE_N, 60.0), days=ADHERENCE_DAYS, seed=2026)
    missed = np.isnan(e.times)
    n_slots = missed.size
    assert abs(missed.mean() - 0.15) < 5 * math.sqrt(0.15 * 0.85 / n_slots)
    np.testing.assert_array_equal(e.amounts[missed], 0.0)
    assert np.all(np.isnan(e.clock_h[missed]))
    scheduled = np.tile(24.0 * (e.day - 1) + 12.0 * e.slot, (ADHERENCE_N, 1))
    delay = (e.times - scheduled)[~missed]
    late = delay[delay > 0]
    taken = delay.size
    assert abs(late.size / taken - 0.4) < 5 * math.sqrt(0.4 * 0.6 / taken)
    assert late.max() < 3.0
    assert abs(late.mean() - 1.5) < 5 * 3.0 / math.sqrt(12 * late.size)
    ecdf = np.arange(1, late.size + 1) / late.size
    assert np.max(np.abs(ecdf - np.sort(late) / 3.0)) < 1.63 / math.sqrt(late.size)
    clock = (8.0 + 12.0 * e.slot + (e.times - scheduled)) % 24.0
    np.testing.assert_allclose(e.clock_h[~missed], np.broadcast_to(clock, e.times.shape)[~missed])


def test_common_random_numbers_across_regimens():
    """Same patients, slot by slot: QD and BID share the morning slot; a higher miss
    probability misses a superset of doses."""
    w = np.full(500, 60.0)
    qd = events(
        load(
            name="qd",
            daily_dose_mg=3,
            doses_per_day=1,
            missed_dose_probability=0.2,
            late_dose_max_h=2,
        ),
        w,
        days=14,
    )
    bid = events(
        load(
            name="bid",
            daily_dose_mg=3,
            doses_per_day=2,
            missed_dose_probability=0.2,
            late_dose_max_h=2,
        ),
        w,
        days=14,
    )
    np.testing.assert_array_equal(qd.times, bid.times[:, ::2])
    worse = events(
        load(name="bid", daily_dose_mg=3, doses_per_day=2, missed_dose_probability=0.35), w, days=14
    )
    assert np.all(np.isnan(worse.times)[np.isnan(bid.times)])
    assert np.isnan(worse.times).sum() > np.isnan(bid.times).sum()


def test_adherence_does_not_depend_on_chunking():
    r = load(
        name="x",
        mg_per_kg_per_day=0.05,
        doses_per_day=2,
        round_to_mg=0.5,
        missed_dose_probability=0.1,
        late_dose_max_h=1.5,
    )
    w = np.random.default_rng(5).uniform(40, 90, 9000)
    whole = events(r, w, days=5, seed=99)
    pieces = [
        events(r, w[a:b], days=5, seed=99, start=a) for a, b in [(0, 3), (3, 4097), (4097, 9000)]
    ]
    for name in ("times", "amounts", "clock_h", "daily_dose_mg"):
        np.testing.assert_array_equal(
            getattr(whole, name), np.concatenate([getattr(p, name) for p in pieces])
        )
    other = events(r, w, days=5, seed=100)
    assert not np.array_equal(np.isnan(whole.times), np.isnan(other.times))


def test_events_are_read_only():
    e = events(load(name="x", daily_dose_mg=3, doses_per_day=2), [60.0])
    with pytest.raises(ValueError, match="read-only"):
        e.times[0, 0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_kg": [60.0, -5.0]}, r"weight_kg must be finite and > 0 kg; got -5.0 at index 1"),
        ({"weight_kg": [60.0, np.nan]}, "weight_kg must be finite and > 0 kg"),
        ({"weight_kg": [[60.0]]}, "weight_kg must be 1-D"),
        ({"days": 0}, "days must be a whole number >= 1, got 0"),
        ({"days": 2.0}, "days must be a whole number >= 1"),
        ({"start": -1}, "start must be a subject index >= 0"),
        ({"seed": -3}, "seed must be a non-negative integer"),
    ],
)
def test_bad_event_arguments_are_named(kwargs, message):
    r = load(name="x", daily_dose_mg=3, doses_per_day=2, missed_dose_probability=0.1)
    args = {"weight_kg": [60.0], "days": 2, "seed": 1, "start": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        dose_events(r, np.asarray(args.pop("weight_kg")), args.pop("days"), **args)


@pytest.mark.parametrize(("daily", "doses"), [(3.0, 1), (3.0, 2)])
def test_events_feed_the_kernel_to_the_analytic_steady_state_trough(daily, doses):
    """QD and BID dose events reach the textbook one-compartment steady-state trough
    C = (F D ka / (V (ka - k))) (e^{-k t} / (1 - e^{-k tau}) - e^{-ka t} / (1 - e^{-ka tau})),
    t = tau - tlag, sampled at 24 d h just before the morning dose (PK_REFERENCE 1.1 defaults:
    CL/F 14 L/h, V/F 700 L, ka 4.5 1/h, tlag 0.4 h). After 60 days (about 40 half-lives of
    35 h) the remaining gap is below 1e-9 relative."""
    from pksim import model

    cl, v, ka, tlag = 14.0, 700.0, 4.5, 0.4
    r = load(name="x", daily_dose_mg=daily, doses_per_day=doses)
    e = events(r, [60.0], days=60)
    trough = model.concentrations_general(
        [cl], [v], [ka], [tlag], [1.0], e.times, e.amounts, [24.0 * 60]
    )[0, 0]
    k, tau, dose = cl / v, 24.0 / doses, daily / doses
    t = tau - tlag
    expected = (
        1000
        * dose
        * ka
        / (v * (ka - k))
        * (
            math.exp(-k * t) / (1 - math.exp(-k * tau))
            - math.exp(-ka * t) / (1 - math.exp(-ka * tau))
        )
    )
    assert trough == pytest.approx(expected, rel=1e-9)
