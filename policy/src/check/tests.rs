use super::*;
use crate::diag::test_util::error;
use crate::parser::parse;

fn check_src(cond_and_rest: &str) -> Result<(), Diagnostics> {
    let src = format!("policy \"p\" {{\n  {cond_and_rest}\n}}\n");
    let set = parse("t.policy", &src).unwrap();
    check(&set, &Schema::health())
}

#[test]
fn the_ppa_example_checks() {
    let set = parse("ppa", include_str!("../../tests/data/ppa-ibd-2024.policy")).unwrap();
    check(&set, &Schema::health()).unwrap();
}

#[test]
fn unknown_attribute_suggests() {
    let e = check_src("permit read on offer * when holder.rol == \"Hospital\"").unwrap_err();
    error("unknown attribute `holder.rol`")
        .help("did you mean `holder.role`?")
        .exactly_one_underline("holder.rol")
        .assert(&e);
    let e = check_src("permit read on offer * when patient.age > 3").unwrap_err();
    error("unknown attribute `patient.age`")
        .help("attributes start with `holder.`, `consent.`, `request.`, `session.`, `usage.`, `permit.`, or are `now`")
        .assert(&e);
}

#[test]
fn unknown_action_and_obligation() {
    let e = check_src("permit raed on offer *").unwrap_err();
    error("unknown action `raed`")
        .help("did you mean `read`?")
        .exactly_one_underline("raed")
        .assert(&e);
    let e = check_src("permit read on offer * obligation delete_afterr { days = 3 }").unwrap_err();
    error("unknown obligation `delete_afterr`")
        .help("did you mean `delete_after`?")
        .exactly_one_underline("delete_afterr")
        .assert(&e);
    let e = check_src("permit read on offer * obligation delete_after { dayz = 3 }").unwrap_err();
    assert_eq!(e.items.len(), 2, "{e}");
    assert_eq!(
        e.items[0].message,
        "unknown parameter `dayz` for obligation `delete_after`"
    );
    assert_eq!(
        e.items[1].message,
        "obligation `delete_after` needs parameter `days`"
    );
    let e =
        check_src("permit read on offer * obligation delete_after { days = \"30\" }").unwrap_err();
    error("parameter `days` must be an integer, found a string")
        .exactly_one_underline("\"30\"")
        .assert(&e);
}

#[test]
fn type_mismatches() {
    let e = check_src("permit read on offer * when session.parties >= \"3\"").unwrap_err();
    error("`>=` orders numbers, datetimes and durations, but `session.parties` is an integer and `\"3\"` is a string")
        .exactly_one_underline("session.parties >= \"3\"")
        .assert(&e);
    let e = check_src("permit read on offer * when consent.purposes == \"x\"").unwrap_err();
    error("type mismatch: `consent.purposes` is a set of strings but `\"x\"` is a string, so `==` cannot compare them")
        .help("to test membership write `contains`")
        .assert(&e);
    let e = check_src("permit read on offer * when holder.role").unwrap_err();
    error("the condition is a string, not true or false").assert(&e);
    let e = check_src("permit read on offer * when now < 30d").unwrap_err();
    error("type mismatch: `now` is a datetime but `30d` is a duration, so `<` cannot compare them")
        .help("write a datetime such as 2027-01-01T00:00:00Z")
        .assert(&e);
    let e = check_src("permit read on offer * when holder.credentials in [\"a\"]").unwrap_err();
    error("`in` tests one string, but `holder.credentials` is a set of strings").assert(&e);
}

#[test]
fn contradictions() {
    let e = check_src(
        "permit read on offer * when request.purpose == \"a\" and request.purpose == \"b\"",
    )
    .unwrap_err();
    error("`request.purpose == \"b\"` contradicts `request.purpose == \"a\"`: together they can never hold, so the policy never applies")
        .exactly_one_underline("request.purpose == \"b\"")
        .assert(&e);
    let e = check_src("permit read on offer * when session.parties > 5 and (session.parties < 3)")
        .unwrap_err();
    assert_eq!(e.items.len(), 1);
    let e =
        check_src("permit read on offer * when holder.role in [\"A\"] and holder.role != \"A\"")
            .unwrap_err();
    assert_eq!(e.items.len(), 1);
    let e = check_src("permit read on offer * when holder.role in []").unwrap_err();
    error("`holder.role in []` can never hold: the list is empty").assert(&e);
    check_src("permit read on offer * when session.parties >= 3 and session.parties <= 3").unwrap();
    check_src("permit read on offer * when 3 <= session.parties and session.parties < 4").unwrap();
}

#[test]
fn duplicate_ids_and_forbid_obligations() {
    let set = parse(
        "d.policy",
        "policy \"a\" { permit read on offer * }\npolicy \"a\" { forbid read on offer * obligation log_access }",
    )
    .unwrap();
    let e = check(&set, &Schema::health()).unwrap_err();
    assert_eq!(e.items.len(), 2);
    assert_eq!(e.items[0].message, "duplicate policy id `a`");
    assert_eq!(
        e.items[0].help.as_deref(),
        Some("the id is first used at d.policy:1:8; give each policy its own id")
    );
    assert_eq!(
        e.items[1].message,
        "a `forbid` policy cannot carry obligations"
    );
}
