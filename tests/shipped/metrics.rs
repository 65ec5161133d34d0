//! The EMF metric documents the binary writes to stdout: checked against the format's rules
//! (what CloudWatch Logs would reject or silently ignore) and for their values, per outcome.

use serde_json::Value;
use test_support::emf;

use crate::binary::{ACCOUNT, KEY, Stage, http_api};
use crate::bodies::black_hole;

/// The metric names a document declares, with their dimension set.
fn declared(doc: &Value) -> Vec<(String, Vec<String>)> {
    doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            let dims: Vec<String> = d["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect();
            d["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |m| (m["Name"].as_str().unwrap().to_owned(), dims.clone()))
        })
        .collect()
}

fn names(doc: &Value) -> Vec<String> {
    let mut names: Vec<String> = declared(doc).into_iter().map(|(n, _)| n).collect();
    names.sort();
    names
}

#[tokio::test]
async fn each_invocation_writes_one_valid_emf_document_with_its_outcome() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_metrics_1", ACCOUNT, "youtube", 2)
        .await;
    let mut function = stage.start_on_stand_in(&[
        ("METRICS_NAMESPACE", "Test/Disconnect"),
        ("METRICS_SERVICE", "metrics-test"),
    ]);
    let delete = |id: &str, key: &str| {
        http_api(
            "DELETE",
            &format!("/v1/integration/{id}"),
            &[("x-api-key", key)],
        )
    };
    let ok = function.invoke(&delete("int_metrics_1", KEY));
    let repeat = function.invoke(&delete("int_metrics_1", KEY));
    let unauthorized = function.invoke(&delete("int_metrics_1", "not-a-key"));
    let missing = function.invoke(&delete("int_never_was", KEY));
    assert_eq!(
        [
            ok.status,
            repeat.status,
            unauthorized.status,
            missing.status
        ],
        [200, 200, 401, 404]
    );
    function.stop();

    let docs = function.metric_documents();
    assert_eq!(docs.len(), 4, "one document per invocation: {docs:#?}");
    for doc in &docs {
        assert_eq!(emf::problems(doc), Vec::<String>::new(), "{doc}");
        assert_eq!(doc["Service"], "metrics-test");
        for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], "Test/Disconnect");
            assert_eq!(directive["Dimensions"].as_array().unwrap().len(), 1);
        }
        // Never an account or integration id: not as a dimension, not as a property.
        let text = doc.to_string();
        for id in [ACCOUNT, "int_metrics_1", "int_never_was", KEY] {
            assert!(!text.contains(id), "{id} in {text}");
        }
    }
    let [ok_doc, repeat_doc, unauthorized_doc, missing_doc] = &docs[..] else {
        unreachable!()
    };
    let by_request: Vec<&str> = docs
        .iter()
        .map(|d| d["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_request,
        [
            &ok.request_id,
            &repeat.request_id,
            &unauthorized.request_id,
            &missing.request_id
        ]
    );

    // The first invocation: the cold start, init's secret read and Query, and its own calls.
    assert_eq!(
        names(ok_doc),
        [
            "ColdStart",
            "Disconnects",
            "GetSecretValueLatency",
            "KeyCacheRefreshes",
            "QueryLatency",
            "TransactWriteItemsLatency"
        ]
    );
    assert_eq!(ok_doc["ColdStart"], 1.0);
    assert_eq!(ok_doc["Disconnects"], 1.0);
    assert_eq!(ok_doc["IntegrationType"], "youtube");
    assert_eq!(ok_doc["KeyCacheRefreshes"], 1.0);
    assert_eq!(
        ok_doc["QueryLatency"].as_array().map(Vec::len),
        Some(2),
        "init's Query and the request's: {ok_doc}"
    );
    assert!(ok_doc["TransactWriteItemsLatency"].as_f64().unwrap() > 0.0);
    assert!(declared(ok_doc).contains(&(
        "Disconnects".into(),
        vec!["Service".into(), "IntegrationType".into()]
    )));

    assert_eq!(names(repeat_doc), ["QueryLatency", "Repeats"]);
    assert_eq!(repeat_doc["Repeats"], 1.0);
    assert_eq!(repeat_doc["IntegrationType"], "youtube");

    // An unknown key forces one read of the secret (the key may be new), then is refused.
    assert_eq!(
        names(unauthorized_doc),
        ["GetSecretValueLatency", "KeyCacheRefreshes", "Rejected"]
    );
    assert_eq!(unauthorized_doc["Rejected"], 1.0);
    assert_eq!(unauthorized_doc["Code"], "invalid_api_key");
    assert!(
        declared(unauthorized_doc)
            .contains(&("Rejected".into(), vec!["Service".into(), "Code".into()]))
    );

    assert_eq!(names(missing_doc), ["QueryLatency", "Rejected"]);
    assert_eq!(missing_doc["Code"], "integration_not_found");
}

#[tokio::test]
async fn a_hanging_dynamodb_counts_a_server_error_and_the_calls_the_deadline_cut_short() {
    let stage = Stage::new().await;
    let (_listener, url) = black_hole();
    let mut function = stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", url.as_str()),
        ("REQUEST_DEADLINE_MS", "1000"),
    ]);
    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_metrics_503",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 503, "{}", answer.body);
    function.stop();

    let docs = function.metric_documents();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let doc = &docs[0];
    assert_eq!(emf::problems(doc), Vec::<String>::new(), "{doc}");
    assert_eq!(doc["ServerErrors"], 1.0);
    assert_eq!(doc["Code"], "service_unavailable");
    assert_eq!(doc["requestId"], answer.request_id.as_str());
    assert!(
        declared(doc).contains(&("ServerErrors".into(), vec!["Service".into(), "Code".into()]))
    );
    assert!(doc.get("Disconnects").is_none() && doc.get("Rejected").is_none());
    // Neither Query ever finished: both were cut at the 1 s deadline (init's by the SDK's
    // operation timeout, which is the deadline too). Both are timed, for as long as they waited.
    let waited: Vec<f64> = doc["QueryLatency"]
        .as_array()
        .unwrap_or_else(|| panic!("two Query latencies: {doc}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(waited.len(), 2, "{doc}");
    for (call, waited) in ["init's", "the request's"].iter().zip(&waited) {
        assert!(
            (900.0..1_600.0).contains(waited),
            "{call} Query waited {waited} ms"
        );
    }
}
