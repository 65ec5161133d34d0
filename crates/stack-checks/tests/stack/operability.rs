//! The operations side of `template.yaml` against the code: the alarms and the dashboard name
//! only metrics the function emits (`src/metrics/mod.rs`), with the dimensions it publishes them
//! under and values it can give them, and every metric it emits is on the dashboard; the logs,
//! the access logs, throttling, the alarm actions and the deployment's rollback alarms are
//! wired. Reads files only: `cargo test --test api operability`.
//!
//! Values are compared in `!Sub` notation: `!Ref MetricsNamespace` in an alarm and
//! `${MetricsNamespace}` in the dashboard's body are both `${MetricsNamespace}` here.

use std::collections::{BTreeMap, BTreeSet};

use disconnect_integration::http::response::ErrorCode;
use disconnect_integration::metrics::{self, Metric, Unit};
use integrations_table::IntegrationType;
use revoke_tokens::output::SERVICE_SUFFIX as REVOKER_SERVICE_SUFFIX;
use serde_json::Value as Json;
use serde_yaml::Value;
use test_support::local::template;
use test_support::template::intrinsic;

/// The namespace of the function's own metrics, as the template names it.
const CUSTOM_NAMESPACE: &str = "${MetricsNamespace}";
/// The `Service` dimension's value: the stack name, which the template gives the function.
const SERVICE_VALUE: &str = "${AWS::StackName}";
/// The alias the HTTP API invokes and CodeDeploy shifts.
const ALIAS: &str = "live";

/// Alarms that deliberately do not roll a deployment back, and why.
const NOT_ROLLBACK: [(&str, &str); 6] = [
    (
        "FunctionThrottlesAlarm",
        "throttling is the account's or the function's concurrency, not the new version's code",
    ),
    (
        "StaleKeysServedAlarm",
        "Secrets Manager failing is not caused by a version, and a rollback cannot cure it",
    ),
    (
        "ApiKeysSecretNearLimitAlarm",
        "the API-keys secret's size is the operators' data, not the version's code, and a rollback cannot shrink it",
    ),
    (
        "RevocationDeadLetterAlarm",
        "RevokeTokensFunction is not the alias CodeDeploy shifts, and a platform or a disconnect in progress failing is not caused by a version",
    ),
    (
        "RevocationsGivenUpAlarm",
        "RevokeTokensFunction is not the alias CodeDeploy shifts, and a platform failing for an hour is not caused by a version of the DELETE function",
    ),
    (
        "DisconnectEventDeadLetterAlarm",
        "the Pipe delivers the disconnect event without running the function's code, so no version causes its failures and a rollback of the alias cannot cure them",
    ),
];

/// The retention periods CloudWatch Logs accepts (`RetentionInDays`), in days.
const RETENTION_DAYS: [u64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

// ---------------------------------------------------------------------------------------------
// Reading the template: intrinsic functions in their short (`!Ref X`) or long (`{Ref: X}`) form.

/// Whether `value` is `!Ref target`.
fn is_ref(value: &Value, target: &str) -> bool {
    intrinsic(value, "Ref").and_then(Value::as_str) == Some(target)
}

/// A string, a `!Ref`, a `!GetAtt` or a `!Sub` of one string, in `!Sub` notation.
fn text(value: &Value) -> String {
    if let Some(target) = intrinsic(value, "Ref") {
        return format!("${{{}}}", target.as_str().expect("!Ref of a name"));
    }
    if let Some(target) = intrinsic(value, "GetAtt") {
        let target = match target {
            Value::Sequence(parts) => parts
                .iter()
                .map(|p| p.as_str().expect("!GetAtt of names"))
                .collect::<Vec<_>>()
                .join("."),
            other => other.as_str().expect("!GetAtt of a name").to_owned(),
        };
        return format!("${{{target}}}");
    }
    if let Some(string) = intrinsic(value, "Sub") {
        return string
            .as_str()
            .expect("!Sub of one string (no variable map)")
            .to_owned();
    }
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("expected a string or a reference, found {other:?}"),
    }
}

