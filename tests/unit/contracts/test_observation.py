"""What a self-checking reproduction compares (contracts/reporting/observation.py), and that the script carries
the very code the reporter judged with. The end-to-end half (a run's reproduction exits 1 against its variant
and 0 against the emulator) is in test_runner.py and `mutants --check-reproductions` (test_mutants.py)."""

from __future__ import annotations

import datetime

from contracts.calls import Call, Outcome
from contracts.engine.targets import Reproduction
from contracts.reporting import observation
from contracts.reporting.failures import Step, against_the_emulator, expected_observations, observation_source, \
    reproduction

PAYER = "123456789012"
ARN = f"arn:aws:invoicing::{PAYER}:invoice-unit/aaaa1111"
OTHER = f"arn:aws:invoicing::{PAYER}:invoice-unit/bbbb2222"
CREATE = {"Name": "unit-a", "InvoiceReceiver": PAYER, "Rule": {}, "ClientToken": "tok-1"}


def observe_all(*steps: tuple[dict, tuple]) -> list:
    seen: dict = {}
    return [observation.observe(seen, n, params, answer) for n, (params, answer) in enumerate(steps, 1)]


def test_a_replay_answering_its_creates_arn_differs_from_one_answering_a_fresh_arn():
    """Identifiers differ from run to run, so they compare by what they equal (basis: replay equivalence,
    docs/idempotency.md property 1, is about the same ARN, not a particular one)."""
    honest = observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})), (CREATE, ("ok", {"InvoiceUnitArn": ARN})))
    fresh = observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})), (CREATE, ("ok", {"InvoiceUnitArn": OTHER})))
    assert honest[1] == ["ok", {"InvoiceUnitArn": "=s1.InvoiceUnitArn"}]
    assert fresh[1] == ["ok", {"InvoiceUnitArn": "<new>"}]
    # Another run's ARNs observe alike: the replay of a run still matches.
    rerun = observe_all((CREATE, ("ok", {"InvoiceUnitArn": OTHER})), (CREATE, ("ok", {"InvoiceUnitArn": OTHER})))
    assert rerun == honest


def test_stored_values_compare_by_where_they_came_from_constants_and_numbers_as_they_are():
    get = {"InvoiceUnitArn": ARN}
    unit = {"InvoiceUnitArn": ARN, "Name": "unit-a", "LastModified": datetime.datetime(2026, 1, 1,
                                                                                       tzinfo=datetime.timezone.utc)}
    right = observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})), (get, ("ok", unit)))[1]
    cut = observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})), (get, ("ok", {**unit, "Name": "unit-"})))[1]
    assert right[1]["Name"] == "=s1.request.Name" and cut[1]["Name"] == "<new>"
    assert right[1]["LastModified"] == "<time>"  # times never compare: two changes may share one by chance
    status = observe_all(({}, ("ok", {"Status": "TEST_INITIALIZATION_", "Version": 3})))[0]
    assert status == ["ok", {"Status": "TEST_INITIALIZATION_", "Version": 3}]
    refused = observe_all((CREATE, ("error", "ValidationException", "duplicateInvoiceUnit")))[0]
    assert refused == ["error", "ValidationException", "duplicateInvoiceUnit"]


def test_listed_resources_the_steps_never_touched_are_left_out_but_a_duplicate_they_made_is_kept():
    """The failing run may list what earlier examples left behind (the script does not rebuild it); a unit made
    twice by the steps is tied to them by its name even if its ARN was never answered (a lost response)."""
    leftover = {"InvoiceUnitArn": OTHER, "Name": "earlier", "InvoiceReceiver": PAYER}
    lost = {"InvoiceUnitArn": f"arn:aws:invoicing::{PAYER}:invoice-unit/cccc3333", "Name": "unit-a",
            "InvoiceReceiver": PAYER}
    mine = {"InvoiceUnitArn": ARN, "Name": "unit-a", "InvoiceReceiver": PAYER}
    listed = observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})),
                         ({}, ("ok", {"InvoiceUnits": [leftover, lost, mine]})))[1][1]["InvoiceUnits"]
    assert [item["InvoiceUnitArn"] for item in listed] == ["<new>", "=s1.InvoiceUnitArn"]
    assert all(item["Name"] == "=s1.request.Name" for item in listed)
    # Without the leftover the same steps observe the same: the run with leftovers is reproduced without them.
    assert observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})), ({}, ("ok", {"InvoiceUnits": [lost, mine]}))) \
        == observe_all((CREATE, ("ok", {"InvoiceUnitArn": ARN})),
                       ({}, ("ok", {"InvoiceUnits": [leftover, lost, mine]})))


