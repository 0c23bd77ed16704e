//! `expr_template_values` on the wire -> the expression crate's template values.

use quiver_expr::TemplateValue;
use quiver_proto::schema::{self as wire, template_array_value::Data as ArrayData, template_value::Val};
use std::collections::HashMap;

pub fn from_wire(values: &HashMap<String, wire::TemplateValue>) -> Result<HashMap<String, TemplateValue>, String> {
    values.iter().map(|(name, value)| Ok((name.clone(), value_from_wire(name, value)?))).collect()
}

fn value_from_wire(name: &str, value: &wire::TemplateValue) -> Result<TemplateValue, String> {
    Ok(match &value.val {
        Some(Val::BoolVal(v)) => TemplateValue::Bool(*v),
        Some(Val::Int64Val(v)) => TemplateValue::Int(*v),
        Some(Val::FloatVal(v)) => TemplateValue::Float(*v),
        Some(Val::StringVal(v)) => TemplateValue::String(v.clone()),
        Some(Val::ArrayVal(array)) => array_from_wire(name, array)?,
        Some(Val::BytesVal(bytes)) => {
            TemplateValue::Json(serde_json::from_slice(bytes).map_err(|e| format!("template value {name} is not valid JSON: {e}"))?)
        }
        None => return Err(format!("template value {name} is empty")),
    })
}

fn array_from_wire(name: &str, array: &wire::TemplateArrayValue) -> Result<TemplateValue, String> {
    let items = match &array.data {
        Some(ArrayData::BoolData(v)) => v.data.iter().map(|b| TemplateValue::Bool(*b)).collect(),
        Some(ArrayData::LongData(v)) => v.data.iter().map(|i| TemplateValue::Int(*i)).collect(),
        Some(ArrayData::DoubleData(v)) => v.data.iter().map(|f| TemplateValue::Float(*f)).collect(),
        Some(ArrayData::StringData(v)) => v.data.iter().map(|s| TemplateValue::String(s.clone())).collect(),
        Some(ArrayData::ArrayData(v)) => v.data.iter().map(|a| array_from_wire(name, a)).collect::<Result<_, _>>()?,
        Some(ArrayData::JsonData(v)) => v
            .data
            .iter()
            .map(|b| {
                serde_json::from_slice(b).map(TemplateValue::Json).map_err(|e| format!("template value {name} is not valid JSON: {e}"))
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(TemplateValue::Array(items))
}