/// Every metric the revoker emits (its own catalogue).
fn revoker_metrics() -> Vec<&'static str> {
    revoke_tokens::Metric::ALL
        .iter()
        .map(|m| m.name())
        .collect()
}

fn resources_of_type(template: &Value, kind: &str) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("a logical id").to_owned(), r.clone()))
        .collect()
}

fn alarms(template: &Value) -> BTreeMap<String, Value> {
    let alarms = resources_of_type(template, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty(), "template.yaml defines alarms");
    alarms
}

fn the_one(template: &Value, kind: &str) -> (String, Value) {
    let mut found = resources_of_type(template, kind).into_iter();
    let one = found
        .next()
        .unwrap_or_else(|| panic!("a resource of type {kind}"));
    assert!(
        found.next().is_none(),
        "exactly one resource of type {kind}"
    );
    one
}

/// The DELETE function (the stack's other function, RevokeTokensFunction, is not behind the
/// API and has no alias).
fn function(template: &Value) -> Value {
    template["Resources"]["DisconnectIntegrationFunction"].clone()
}

/// The logical id a `!Ref` names, checked to be a resource of type `kind`.
fn referenced_resource(template: &Value, value: &Value, kind: &str) -> String {
    let id = intrinsic(value, "Ref")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected a !Ref to a {kind}, found {value:?}"));
    assert_eq!(
        template["Resources"][id]["Type"].as_str(),
        Some(kind),
        "{id} is a {kind}"
    );
    id.to_owned()
}

// ---------------------------------------------------------------------------------------------
// The metrics the alarms and the dashboard read.

/// One metric as an alarm or a dashboard widget reads it.
#[derive(Debug, Clone)]
struct MetricUse {
    /// Where: `alarm X` or `dashboard widget "title"`.
    place: String,
    namespace: String,
    name: String,
    /// Dimension name to value; `None` for a SEARCH, which takes every value.
    dimensions: BTreeMap<String, Option<String>>,
    /// The statistic, when the place names one.
    stat: Option<String>,
}

fn alarm_metric(place: &str, metric: &Value, stat: Option<String>) -> MetricUse {
    let dimensions = metric["Dimensions"]
        .as_sequence()
        .map(|dims| {
            dims.iter()
                .map(|d| (text(&d["Name"]), Some(text(&d["Value"]))))
                .collect()
        })
        .unwrap_or_default();
    MetricUse {
        place: place.to_owned(),
        namespace: text(&metric["Namespace"]),
        name: text(&metric["MetricName"]),
        dimensions,
        stat,
    }
}

/// Every metric an alarm reads: its own metric, or each metric of its metric math.
fn alarm_metrics(id: &str, alarm: &Value) -> Vec<MetricUse> {
    let properties = &alarm["Properties"];
    let place = format!("alarm {id}");
    match properties["Metrics"].as_sequence() {
        Some(queries) => queries
            .iter()
            .filter(|q| !q["MetricStat"].is_null())
            .map(|q| {
                let stat = Some(text(&q["MetricStat"]["Stat"]));
                alarm_metric(&place, &q["MetricStat"]["Metric"], stat)
            })
            .collect(),
        None => {
            let stat = [&properties["Statistic"], &properties["ExtendedStatistic"]]
                .into_iter()
                .find(|s| !s.is_null())
                .map(text);
            vec![alarm_metric(&place, properties, stat)]
        }
    }
}

