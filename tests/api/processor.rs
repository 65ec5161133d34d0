//! The `disconnect-processor` crate against markers the function really wrote: batched marker
//! reads and the post verdicts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use disconnect_processor::{
    IntegrationId, MarkerReader, PendingPost, Verdict, check_pending_posts,
};
use integrations_table::attributes::{
    ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, ID, PK, REASON, SK, TYPE,
};
use serde_json::json;

use crate::helpers::{ACCOUNT_A, KEY_A, TestApp};

fn post(id: &str, integration_id: &str) -> PendingPost {
    serde_json::from_value(json!({"id": id, "integrationId": integration_id, "platform": "x"}))
        .unwrap()
}

fn reader(app: &TestApp) -> MarkerReader {
    MarkerReader::new(app.table.client.clone(), &app.table.name)
}

#[tokio::test]
async fn posts_of_a_disconnected_integration_fail_and_others_are_ready() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_gone", ACCOUNT_A, "youtube", 2)
        .await;
    app.seed_integration("int_live", ACCOUNT_A, "tiktok", 2)
        .await;
    let response = app.delete_integration("int_gone", Some(KEY_A)).await;
    let at = response.body["data"]["disconnectedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    app.table
        .put(json!({
            PK: "INTEGRATION#int_expired", SK: "DISCONNECTED", ID: "int_expired",
            ACCOUNT_ID: ACCOUNT_A, TYPE: "youtube", DISCONNECTED_AT: "2026-01-01T00:00:00Z",
            REASON: "integration_disconnected", EXPIRES_AT: 1_767_225_600i64 + 90 * 86_400,
        }))
        .await;

    let posts = vec![
        post("p1", "int_gone"),
        post("p2", "int_live"),
        post("p3", "int_expired"),
        post("p4", "int_gone"),
        post("p5", "int_unknown"),
        post("p6", "bad id!"),
    ];
    let checked = check_pending_posts(&reader(&app), posts.clone(), SystemTime::now())
        .await
        .unwrap();

    let verdicts: Vec<(&str, &Verdict)> = checked
        .iter()
        .map(|c| (c.post.id.as_str(), &c.verdict))
        .collect();
    let failed = Verdict::Failed(format!("Integration disconnected at {at}"));
    assert_eq!(
        verdicts,
        [
            ("p1", &failed),
            ("p2", &Verdict::Ready),
            ("p3", &Verdict::Ready),
            ("p4", &failed),
            ("p5", &Verdict::Ready),
            ("p6", &Verdict::Failed("Invalid integration id".into())),
        ]
    );
    assert_eq!(checked[1].post, posts[1], "posts come back as they were");
}

#[tokio::test]
async fn markers_of_more_than_100_integrations_are_read_in_batches() {
    let app = TestApp::spawn().await;
    let mut disconnected = Vec::new();
    for i in 0..130 {
        let id = format!("int_{i:03}");
        if i % 3 == 0 {
            app.table
                .put(json!({
                    PK: format!("INTEGRATION#{id}"), SK: "DISCONNECTED", ID: id,
                    ACCOUNT_ID: ACCOUNT_A, TYPE: "youtube", DISCONNECTED_AT: "2026-11-28T10:00:00Z",
                    REASON: "integration_disconnected", EXPIRES_AT: 4_102_444_800i64,
                }))
                .await;
            disconnected.push(id);
        }
    }
    // 250 posts over 130 distinct integrations (plus 20 that were never disconnected).
    let posts: Vec<PendingPost> = (0..250)
        .map(|i| post(&format!("p{i}"), &format!("int_{:03}", i % 150)))
        .collect();

    let checked = check_pending_posts(&reader(&app), posts, SystemTime::now())
        .await
        .unwrap();

    assert_eq!(checked.len(), 250);
    for c in &checked {
        let expect_failed = disconnected.contains(&c.post.integration_id);
        assert_eq!(
            matches!(c.verdict, Verdict::Failed(_)),
            expect_failed,
            "{}",
            c.post.integration_id
        );
    }
}

#[tokio::test]
async fn live_markers_skips_expired_ones_and_reads_duplicates_once() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    app.delete_integration("int_1", Some(KEY_A)).await;
    let id = IntegrationId::parse("int_1").unwrap();
    let other = IntegrationId::parse("int_2").unwrap();

    let markers = reader(&app)
        .live_markers([&id, &id, &other], SystemTime::now())
        .await
        .unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[&id].integration_type, "youtube");

    let later = UNIX_EPOCH + Duration::from_secs(markers[&id].expires_at as u64);
    assert!(
        reader(&app)
            .live_markers([&id], later)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        reader(&app)
            .live_markers([], SystemTime::now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_processor_sees_the_marker_of_a_disconnect_and_not_after_it_expired() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    app.delete_integration("int_1", Some(KEY_A)).await;
    let id = IntegrationId::parse("int_1").unwrap();

    let marker = reader(&app)
        .live_marker(&id, SystemTime::now())
        .await
        .unwrap()
        .expect("a live marker");
    assert_eq!(marker.integration_type, "youtube");
    let after_expiry = UNIX_EPOCH + Duration::from_secs(marker.expires_at as u64);
    assert_eq!(
        reader(&app).live_marker(&id, after_expiry).await.unwrap(),
        None
    );
    let never = IntegrationId::parse("int_2").unwrap();
    assert_eq!(
        reader(&app)
            .live_marker(&never, SystemTime::now())
            .await
            .unwrap(),
        None
    );
}
