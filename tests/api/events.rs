//! The samples in `events/`, through the handler, against the demo data. `tests/shipped` runs
//! them through the built binary as well.

use serde_json::Value;

use crate::helpers::{DEMO_ACCOUNT, DEMO_INTEGRATION, TestApp, event};

async fn app_with_demo_data() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed_integration(DEMO_INTEGRATION, DEMO_ACCOUNT, "youtube", 2)
        .await;
    app
}

#[tokio::test]
async fn every_front_door_sample_disconnects_the_demo_integration() {
    for file in [
        "apigw-rest-v1.json",
        "apigw-http-v2.json",
        "alb.json",
        "function-url.json",
    ] {
        let app = app_with_demo_data().await;

        let response = app.send(&event(file)).await;

        assert_eq!(response.status, 200, "{file}: {}", response.raw_body);
        assert_eq!(response.body["data"]["id"], DEMO_INTEGRATION, "{file}");
        assert_eq!(response.body["data"]["type"], "youtube", "{file}");
        assert_eq!(
            app.table.sort_keys(DEMO_INTEGRATION).await,
            ["DISCONNECTED"],
            "{file}"
        );
    }
}

#[tokio::test]
async fn a_rest_api_path_with_the_stage_prefix_is_routed() {
    let app = app_with_demo_data().await;
    let mut sample: Value = serde_json::from_str(&event("apigw-rest-v1.json")).unwrap();
    let stage = sample["requestContext"]["stage"]
        .as_str()
        .unwrap()
        .to_owned();
    sample["path"] = Value::from(format!("/{stage}/v1/integration/{DEMO_INTEGRATION}"));
    sample["pathParameters"] = Value::Null;

    let response = app.send(&sample.to_string()).await;

    assert_eq!(response.status, 200, "{}", response.raw_body);
}

#[tokio::test]
async fn the_error_samples_give_their_documented_errors() {
    let cases = [
        ("error-missing-key.json", 401, "missing_api_key"),
        ("error-repeated-key.json", 401, "invalid_api_key"),
        ("error-wrong-method.json", 405, "method_not_allowed"),
        ("error-invalid-id.json", 400, "invalid_integration_id"),
        ("error-unknown-route.json", 404, "route_not_found"),
    ];
    let app = app_with_demo_data().await;
    for (file, status, code) in cases {
        let response = app.send(&event(file)).await;
        assert_eq!(response.status, status, "{file}: {}", response.raw_body);
        assert_eq!(response.body["error"]["code"], code, "{file}");
    }
    assert_eq!(
        app.table.partition(DEMO_INTEGRATION).await.len(),
        3,
        "nothing was deleted"
    );
}

#[tokio::test]
async fn an_alb_sample_answers_in_the_alb_shape() {
    let app = app_with_demo_data().await;
    let response = app.send(&event("alb.json")).await;
    assert_eq!(response.lambda["statusDescription"], "200 OK");
    assert_eq!(
        response.lambda["headers"]["content-type"],
        "application/json"
    );
}
