//! The rules of CloudWatch's embedded metric format (EMF) that a document on stdout must follow
//! to become metrics (what CloudWatch Logs would reject or silently ignore), for the tests of
//! both functions' output:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.

use serde_json::Value;

/// The units CloudWatch accepts (`StandardUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The rules of the EMF specification that a document must follow to become metrics, as
/// problems found (empty: valid).
pub fn problems(doc: &Value) -> Vec<String> {
    let mut problems = vec![];
    let Some(aws) = doc.get("_aws").and_then(Value::as_object) else {
        return vec!["no _aws object".into()];
    };
    if !aws.get("Timestamp").is_some_and(Value::is_u64) {
        problems.push("_aws.Timestamp is not epoch milliseconds".into());
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        return vec!["_aws.CloudWatchMetrics is not an array".into()];
    };
    let mut metric_count = 0;
    for directive in directives {
        let namespace = directive["Namespace"].as_str().unwrap_or("");
        if namespace.is_empty() || namespace.len() > 255 {
            problems.push(format!(
                "namespace {namespace:?} is not 1 to 255 characters"
            ));
        }
        let Some(dimension_sets) = directive["Dimensions"].as_array() else {
            problems.push("Dimensions is not an array".into());
            continue;
        };
        for set in dimension_sets {
            let keys = set.as_array().cloned().unwrap_or_default();
            if keys.len() > 30 {
                problems.push(format!(
                    "a dimension set of {} keys (at most 30)",
                    keys.len()
                ));
            }
            for key in keys {
                let key = key.as_str().unwrap_or("");
                match doc.get(key) {
                    Some(Value::String(value)) if !value.is_empty() && value.len() <= 1024 => {}
                    other => problems.push(format!(
                        "dimension {key:?} is not a non-empty string at the root: {other:?}"
                    )),
                }
            }
        }
        let metrics = directive["Metrics"].as_array().cloned().unwrap_or_default();
        metric_count += metrics.len();
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap_or("");
            match doc.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if !values.is_empty()
                        && values.len() <= 100
                        && values.iter().all(Value::is_number) => {}
                other => problems.push(format!(
                    "metric {name:?} has no number (or list of at most 100) at the root: {other:?}"
                )),
            }
            if let Some(unit) = metric.get("Unit")
                && !UNITS.contains(&unit.as_str().unwrap_or(""))
            {
                problems.push(format!("metric {name:?} has an invalid unit {unit}"));
            }
        }
    }
    if metric_count > 100 {
        problems.push(format!(
            "{metric_count} metrics in one document (at most 100)"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emf_rules_catch_what_cloudwatch_would_not_take() {
        let valid = serde_json::json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [["Service"]], "Metrics": [{"Name": "A", "Unit": "Count"}]}
            ]},
            "Service": "s", "A": 1
        });
        assert!(problems(&valid).is_empty());
        let broken = [
            ("/Service", Value::Null),
            ("/A", Value::from("1")),
            ("/_aws/Timestamp", Value::from("now")),
            (
                "/_aws/CloudWatchMetrics/0/Metrics/0/Unit",
                Value::from("Requests"),
            ),
            ("/_aws/CloudWatchMetrics/0/Namespace", Value::from("")),
        ];
        for (pointer, value) in broken {
            let mut doc = valid.clone();
            *doc.pointer_mut(pointer).unwrap() = value;
            assert!(!problems(&doc).is_empty(), "{pointer} broken passes");
        }
    }
}