/// The dashboard's body, parsed. `${Name}` stays as it is in strings; a number parameter
/// (outside a string) becomes its default. Every `${...}` must name a parameter, a pseudo
/// parameter or a resource (attribute) of the template.
fn dashboard(template: &Value) -> Json {
    let (_, dashboard) = the_one(template, "AWS::CloudWatch::Dashboard");
    let body = intrinsic(&dashboard["Properties"]["DashboardBody"], "Sub")
        .and_then(Value::as_str)
        .expect("DashboardBody is a !Sub of one JSON string");
    let mut resolved = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        resolved.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closing brace") + start;
        let name = &rest[start + 2..end];
        let parameter = &template["Parameters"][name];
        if name.starts_with('!') {
            resolved.push_str(&rest[start..=end]);
        } else if parameter["Type"].as_str() == Some("Number") {
            resolved.push_str(&text(&parameter["Default"]));
        } else {
            let resource = name.split('.').next().unwrap();
            assert!(
                !parameter.is_null()
                    || name.starts_with("AWS::")
                    || !template["Resources"][resource].is_null(),
                "the dashboard's ${{{name}}} names nothing in the template"
            );
            resolved.push_str(&rest[start..=end]);
        }
        rest = &rest[end + 1..];
    }
    resolved.push_str(rest);
    serde_json::from_str(&resolved).unwrap_or_else(|e| panic!("the dashboard is JSON: {e}"))
}

fn widgets(dashboard: &Json) -> &Vec<Json> {
    dashboard["widgets"].as_array().expect("widgets")
}

/// The metric a SEARCH expression selects: `{"Namespace",Dim1,Dim2} MetricName="Name"`, with
/// `Service="..."` among its filters.
fn search_metric(place: &str, expression: &str, stat: Option<String>) -> MetricUse {
    let schema_start = expression
        .find('{')
        .unwrap_or_else(|| panic!("{place}: a SEARCH names its schema: {expression}"));
    // The first brace outside double quotes (the quoted namespace holds `${...}`).
    let mut quoted_part = false;
    let schema_end = expression[schema_start..]
        .char_indices()
        .find(|&(_, c)| {
            quoted_part ^= c == '"';
            c == '}' && !quoted_part
        })
        .map(|(i, _)| i + schema_start)
        .unwrap_or_else(|| panic!("{place}: the schema's closing brace: {expression}"));
    let mut schema = expression[schema_start + 1..schema_end]
        .split(',')
        .map(|part| part.trim().trim_matches('"').to_owned());
    let namespace = schema.next().unwrap();
    let mut dimensions: BTreeMap<String, Option<String>> =
        schema.map(|dimension| (dimension, None)).collect();
    let quoted = |key: &str| {
        let start = expression.find(&format!("{key}=\""))? + key.len() + 2;
        let end = expression[start..].find('"')? + start;
        Some(expression[start..end].to_owned())
    };
    let name = quoted("MetricName").unwrap_or_else(|| {
        panic!("{place}: a SEARCH names its MetricName=\"...\", so that it can be checked: {expression}")
    });
    if let Some(service) = dimensions.get_mut(metrics::SERVICE) {
        *service = quoted(metrics::SERVICE);
    }
    MetricUse {
        place: place.to_owned(),
        namespace,
        name,
        dimensions,
        stat,
    }
}

/// Every metric a dashboard widget shows: `[namespace, name, dim, value, ..., {options}]`
/// entries written out in full, and SEARCH expressions.
fn dashboard_metrics(dashboard: &Json) -> Vec<MetricUse> {
    let mut uses = Vec::new();
    for widget in widgets(dashboard) {
        let properties = &widget["properties"];
        let Some(entries) = properties["metrics"].as_array() else {
            continue;
        };
        let place = format!("dashboard widget {}", properties["title"]);
        let widget_stat = properties["stat"].as_str().map(str::to_owned);
        for entry in entries {
            let entry = entry.as_array().expect("a metrics entry is an array");
            let options = entry.last().and_then(Json::as_object);
            let stat = options
                .and_then(|o| o.get("stat"))
                .and_then(Json::as_str)
                .map(str::to_owned)
                .or_else(|| widget_stat.clone());
            if let Some(expression) = options
                .and_then(|o| o.get("expression"))
                .and_then(Json::as_str)
            {
                if expression.contains("SEARCH(") {
                    uses.push(search_metric(&place, expression, stat));
                }
                continue;
            }
            let strings: Vec<&str> = entry
                .iter()
                .take_while(|e| e.is_string())
                .map(|e| e.as_str().unwrap())
                .collect();
            assert!(
                strings.len() >= 2 && strings.len().is_multiple_of(2),
                "{place}: a metric is [namespace, name, dimension, value, ...]: {entry:?}"
            );
            assert!(
                !strings.contains(&"."),
                "{place}: write each metric out in full (no \".\" shorthand), so that it can be checked: {entry:?}"
            );
            uses.push(MetricUse {
                place: place.clone(),
                namespace: strings[0].to_owned(),
                name: strings[1].to_owned(),
                dimensions: strings[2..]
                    .chunks(2)
                    .map(|pair| (pair[0].to_owned(), Some(pair[1].to_owned())))
                    .collect(),
                stat,
            });
        }
    }
    uses
}