def test_a_concurrent_batch_compares_kinds_of_answer_and_distinct_results():
    one = observation.observe_batch({}, 1, [("ok", {"Arn": ARN}), ("error", "ConflictException", None)], "Arn")
    two = observation.observe_batch({}, 1, [("ok", {"Arn": ARN}), ("ok", {"Arn": OTHER})], "Arn")
    assert one == {"answers": ["error ConflictException", "ok"], "distinct results": 1}
    assert two == {"answers": ["ok"], "distinct results": 2}


def test_the_verdict_is_1_when_every_step_matches_and_0_at_the_first_that_differs(capsys):
    assert observation.verdict([(1, ["ok", {}], ["ok", {}])], "one ARN", "two ARNs") == 1
    assert "FAULT PRESENT" in capsys.readouterr().out
    assert observation.verdict([(1, ["ok", {}], ["ok", {}]), (2, ["ok", 1], ["ok", 2])], "", "") == 0
    assert "NOT REPRODUCED: step 2" in capsys.readouterr().out


def test_the_script_carries_the_reporters_own_comparison_and_masks_secrets():
    source = "\n".join(observation_source())
    namespace: dict = {}
    exec(compile(source, "observation", "exec"), namespace)  # standard library only
    assert namespace["observe"]({}, 1, CREATE, ("ok", {"InvoiceUnitArn": ARN})) == \
        observation.observe({}, 1, CREATE, ("ok", {"InvoiceUnitArn": ARN}))
    secret = "s3cr3t-value-1234"
    put = {"ProcurementPortalPreferenceArn": ARN, "ProcurementPortalSharedSecret": secret}
    call = Call("PutProcurementPortalPreference", put,
                Outcome(sent=True, status=200, response={"ProcurementPortalSharedSecret": secret}))
    masks: dict = {}
    step = Step.of(call, masks)
    assert secret not in repr(step.answer) and step.answer[1]["ProcurementPortalSharedSecret"] == masks[secret]
    assert expected_observations([step])[0] == ["ok", {"ProcurementPortalSharedSecret":
                                                       "=s1.request.ProcurementPortalSharedSecret"}]
    script = reproduction([step], Reproduction(kind="mock", backend="invoicing_mock.mutants:TokenIgnored"))
    assert secret not in script and "def observe(" in script and script.rstrip().endswith("'', ''))")
    compile(script, "repro.py", "exec")
    correct = against_the_emulator(script)
    assert "TokenIgnored" not in correct and "import InvoicingBackend as backend_factory" in correct


def test_a_verify_that_succeeded_sends_the_code_pending_in_the_replay():
    """The emulator derives a validation code from the preference's ARN, which the replay makes anew: a Verify the
    run answered with success sends the code pending now (a refused one keeps its literal, wrong, code)."""
    pref = f"arn:aws:invoicing::{PAYER}:procurement-portal-preference/abc"
    calls = [Call("CreateProcurementPortalPreference", {"ClientToken": "c"},
                  Outcome(sent=True, status=200, response={"ProcurementPortalPreferenceArn": pref})),
             Call("VerifyProcurementPortalValidation", {"ProcurementPortalPreferenceArn": pref, "Code": "AB12CD34"},
                  Outcome(sent=True, status=200, response={"ProcurementPortalPreferenceArn": pref})),
             Call("VerifyProcurementPortalValidation", {"ProcurementPortalPreferenceArn": pref, "Code": "WRONG"},
                  Outcome(sent=True, status=400, error_code="ValidationException"))]
    masks: dict = {}
    script = reproduction([Step.of(c, masks) for c in calls], Reproduction(kind="mock"))
    assert (f"'Code': mock.backend.pending_validation_code('{PAYER}', r1.get('ProcurementPortalPreferenceArn', "
            f"'{pref}')) or 'AB12CD34'") in script
    assert "'Code': 'WRONG'" in script
    compile(script, "repro.py", "exec")


