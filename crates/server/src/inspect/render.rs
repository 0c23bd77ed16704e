//! Text shapes shared by the `inspect` subcommands: aligned tables, times, sizes, types.

pub use crate::text::table;
use quiver_base::Timestamp;
use quiver_format::schema::{DataType, FieldSchema};

/// Unix milliseconds as RFC 3339 UTC with milliseconds: `2024-01-01T12:00:00.000Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (year, month, day) = crate::text::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// A hybrid timestamp's physical time, for people: `2024-01-01 12:00:00 UTC`.
pub fn utc(ts: Timestamp) -> String {
    let text = rfc3339_ms(ts.physical_ms());
    format!("{} {} UTC", &text[..10], &text[11..19])
}

/// Bytes for people: `999 B`, `1.5 KiB`, `12.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A CRC-32C as 8 hex digits.
pub fn crc(value: u32) -> String {
    format!("{value:08x}")
}

/// A field's type with its parameters: `FloatVector(dim=8)`, `VarChar(max_length=64)`,
/// `Array<Int64>(max_capacity=4)`.
pub fn field_type(field: &FieldSchema) -> String {
    let mut name = field.data_type.name().to_string();
    if field.data_type == DataType::Array
        && let Some(element) = field.element_type
    {
        name = format!("Array<{}>", element.name());
    }
    let params: Vec<String> = field
        .type_params
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "dim" | "max_length" | "max_capacity"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if params.is_empty() { name } else { format!("{name}({})", params.join(", ")) }
}

/// The flags of a field that matter to a reader: `primary key, auto id, nullable, …`.
pub fn field_flags(field: &FieldSchema) -> String {
    let mut flags = Vec::new();
    if field.is_primary_key {
        flags.push("primary key".to_string());
    }
    if field.auto_id {
        flags.push("auto id".to_string());
    }
    if field.is_partition_key {
        flags.push("partition key".to_string());
    }
    if field.is_clustering_key {
        flags.push("clustering key".to_string());
    }
    if field.nullable {
        flags.push("nullable".to_string());
    }
    if let Some(default) = &field.default_value {
        flags.push(format!("default {default:?}"));
    }
    flags.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc(Timestamp::compose(1_700_000_000_123, 5)), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn sizes_and_tables() {
        assert_eq!(size(10), "10 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(table(&["A", "BB"], &[vec!["long".into(), "x".into()]]), "A     BB\nlong  x");
    }
}
