//! Text shapes shared by the `inspect` subcommands: aligned tables, times, sizes, types.

use quiver_base::Timestamp;
use quiver_format::schema::{DataType, FieldSchema};

/// A table with a header row, columns padded to their widest cell (the last one not).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds: `2024-01-01T12:00:00.000Z`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
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
        assert_eq!(table(&["A", "BB"], &[vec!["long".into(), "x".into()]]), "A     BB\nlong  x\n");
    }
}
