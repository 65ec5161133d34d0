//! Reading `template.yaml`: its resources and the intrinsic functions in their short (`!Ref X`)
//! or long (`{Ref: X}`) form, for every test that reads the template.

use serde_yaml::Value as Yaml;

/// The resource `id`, checked to be of type `kind`.
pub fn resource<'a>(template: &'a Yaml, id: &str, kind: &str) -> &'a Yaml {
    let resource = &template["Resources"][id];
    assert_eq!(
        resource["Type"].as_str(),
        Some(kind),
        "template.yaml's {id} is a {kind}"
    );
    resource
}

/// The argument of intrinsic `name` (`Ref`, `Sub`, `If`, `GetAtt`, ...) when `value` is one,
/// in its short or long form.
pub fn intrinsic<'a>(value: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        Yaml::Mapping(map) if map.len() == 1 => map.get(if name == "Ref" {
            "Ref".to_owned()
        } else {
            format!("Fn::{name}")
        }),
        _ => None,
    }
}

/// `!GetAtt Resource.Attribute` as `Resource.Attribute`.
pub fn get_att(value: &Yaml) -> String {
    match intrinsic(value, "GetAtt").unwrap_or_else(|| panic!("a !GetAtt: {value:?}")) {
        Yaml::Sequence(parts) => parts
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("."),
        other => other.as_str().expect("!GetAtt of a name").to_owned(),
    }
}

/// The default of the parameter that `value` (`!Ref Parameter`) names.
pub fn parameter_default(template: &Yaml, value: &Yaml) -> String {
    let name = intrinsic(value, "Ref")
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("a !Ref to a parameter: {value:?}"));
    template["Parameters"][name]["Default"]
        .as_str()
        .unwrap_or_else(|| panic!("parameter {name} has a default"))
        .to_owned()
}
