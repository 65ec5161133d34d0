//! The samples in `events/`, parsed exactly as the runtime parses them, against the demo data.

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

        let response = app.send(event(file)).await;

        assert_eq!(response.status, 200, "{file}: {}", response.body);
        assert_eq!(response.body["data"]["id"], DEMO_INTEGRATION, "{file}");
        assert_eq!(response.body["data"]["type"], "youtube", "{file}");
        let partition = app.partition(DEMO_INTEGRATION).await;
        assert_eq!(partition.len(), 1, "{file}: only the marker is left");
    }
}

#[tokio::test]
async fn a_rest_api_path_with_the_stage_prefix_is_routed() {
    let app = app_with_demo_data().await;
    let path = format!("{}/events/apigw-rest-v1.json", env!("CARGO_MANIFEST_DIR"));
    let mut sample: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let stage = sample["requestContext"]["stage"]
        .as_str()
        .unwrap()
        .to_owned();
    sample["path"] = Value::from(format!("/{stage}/v1/integration/{DEMO_INTEGRATION}"));
    sample["pathParameters"] = Value::Null;

    let request = lambda_http::request::from_str(&sample.to_string()).unwrap();
    let response = app.send(request).await;

    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn the_error_samples_give_their_documented_errors() {
    let cases = [
        ("error-missing-key.json", 401, "missing_api_key"),
        ("error-wrong-method.json", 405, "method_not_allowed"),
        ("error-invalid-id.json", 400, "invalid_integration_id"),
        ("error-unknown-route.json", 404, "route_not_found"),
    ];
    let app = app_with_demo_data().await;
    for (file, status, code) in cases {
        let response = app.send(event(file)).await;
        assert_eq!(response.status, status, "{file}: {}", response.body);
        assert_eq!(response.body["error"]["code"], code, "{file}");
    }
    assert_eq!(
        app.partition(DEMO_INTEGRATION).await.len(),
        3,
        "nothing was deleted"
    );
}
