"""Details of ``make --outcome`` (``npytrpo/oracle/outcome.py``) as its docstrings and
docs/oracle.md ("The conformance suite") state them (issue 17, mutation testing of
``npytrpo/oracle``): the fixed schedule of candidates in its documented order and bounds, the
``failed`` rerun with ``max_backtracks`` = j, the well-posedness filter, ``prepare``, what the
generator records, the error message, and ``outcome_of``.

The schedule is observed through stand-ins for ``make_case`` and ``run_case`` that record each
candidate and end its line search as the test says: no case is run.
"""

import pytest

from npytrpo.oracle import OracleData
from npytrpo.oracle import outcome as outcome_mod
from npytrpo.oracle.outcome import (
    DELTA_DECADES,
    OUTCOMES,
    SEED_TRIES,
    make_case_with_outcome,
    outcome_of,
)


def result(j, status="accepted", well_posed=True):
    return OracleData({"status": status, "well_posed": well_posed}, {"ls_accepted": j})


@pytest.fixture
def fake(monkeypatch):
    """Stand-ins: every candidate's arguments are recorded; ``ends`` maps a candidate's number
    (1-based, in drawing order) to its result, the rest accept at trial 0."""
    state = {"calls": [], "ends": {}, "ran": []}

    def make_case(**kw):
        state["calls"].append(kw)
        return OracleData({"generator": {"seed": kw["seed"]}, "n": len(state["calls"])}, {})

    def run_case(case):
        state["ran"].append(case)
        return state["ends"].get(case.spec["n"], result(0))

    monkeypatch.setattr(outcome_mod, "make_case", make_case)
    monkeypatch.setattr(outcome_mod, "run_case", run_case)
    return state


def test_the_schedule_walks_seeds_then_noises_then_decades_of_delta(fake):
    """backtrack and failed: seeds S.. S+SEED_TRIES−1, for each the θ noise asked for then 2 and
    3, for each δ, 10δ, … (DELTA_DECADES); when none ends as asked, a ValueError that says how
    many candidates were tried from where."""
    assert (SEED_TRIES, DELTA_DECADES, OUTCOMES) == (8, 7, ("first", "backtrack", "failed"))
    with pytest.raises(ValueError) as e:
        make_case_with_outcome("backtrack", seed=5, theta_noise=0.25, delta=0.02, policy="p")
    want = [(s, n, 0.02 * 10.0**k) for s in range(5, 13) for n in (0.25, 2.0, 3.0)
            for k in range(7)]  # fmt: skip
    got = [(c["seed"], c["theta_noise"], c["delta"]) for c in fake["calls"]]
    assert got == want and len(got) == 168
    assert all(c["policy"] == "p" and "max_backtracks" not in c for c in fake["calls"])
    assert str(e.value) == (
        "no well-posed case whose line search ends 'backtrack' among 168 candidates from seed 5, "
        "delta 0.02, theta_noise 0.25 (see npytrpo.oracle.outcome for the schedule); try another "
        "seed or other conventions"
    )


def test_a_noise_of_two_or_three_is_not_tried_twice(fake):
    """The θ noise asked for comes first; 2 and 3 follow unless it is one of them."""
    fake["ends"] = {k: result(-1, "line_search_failed") for k in range(1, 200)}
    with pytest.raises(ValueError, match="among 112 candidates from seed 0, delta 0.01"):
        make_case_with_outcome("backtrack", theta_noise=3.0)
    assert [c["theta_noise"] for c in fake["calls"][::7][:2]] == [3.0, 2.0]


@pytest.mark.parametrize("noise", [0.3, 2.0, 3.0])
def test_first_keeps_delta_and_the_noise_and_tries_three_times_as_many_seeds(fake, noise):
    """first: δ and the θ noise as asked, seeds S, S+1, … (3·SEED_TRIES of them, as the module
    docstring and docs/oracle.md say, also when the noise asked for is one of the schedule's
    own 2 and 3)."""
    fake["ends"] = {k: result(1) for k in range(1, 100)}
    with pytest.raises(ValueError, match="'first' among 24 candidates from seed 3,"):
        make_case_with_outcome("first", seed=3, delta=0.05, theta_noise=noise)
    got = [(c["seed"], c["theta_noise"], c["delta"]) for c in fake["calls"]]
    assert got == [(s, noise, 0.05) for s in range(3, 27)]