fn every_metric_use(template: &Value) -> Vec<MetricUse> {
    let mut uses: Vec<MetricUse> = alarms(template)
        .iter()
        .flat_map(|(id, alarm)| alarm_metrics(id, alarm))
        .collect();
    uses.extend(dashboard_metrics(&dashboard(template)));
    uses
}

fn custom(uses: &[MetricUse]) -> impl Iterator<Item = &MetricUse> {
    uses.iter().filter(|u| u.namespace == CUSTOM_NAMESPACE)
}

fn metric_named(name: &str) -> Option<Metric> {
    Metric::ALL.into_iter().find(|m| m.name() == name)
}

fn codes(server_errors: bool) -> BTreeSet<&'static str> {
    ErrorCode::ALL
        .into_iter()
        .filter(|c| c.is_server_error() == server_errors)
        .map(ErrorCode::as_str)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Metrics.

#[test]
fn every_metric_the_alarms_and_the_dashboard_name_is_emitted_by_the_code() {
    let uses = every_metric_use(&template());
    for u in &uses {
        assert!(
            u.namespace == CUSTOM_NAMESPACE || u.namespace.starts_with("AWS/"),
            "{}: {} is read from {:?}, neither an AWS namespace nor the MetricsNamespace parameter",
            u.place,
            u.name,
            u.namespace
        );
    }
    let mut custom_uses = 0;
    for u in custom(&uses) {
        custom_uses += 1;
        if revoker_metrics().contains(&u.name.as_str()) {
            let dimensions: Vec<(&str, Option<&str>)> = u
                .dimensions
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            let service = format!("{SERVICE_VALUE}{REVOKER_SERVICE_SUFFIX}");
            assert_eq!(
                dimensions,
                [(metrics::SERVICE, Some(service.as_str()))],
                "{}: {} is revoke-tokens' metric, published under Service={service} only",
                u.place,
                u.name
            );
            continue;
        }
        let metric = metric_named(&u.name).unwrap_or_else(|| {
            panic!(
                "{} reads the metric {:?}, which the code does not emit (src/metrics/mod.rs: {:?})",
                u.place,
                u.name,
                Metric::ALL.map(Metric::name)
            )
        });
        let dimensions: BTreeSet<&str> = u.dimensions.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = metric.dimensions().iter().copied().collect();
        assert_eq!(
            dimensions, expected,
            "{}: {} is published under exactly these dimensions",
            u.place, u.name
        );
        for (dimension, value) in &u.dimensions {
            let Some(value) = value else { continue };
            let allowed: BTreeSet<&str> = match dimension.as_str() {
                metrics::SERVICE => BTreeSet::from([SERVICE_VALUE]),
                metrics::CODE => codes(metric == Metric::ServerErrors),
                metrics::INTEGRATION_TYPE => IntegrationType::ALL
                    .into_iter()
                    .map(IntegrationType::as_str)
                    .chain(["other"])
                    .collect(),
                other => panic!("{}: unknown dimension {other}", u.place),
            };
            assert!(
                allowed.contains(value.as_str()),
                "{}: {} with {dimension}={value:?}, a value the code never gives it (it gives {allowed:?})",
                u.place,
                u.name
            );
        }
        assert!(
            u.dimensions
                .get(metrics::SERVICE)
                .is_some_and(Option::is_some),
            "{}: {} selects Service={SERVICE_VALUE}, this stack's function",
            u.place,
            u.name
        );
    }
    assert!(
        custom_uses > 0,
        "the alarms and the dashboard read the function's metrics"
    );
}

