use super::*;
use crate::diag::test_util::error;

const PPA: &str = include_str!("../../tests/data/ppa-ibd-2024.policy");

#[test]
fn parses_the_ppa_example_and_prints_it_back() {
    let set = parse("ppa.policy", PPA).unwrap();
    assert_eq!(set.policies.len(), 2);
    let p = &set.policies[0];
    assert_eq!(p.id.name, "ppa-ibd-2024");
    assert_eq!(p.obligations.len(), 2);
    let printed = set.to_string();
    let again = parse("printed", &printed).unwrap();
    assert_eq!(again.to_string(), printed);
}

#[test]
fn explains_syntax_errors() {
    let e = parse(
        "x",
        "policy \"a\" { permit read on offer * when request.purpose = \"x\" }",
    )
    .unwrap_err();
    error("`=` is not a comparison")
        .help("try using `==` instead")
        .exactly_one_underline("=")
        .assert(&e);
    let e = parse("x", "policy a { permit read on offer * }").unwrap_err();
    error("expected the policy id as a string, found `a`")
        .exactly_one_underline("a")
        .assert(&e);
    let e = parse("x", "policy \"a\" { permit read on \"o\" }").unwrap_err();
    error("expected `offer` after `on`, found string \"o\"").assert(&e);
}

#[test]
fn nesting_is_limited() {
    let deep = format!(
        "policy \"a\" {{ permit read on offer * when {}true{} }}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    let e = parse("x", &deep).unwrap_err();
    error("conditions nest deeper than 32 levels").assert(&e);
    let ok = format!(
        "policy \"a\" {{ permit read on offer * when {}true{} }}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert!(parse("x", &ok).is_ok());
    let nots = format!(
        "policy \"a\" {{ permit read on offer * when {}true }}",
        "not ".repeat(100_000)
    );
    assert!(parse("x", &nots).is_err());
}

#[test]
fn reports_one_error_per_broken_policy() {
    let src = "policy \"a\" { permit on offer * }\npolicy \"b\" { permit read on offer * }\npolicy \"c\" { forbid * offer * }";
    let e = parse("x", src).unwrap_err();
    assert_eq!(e.items.len(), 2);
}

#[test]
fn permit_covers_stands_for_its_conditions_and_permit_is_a_root() {
    let set = parse(
        "x",
        "policy \"p\" { permit use on offer * when permit covers request.dataset and permit.purpose == request.purpose }",
    )
    .unwrap();
    let printed = set.to_string();
    assert!(
        printed.contains(
            "(has permit.id and permit.datasets contains request.dataset and permit.persons \
             contains holder.id and now >= permit.valid_from and now < permit.valid_until)"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("permit.purpose == request.purpose"),
        "{printed}"
    );
    let again = parse("printed", &printed).unwrap();
    assert_eq!(again.to_string(), printed);
    // `permit` alone is still the effect keyword, and `covers` needs a dataset.
    assert!(parse("x", "policy \"p\" { permit use on offer * when permit }").is_err());
    assert!(parse(
        "x",
        "policy \"p\" { permit use on offer * when permit covers }"
    )
    .is_err());
}
