//! Whether an ODRL offer exchanged in a negotiation (an operator's counter-offer, a
//! consumer's counter-request) is one the provider's policy permits.
//!
//! The policy is what decides, so an offer may not loosen it: an offer is permitted when it is
//! for the offer's dataset, has exactly the policy's permissions (their actions and
//! constraints) and prohibitions, and keeps every duty (`obligation`) the policy's offer
//! states. It may add duties: they are carried into the agreement. Anything else the policy
//! would have to be re-evaluated for, and is refused with the member that differs.

use serde_json::Value;

use crate::catalog::CompiledOffer;
use crate::protocol::messages::MessageOffer;

/// Checks `offer` against the policy of `compiled` (the rules above); returns the duties it
/// adds to the policy's, or why it is not permitted.
pub fn within_policy(offer: &MessageOffer, compiled: &CompiledOffer) -> Result<Vec<Value>, String> {
    let dataset = compiled.offer.id.as_str();
    match offer.target.as_deref() {
        Some(target) if target == dataset => {}
        Some(other) => {
            return Err(format!(
                "`target` is `{}`, not the dataset `{dataset}` negotiated",
                other.chars().take(100).collect::<String>()
            ))
        }
        None => return Err(format!("it names no `target` (the dataset `{dataset}`)")),
    }
    let policy = &compiled.odrl;
    let rules = |rules: &Option<Vec<Value>>| rules.clone().unwrap_or_default();
    for (member, theirs, ours) in [
        ("permission", &offer.permission, &policy.permission),
        ("prohibition", &offer.prohibition, &policy.prohibition),
    ] {
        if rules(theirs) != rules(ours) {
            return Err(format!(
                "its `{member}` differs from the policy's {}; the policy's rules cannot be \
                 changed, only duties added",
                Value::Array(rules(ours))
            ));
        }
    }
    let duties = rules(&offer.obligation);
    let required = rules(&policy.obligation);
    if let Some(dropped) = required.iter().find(|duty| !duties.contains(duty)) {
        return Err(format!(
            "it drops the policy's duty {dropped} from `obligation`"
        ));
    }
    let added: Vec<Value> = duties
        .into_iter()
        .filter(|duty| !required.contains(duty))
        .collect();
    if let Some(bad) = added
        .iter()
        .find(|duty| duty.get("action").is_none_or(Value::is_null))
    {
        return Err(format!("the duty {bad} in `obligation` names no `action`"));
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::offer;

    fn compiled() -> CompiledOffer {
        CompiledOffer::compile(
            &offer(),
            &std::sync::Arc::new(symbolon_policy::Schema::health()),
        )
        .unwrap()
    }

    #[test]
    fn the_policys_own_offer_is_permitted_and_adds_nothing() {
        let compiled = compiled();
        assert_eq!(
            within_policy(&compiled.targeted_odrl(), &compiled),
            Ok(vec![])
        );
    }

    #[test]
    fn added_duties_are_permitted_and_returned() {
        let compiled = compiled();
        let mut offer = compiled.targeted_odrl();
        let duty = json!({"action": "inform", "comment": "report each use"});
        offer
            .obligation
            .get_or_insert_with(Vec::new)
            .push(duty.clone());
        offer.id = "urn:uuid:counter-offer".into();
        assert_eq!(within_policy(&offer, &compiled), Ok(vec![duty]));
    }

    #[test]
    fn a_looser_or_foreign_offer_is_refused_with_the_member() {
        let compiled = compiled();
        let mut other = compiled.targeted_odrl();
        other.target = Some("elsewhere".into());
        assert!(within_policy(&other, &compiled)
            .unwrap_err()
            .contains("`target`"));
        let mut other = compiled.targeted_odrl();
        other.target = None;
        assert!(within_policy(&other, &compiled).is_err());
        let mut looser = compiled.targeted_odrl();
        looser.permission = Some(vec![json!({"action": "use"})]);
        assert!(within_policy(&looser, &compiled)
            .unwrap_err()
            .contains("`permission`"));
        let mut looser = compiled.targeted_odrl();
        looser.prohibition = Some(vec![json!({"action": "x"})]);
        assert!(within_policy(&looser, &compiled)
            .unwrap_err()
            .contains("`prohibition`"));
        let mut bad = compiled.targeted_odrl();
        bad.obligation
            .get_or_insert_with(Vec::new)
            .push(json!({"comment": "no action"}));
        assert!(within_policy(&bad, &compiled)
            .unwrap_err()
            .contains("no `action`"));
        if let Some(duties) = compiled.odrl.obligation.clone().filter(|d| !d.is_empty()) {
            let mut dropped = compiled.targeted_odrl();
            dropped.obligation = Some(duties[1..].to_vec());
            assert!(within_policy(&dropped, &compiled)
                .unwrap_err()
                .contains("drops"));
        }
    }
}