#[test]
fn every_metric_the_code_emits_is_on_the_dashboard() {
    let template = template();
    let shown: BTreeSet<String> = dashboard_metrics(&dashboard(&template))
        .into_iter()
        .filter(|u| u.namespace == CUSTOM_NAMESPACE)
        .map(|u| u.name)
        .collect();
    let emitted: BTreeSet<String> = Metric::ALL
        .iter()
        .map(|m| m.name().to_owned())
        .chain(revoker_metrics().into_iter().map(str::to_owned))
        .collect();
    let missing: Vec<&String> = emitted.difference(&shown).collect();
    assert!(
        missing.is_empty(),
        "the code emits {missing:?}, which the dashboard does not show"
    );
}

#[test]
fn every_latency_is_on_the_dashboard_at_p50_and_p99() {
    let uses = dashboard_metrics(&dashboard(&template()));
    for metric in Metric::ALL
        .into_iter()
        .filter(|m| m.unit() == Unit::Milliseconds)
    {
        let stats: BTreeSet<&str> = custom(&uses)
            .filter(|u| u.name == metric.name())
            .filter_map(|u| u.stat.as_deref())
            .collect();
        for stat in ["p50", "p99"] {
            assert!(
                stats.contains(stat),
                "{} is on the dashboard at {stat} (found {stats:?})",
                metric.name()
            );
        }
    }
}

#[test]
fn the_server_errors_alarm_sums_exactly_the_5xx_codes() {
    let template = template();
    let alarms = alarms(&template);
    let reading: Vec<(&String, &Value)> = alarms
        .iter()
        .filter(|(id, alarm)| {
            alarm_metrics(id, alarm)
                .iter()
                .any(|u| u.namespace == CUSTOM_NAMESPACE && u.name == Metric::ServerErrors.name())
        })
        .collect();
    assert_eq!(reading.len(), 1, "one alarm reads ServerErrors");
    let (id, alarm) = reading[0];
    let queries = alarm["Properties"]["Metrics"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{id} is metric math over one metric per 5xx code"));
    let codes_read: BTreeSet<String> = alarm_metrics(id, alarm)
        .into_iter()
        .map(|u| {
            assert_eq!(
                u.name,
                Metric::ServerErrors.name(),
                "{id} reads ServerErrors only"
            );
            assert_eq!(u.stat.as_deref(), Some("Sum"), "{id} counts");
            u.dimensions
                .get(metrics::CODE)
                .cloned()
                .flatten()
                .unwrap_or_else(|| panic!("{id} reads ServerErrors of one Code each"))
        })
        .collect();
    let expected: BTreeSet<String> = codes(true).into_iter().map(str::to_owned).collect();
    assert_eq!(
        codes_read, expected,
        "{id} covers exactly the 5xx codes of ErrorCode::ALL"
    );

    let returned: Vec<&Value> = queries
        .iter()
        .filter(|q| q["ReturnData"].as_bool() != Some(false))
        .collect();
    assert_eq!(returned.len(), 1, "{id} alarms on one expression");
    let expression = text(&returned[0]["Expression"]);
    assert!(expression.starts_with("SUM("), "{id} sums: {expression}");
    for query in queries.iter().filter(|q| !q["MetricStat"].is_null()) {
        let query_id = text(&query["Id"]);
        assert!(
            expression.contains(&query_id),
            "{id}'s expression {expression} leaves out {query_id}"
        );
    }
}

#[test]
fn the_api_5xx_alarm_is_a_percentage_of_the_http_api_requests() {
    let template = template();
    let alarm = &template["Resources"]["Api5xxRateAlarm"];
    let uses = alarm_metrics("Api5xxRateAlarm", alarm);
    let names: BTreeSet<&str> = uses.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["5xx", "Count"]));
    for u in &uses {
        assert_eq!(u.namespace, "AWS/ApiGateway");
        assert_eq!(u.stat.as_deref(), Some("Sum"));
        let expected = BTreeMap::from([
            ("ApiId".to_owned(), Some("${HttpApi}".to_owned())),
            ("Stage".to_owned(), Some("$default".to_owned())),
        ]);
        assert_eq!(
            u.dimensions, expected,
            "{} of this API's $default stage",
            u.name
        );
    }
    let properties = &alarm["Properties"];
    assert!(
        is_ref(&properties["Threshold"], "Api5xxRateAlarmPercent"),
        "the percentage is a parameter"
    );
    let expression = properties["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|q| !q["Expression"].is_null())
        .map(|q| text(&q["Expression"]))
        .expect("an expression");
    assert!(expression.contains("100 *"), "a percentage: {expression}");
}