def test_sensitive_members_compare_by_equality_only():
    """The failing run records placeholders for what the model marks sensitive, a replay sees the values
    themselves: where such a string first appears it reads `<sensitive>` (not `<new>`, not a constant kept as it
    is), and where it appeared before it reads where, as any string does."""
    hidden = frozenset({"TaxRegistrationNumber", "ProcurementPortalSharedSecret"})
    asked = {"AccountIds": [PAYER]}
    recorded = ("ok", {"Profiles": [{"AccountId": PAYER, "TaxRegistrationNumber": "abc-masked"}]})
    replayed = ("ok", {"Profiles": [{"AccountId": PAYER, "TaxRegistrationNumber": "TRN137766095"}]})
    assert observation.observe({}, 1, asked, recorded, hidden) == observation.observe({}, 1, asked, replayed, hidden)
    assert observation.observe({}, 1, asked, replayed, hidden)[1]["Profiles"][0]["TaxRegistrationNumber"] == \
        "<sensitive>"
    # Without the model's word the two differ: the replay's value looks like a constant (what made the script of
    # BatchProfileDropsLast say "not reproduced" against its own variant).
    assert observation.observe({}, 1, asked, recorded) != observation.observe({}, 1, asked, replayed)
    put = {"ProcurementPortalSharedSecret": "pp-secret"}
    seen: dict = {}
    observation.observe(seen, 1, put, ("ok", {}), hidden)
    read = observation.observe(seen, 2, {}, ("ok", {"ProcurementPortalSharedSecret": "pp-secret"}), hidden)
    assert read == ["ok", {"ProcurementPortalSharedSecret": "=s1.request.ProcurementPortalSharedSecret"}]


def test_a_time_near_the_times_earlier_steps_answered_is_sent_relative_to_them():
    """An AsOf read off two versions' LastModified is sent, in the replay, between the replay's two versions (at
    the same fraction), one before the first is sent as long before the replay's first; a time far from every
    answered time (a drawn date) stays as it is."""
    utc = datetime.timezone.utc
    first, second = (datetime.datetime(2026, 12, 6, 7, 0, s, tzinfo=utc) for s in (0, 2))
    read = {"InvoiceUnitArn": ARN}

    def get(params, at):
        return Call("GetInvoiceUnit", params, Outcome(sent=True, status=200,
                                                      response={"InvoiceUnitArn": ARN, "LastModified": at}))

    calls = [get(read, first), get(read, second),
             get({**read, "AsOf": first + datetime.timedelta(seconds=1)}, second),
             get({**read, "AsOf": first - datetime.timedelta(seconds=1.5)}, second),
             get({**read, "AsOf": datetime.datetime(2001, 1, 1, tzinfo=utc)}, second)]
    masks: dict = {}
    script = reproduction([Step.of(c, masks) for c in calls], Reproduction(kind="mock"))
    r1, r2 = f"r1.get('LastModified', {first!r})", f"r2.get('LastModified', {second!r})"
    assert f"'AsOf': ({r1} + ({r2} - {r1}) * 0.500000)" in script
    assert f"'AsOf': ({r1} - datetime.timedelta(seconds=1.500000))" in script
    assert "'AsOf': datetime.datetime(2001, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)" in script
    compile(script, "repro.py", "exec")


def test_a_wait_the_run_made_on_purpose_is_made_again_by_the_script():
    """A whole-second clock needs the pause between two versions in the replay too (test_reads' AsOf)."""
    from contracts.calls import Trace

    trace = Trace()
    read = Call("GetInvoiceUnit", {"InvoiceUnitArn": ARN}, Outcome(sent=True, status=200, response={}))
    trace.add(read)
    trace.wait(0.01)
    trace.add(Call("GetInvoiceUnit", {"InvoiceUnitArn": ARN}, Outcome(sent=True, status=200, response={})))
    assert [call.waited for call in trace.calls] == [0.0, 0.01]
    script = reproduction([Step.of(c, {}) for c in trace.calls], Reproduction(kind="mock"))
    assert script.count("time.sleep(0.01)  # the run waited as long here") == 1