def test_the_first_well_posed_candidate_that_ends_as_asked_is_returned_and_recorded(fake):
    """Candidates that end otherwise, or as asked but ill-posed, are passed over; the case
    returned is the one run, and its generator records the outcome and the candidates tried."""
    fake["ends"] = {1: result(0), 2: result(2, well_posed=False), 3: result(-1, "other"),
                    4: result(3)}  # fmt: skip
    case, res = make_case_with_outcome("backtrack", seed=2)
    assert res is fake["ends"][4] and case is fake["ran"][-1] and case.spec["n"] == 4
    assert case.spec["generator"] == {"seed": 2, "outcome": "backtrack", "candidates_tried": 4}
    assert [c["delta"] for c in fake["calls"]] == [0.01, 0.1, 1.0, 10.0]


def test_failed_reruns_a_backtracking_candidate_with_max_backtracks_j(fake):
    """failed: a candidate that backtracked to trial j is drawn again with max_backtracks = j,
    the same seed, noise and δ; it is kept if every trial is then rejected."""
    fake["ends"] = {1: result(0), 2: result(3), 3: result(-1, "line_search_failed")}
    case, res = make_case_with_outcome("failed", seed=4, max_backtracks=10, damping=0.0)
    first, again = fake["calls"][1], fake["calls"][2]
    assert first["max_backtracks"] == 10 and again["max_backtracks"] == 3
    assert {k: v for k, v in again.items() if k != "max_backtracks"} == {
        k: v for k, v in first.items() if k != "max_backtracks"
    }  # fmt: skip
    assert res is fake["ends"][3] and case.spec["n"] == 3
    assert case.spec["generator"] == {"seed": 4, "outcome": "failed", "candidates_tried": 2}
    assert outcome_of(res) == "failed"


def test_failed_keeps_searching_when_the_rerun_does_not_fail(fake):
    """A rerun that still accepts a trial is passed over; a failed search met directly counts."""
    fake["ends"] = {1: result(2), 2: result(1), 3: result(-1, "line_search_failed")}
    case, _ = make_case_with_outcome("failed")
    assert case.spec["n"] == 3 and case.spec["generator"]["candidates_tried"] == 2
    assert fake["calls"][1]["max_backtracks"] == 2 and "max_backtracks" not in fake["calls"][2]


def test_prepare_is_applied_to_every_candidate_before_it_is_run(fake):
    """``prepare`` sees each drawn case (with its generator already filled in), ``failed``'s
    rerun with max_backtracks = j included, and what it returns is what is run and returned."""
    seen = []

    def prepare(case):
        seen.append(dict(case.spec["generator"]))
        return OracleData({**case.spec, "prepared": True}, case.arrays)

    fake["ends"] = {1: result(1), 2: result(0)}
    case, _ = make_case_with_outcome("first", prepare=prepare)
    assert seen == [{"seed": s, "outcome": "first", "candidates_tried": s + 1} for s in (0, 1)]
    assert all(c.spec.get("prepared") for c in fake["ran"]) and case.spec["prepared"]
    fake["ran"].clear()
    fake["ends"] = {3: result(2), 4: result(-1, "line_search_failed")}  # failed's rerun too
    case, _ = make_case_with_outcome("failed", prepare=prepare)
    assert len(fake["ran"]) == 2 and all(c.spec.get("prepared") for c in fake["ran"])
    assert case.spec["prepared"] and case.spec["n"] == 4


def test_outcome_of_reads_the_accepted_trial_and_the_status():
    """ls_accepted 0 is first, > 0 backtrack, −1 failed when the status says the line search
    failed and "other" when no search ran."""
    assert outcome_of(result(0)) == "first"
    assert outcome_of(result(1)) == "backtrack" and outcome_of(result(9)) == "backtrack"
    assert outcome_of(result(-1, "line_search_failed")) == "failed"
    assert outcome_of(result(-1, "zero_gradient")) == "other"
    assert outcome_of(OracleData({}, {"ls_accepted": -1})) == "other"


def test_an_unknown_outcome_is_refused_by_name(fake):
    with pytest.raises(ValueError) as e:
        make_case_with_outcome("sometimes")
    want = "outcome must be one of ['first', 'backtrack', 'failed'], got 'sometimes'"
    assert str(e.value) == want
    assert fake["calls"] == []