#[test]
fn the_duration_alarm_watches_p99_against_the_request_deadline() {
    let template = template();
    let properties = &template["Resources"]["FunctionDurationAlarm"]["Properties"];
    assert_eq!(text(&properties["MetricName"]), "Duration");
    assert_eq!(text(&properties["ExtendedStatistic"]), "p99");
    assert!(is_ref(&properties["Threshold"], "RequestDeadlineMs"));
}

// ---------------------------------------------------------------------------------------------
// The function's metric settings, logs, access logs and throttling.

#[test]
fn the_function_publishes_its_metrics_under_the_namespace_parameter_and_the_stack_name() {
    let template = template();
    let variables = &function(&template)["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&variables["METRICS_NAMESPACE"]), CUSTOM_NAMESPACE);
    assert_eq!(text(&variables["METRICS_SERVICE"]), SERVICE_VALUE);
    assert_eq!(
        template["Parameters"]["MetricsNamespace"]["Default"].as_str(),
        Some(metrics::DEFAULT_NAMESPACE),
        "the parameter's default is the code's"
    );
}

#[test]
fn the_function_logs_to_its_own_log_group_kept_for_the_retention_parameter() {
    let template = template();
    let logging = &function(&template)["Properties"]["LoggingConfig"];
    assert_eq!(logging["LogFormat"].as_str(), Some("JSON"));
    let group = referenced_resource(&template, &logging["LogGroup"], "AWS::Logs::LogGroup");
    assert!(
        is_ref(
            &template["Resources"][group.as_str()]["Properties"]["RetentionInDays"],
            "LogRetentionDays"
        ),
        "{group} keeps its logs for LogRetentionDays"
    );

    let parameter = &template["Parameters"]["LogRetentionDays"];
    assert_eq!(parameter["Default"].as_u64(), Some(30));
    let allowed: Vec<u64> = parameter["AllowedValues"]
        .as_sequence()
        .expect("AllowedValues")
        .iter()
        .map(|v| v.as_u64().expect("a number of days"))
        .collect();
    assert_eq!(
        allowed, RETENTION_DAYS,
        "the values CloudWatch Logs accepts"
    );
}

#[test]
fn the_api_access_logs_are_json_with_the_fields_to_trace_a_request() {
    let template = template();
    let (_, api) = the_one(&template, "AWS::Serverless::HttpApi");
    let settings = &api["Properties"]["AccessLogSettings"];
    let destination = text(&settings["DestinationArn"]);
    let group = destination
        .strip_prefix("${")
        .and_then(|d| d.strip_suffix(".Arn}"))
        .unwrap_or_else(|| panic!("the access logs go to a log group's Arn: {destination}"));
    assert_eq!(
        template["Resources"][group]["Type"].as_str(),
        Some("AWS::Logs::LogGroup")
    );
    assert!(
        is_ref(
            &template["Resources"][group]["Properties"]["RetentionInDays"],
            "LogRetentionDays"
        ),
        "{group} keeps its logs for LogRetentionDays"
    );

    let format = text(&settings["Format"]);
    assert!(!format.contains('\n'), "one line per request: {format}");
    let fields: BTreeMap<String, Json> =
        serde_json::from_str(&format).unwrap_or_else(|e| panic!("a JSON object: {e}: {format}"));
    let variables: BTreeSet<&str> = fields
        .values()
        .map(|v| v.as_str().expect("every field is a quoted string"))
        .collect();
    for required in [
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationLatency",
        "$context.integrationErrorMessage",
        "$context.integration.error",
        // The Lambda request id: the function's requestId and the answer's error.requestId.
        "$context.integration.requestId",
    ] {
        assert!(
            variables.contains(required),
            "the access log has {required}"
        );
    }
}

#[test]
fn the_api_throttles_every_route_by_the_throttling_parameters() {
    let template = template();
    let (_, api) = the_one(&template, "AWS::Serverless::HttpApi");
    let settings = &api["Properties"]["DefaultRouteSettings"];
    for setting in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        assert!(
            is_ref(&settings[setting], setting),
            "{setting} is its parameter"
        );
        let parameter = &template["Parameters"][setting];
        assert_eq!(parameter["Type"].as_str(), Some("Number"));
        assert!(parameter["Default"].as_u64().is_some_and(|d| d > 0));
    }
    let default = |p: &str| template["Parameters"][p]["Default"].as_u64().unwrap();
    assert!(
        default("ThrottlingBurstLimit") >= default("ThrottlingRateLimit"),
        "a burst takes at least a second's worth of requests"
    );
}

