//! Every sample in `events/` (what `sam local invoke -e` and `cargo lambda invoke --data-file`
//! send) through the shipped binary. A new sample fails this test until it is listed here.

use std::collections::BTreeMap;

use test_support::local::repo_root;

use crate::binary::{DEMO_ACCOUNT, Stage};

const DEMO_INTEGRATION: &str = "int_yt_abc123";

/// Each sample and the answer it must get: status and `error.code` (`None` for the 200s).
fn expectations() -> BTreeMap<&'static str, (u16, Option<&'static str>)> {
    BTreeMap::from([
        ("alb.json", (200, None)),
        ("apigw-http-v2.json", (200, None)),
        ("apigw-rest-v1.json", (200, None)),
        ("function-url.json", (200, None)),
        (
            "error-invalid-id.json",
            (400, Some("invalid_integration_id")),
        ),
        ("error-missing-key.json", (401, Some("missing_api_key"))),
        ("error-repeated-key.json", (401, Some("invalid_api_key"))),
        ("error-unknown-route.json", (404, Some("route_not_found"))),
        ("error-wrong-method.json", (405, Some("method_not_allowed"))),
    ])
}

#[tokio::test]
async fn every_sample_event_gets_its_documented_answer_from_the_binary() {
    let mut samples: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json") && !name.starts_with("sam-env"))
        .collect();
    samples.sort();
    let expectations = expectations();
    let listed: Vec<&str> = expectations.keys().copied().collect();
    assert_eq!(
        samples, listed,
        "events/ and this test list the same samples"
    );

    for (file, (status, code)) in expectations {
        let event = std::fs::read_to_string(repo_root().join("events").join(file)).unwrap();
        let stage = Stage::new().await;
        stage
            .table
            .seed_integration(DEMO_INTEGRATION, DEMO_ACCOUNT, "youtube", 2)
            .await;
        let function = stage.start(&[]);

        let answer = function.invoke(&event);

        assert_eq!(answer.status, status, "{file}: {}", answer.body);
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let left = stage.table.sort_keys(DEMO_INTEGRATION).await;
        match code {
            None => {
                assert_eq!(body["data"]["id"], DEMO_INTEGRATION, "{file}");
                assert_eq!(left, ["DISCONNECTED"], "{file}");
            }
            Some(code) => {
                assert_eq!(body["error"]["code"], code, "{file}");
                assert_eq!(left.len(), 3, "{file}: nothing was deleted");
            }
        }
    }
}
