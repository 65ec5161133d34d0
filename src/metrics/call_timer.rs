//! Times every AWS call into its latency metric: an SDK interceptor both clients carry.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::{Metric, record};

/// Times every AWS operation of a client, retries included, into its latency metric. An
/// operation cut short by the request's deadline is timed too: its timing is recorded when the
/// operation ends, whether it finishes or is dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallTimer;

/// Started with the operation; records its latency when dropped (at the operation's end, or
/// when a deadline drops the operation's future).
#[derive(Debug)]
struct Timing {
    metric: Metric,
    started: Instant,
}

impl Drop for Timing {
    fn drop(&mut self) {
        // Whole microseconds, in milliseconds: 13.586, not 13.585638000000001.
        record(
            self.metric,
            self.started.elapsed().as_micros() as f64 / 1000.0,
        );
    }
}

impl Storable for Timing {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallTimer {
    fn name(&self) -> &'static str {
        "CallTimer"
    }

    // Not `read_before_execution`: for a client's interceptor it runs before the operation's
    // configuration, which holds the operation's name, is applied.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metric = cfg
            .load::<Metadata>()
            .and_then(|m| Metric::latency_of(m.name()));
        if let Some(metric) = metric {
            cfg.interceptor_state().store_put(Timing {
                metric,
                started: Instant::now(),
            });
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Dropping the timing records it, once.
        cfg.interceptor_state().unset::<Timing>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Recorder, collect};
    fn timed_dynamodb(reply_after: std::time::Duration) -> aws_sdk_dynamodb::Client {
        let fake = test_support::fake_aws::FakeAws::new(move |_| {
            test_support::fake_aws::Reply::ok(r#"{"Items": [], "Count": 0}"#).after(reply_after)
        });
        let client = fake.dynamodb();
        aws_sdk_dynamodb::Client::from_conf(
            client.config().to_builder().interceptor(CallTimer).build(),
        )
    }

    #[tokio::test]
    async fn a_finished_call_is_timed_once() {
        let client = timed_dynamodb(std::time::Duration::ZERO);
        let (result, recorder) =
            collect(Recorder::default(), client.query().table_name("t").send()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(recorder.values(Metric::QueryLatency).len(), 1);
    }

    #[tokio::test]
    async fn a_call_the_deadline_drops_is_timed_for_as_long_as_it_waited() {
        let client = timed_dynamodb(std::time::Duration::from_secs(10));
        let deadline = std::time::Duration::from_millis(100);
        let (result, recorder) = collect(
            Recorder::default(),
            tokio::time::timeout(deadline, client.query().table_name("t").send()),
        )
        .await;
        assert!(result.is_err(), "the deadline passes first");
        let waited = recorder.values(Metric::QueryLatency);
        assert_eq!(waited.len(), 1, "{waited:?}");
        assert!((90.0..1_000.0).contains(&waited[0]), "{waited:?}");
    }
}