// ---------------------------------------------------------------------------------------------
// Alarms: actions, missing data, rollback, the dashboard's alarm widget.

#[test]
fn every_alarm_notifies_a_topic_the_given_one_or_the_stacks_own_and_takes_missing_data_as_fine() {
    let template = template();
    assert_eq!(
        template["Parameters"]["AlarmTopicArn"]["Default"].as_str(),
        Some(""),
        "the topic is optional"
    );
    let condition = intrinsic(&template["Conditions"]["HasAlarmTopic"], "Not")
        .and_then(|not| intrinsic(&not[0], "Equals"))
        .expect("HasAlarmTopic: !Not [!Equals [...]]");
    assert!(is_ref(&condition[0], "AlarmTopicArn"));
    assert_eq!(condition[1].as_str(), Some(""));
    let created = intrinsic(&template["Conditions"]["CreateAlarmTopic"], "Equals")
        .expect("CreateAlarmTopic: !Equals [...]");
    assert!(is_ref(&created[0], "AlarmTopicArn") && created[1].as_str() == Some(""));
    let topic = &template["Resources"]["AlarmTopic"];
    assert_eq!(topic["Type"].as_str(), Some("AWS::SNS::Topic"));
    assert_eq!(topic["Condition"].as_str(), Some("CreateAlarmTopic"));
    let subscription = &template["Resources"]["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"].as_str(), Some("HasAlarmEmail"));

    for (id, alarm) in alarms(&template) {
        let properties = &alarm["Properties"];
        assert_eq!(
            properties["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id}: no traffic is no alarm"
        );
        for actions in ["AlarmActions", "OKActions"] {
            let topics = properties[actions]
                .as_sequence()
                .unwrap_or_else(|| panic!("{id}.{actions} is a list"));
            assert_eq!(topics.len(), 1, "{id}.{actions}: one topic");
            let choice = intrinsic(&topics[0], "If")
                .and_then(Value::as_sequence)
                .unwrap_or_else(|| panic!("{id}.{actions} is [!If [HasAlarmTopic, ...]]"));
            assert_eq!(choice[0].as_str(), Some("HasAlarmTopic"), "{id}.{actions}");
            assert!(
                is_ref(&choice[1], "AlarmTopicArn"),
                "{id}.{actions} notifies AlarmTopicArn when it is set"
            );
            assert!(
                is_ref(&choice[2], "AlarmTopic"),
                "{id}.{actions} notifies the stack's own topic otherwise: never no one"
            );
        }
    }
}

