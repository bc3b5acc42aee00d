//! Compute resources of a model server pod: cpu, memory and GPUs, as Kubernetes quantities.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// Compute resources of one replica.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// CPU, as a Kubernetes quantity (`"1"`, `500m`).
    #[serde(default)]
    pub cpu: Option<Quantity>,
    /// Memory, as a Kubernetes quantity (`2Gi`).
    #[serde(default)]
    pub memory: Option<Quantity>,
    /// Number of NVIDIA GPUs (`nvidia.com/gpu`); 0 means none.
    #[serde(default)]
    pub gpu: u32,
}

/// A Kubernetes resource quantity. YAML numbers are accepted and written out as strings.
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Quantity(#[schemars(schema_with = "quantity_schema")] pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;
        impl serde::de::Visitor<'_> for QuantityVisitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as `500m`, `\"1\"` or `2Gi`")
            }
            fn visit_str<E>(self, s: &str) -> Result<Quantity, E> {
                Ok(Quantity(s.to_owned()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Quantity, E> {
                Ok(Quantity(x.to_string()))
            }
        }
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// A quantity's schema: a string or a number, as Kubernetes accepts.
fn quantity_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [{ "type": "string" }, { "type": "number" }],
        "description": "A Kubernetes quantity: `500m`, `\"1\"`, `2Gi`."
    })
}
