//! The deployed table definition is the one the tests and the local setup use.

use crate::helpers::table_spec_from_template;

#[test]
fn the_template_table_matches_the_data_contract() {
    let table = table_spec_from_template();
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    let keys: Vec<(String, String)> = properties["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().into(),
                k["KeyType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]
    );
    assert_eq!(
        properties["TimeToLiveSpecification"]["AttributeName"],
        "expiresAt"
    );
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}