#[test]
fn every_alarm_rolls_a_deployment_back_or_is_listed_as_not_doing_so() {
    let template = template();
    let properties = &function(&template)["Properties"];
    assert_eq!(properties["AutoPublishAlias"].as_str(), Some(ALIAS));
    let preference = &properties["DeploymentPreference"];
    assert!(is_ref(&preference["Type"], "DeploymentType"));
    let deployment_type = &template["Parameters"]["DeploymentType"];
    assert_eq!(
        deployment_type["Default"].as_str(),
        Some("Canary10Percent5Minutes")
    );
    let allowed: Vec<&str> = deployment_type["AllowedValues"]
        .as_sequence()
        .expect("AllowedValues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(allowed.contains(&"AllAtOnce"), "{allowed:?}");

    let rollback: BTreeSet<String> = preference["Alarms"]
        .as_sequence()
        .expect("DeploymentPreference.Alarms")
        .iter()
        .map(|a| referenced_resource(&template, a, "AWS::CloudWatch::Alarm"))
        .collect();
    let not_rollback: BTreeSet<String> = NOT_ROLLBACK.iter().map(|(a, _)| a.to_string()).collect();
    assert!(
        rollback.is_disjoint(&not_rollback),
        "an alarm both rolls back and does not: {:?}",
        rollback.intersection(&not_rollback).collect::<Vec<_>>()
    );
    let all: BTreeSet<String> = alarms(&template).into_keys().collect();
    let listed: BTreeSet<String> = rollback.union(&not_rollback).cloned().collect();
    assert_eq!(
        all, listed,
        "every alarm is in DeploymentPreference.Alarms or in NOT_ROLLBACK here, with its reason"
    );
}

#[test]
fn the_alarms_on_lambda_read_the_alias_the_canary_shifts_or_the_whole_function() {
    let template = template();
    let rollback: BTreeSet<String> =
        function(&template)["Properties"]["DeploymentPreference"]["Alarms"]
            .as_sequence()
            .expect("DeploymentPreference.Alarms")
            .iter()
            .map(text)
            .collect();
    let alias = format!("${{DisconnectIntegrationFunction}}:{ALIAS}");
    for (id, alarm) in alarms(&template) {
        for u in alarm_metrics(&id, &alarm)
            .into_iter()
            .filter(|u| u.namespace == "AWS/Lambda")
        {
            assert_eq!(
                u.dimensions.get("FunctionName"),
                Some(&Some("${DisconnectIntegrationFunction}".to_owned())),
                "{id} reads this function"
            );
            match u.dimensions.get("Resource") {
                Some(resource) => assert_eq!(
                    resource.as_deref(),
                    Some(alias.as_str()),
                    "{id} reads the alias AutoPublishAlias makes"
                ),
                // FunctionName alone: every version, which is right for what no rollback cures.
                None => assert!(
                    !rollback.contains(&format!("${{{id}}}")),
                    "{id} rolls back, so it reads the alias {alias} the canary shifts"
                ),
            }
        }
    }
}

#[test]
fn the_dashboard_shows_the_state_of_every_alarm() {
    let template = template();
    let dashboard = dashboard(&template);
    let shown: BTreeSet<String> = widgets(&dashboard)
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| {
            w["properties"]["alarms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|arn| {
            let arn = arn.as_str().expect("an alarm ARN");
            arn.strip_prefix("${")
                .and_then(|a| a.strip_suffix(".Arn}"))
                .unwrap_or_else(|| panic!("an alarm's ${{Id.Arn}}: {arn}"))
                .to_owned()
        })
        .collect();
    let all: BTreeSet<String> = alarms(&template).into_keys().collect();
    assert_eq!(shown, all);
}
