//! `quiver audit`: print the audit log from the data directory, no server needed.
//!
//! Records print oldest first, as a table or (`--json`) one JSON object per line as
//! stored. A line that is not a record (the torn last line of a crash) is reported on
//! stderr and skipped. Exit codes: 0 printed (possibly nothing), 2 usage or I/O error.

use super::{DIRECTORY, Record, file_name};
use quiver_base::Clock;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The server's data directory.
    #[arg(long, env = "QUIVER_DATA_DIR", default_value = "./quiver-data")]
    data_dir: PathBuf,
    /// Only records from then on: `2026-12-03`, `2026-12-03T20:00:00Z`, or an age
    /// (`30m`, `2h`, `7d`).
    #[arg(long)]
    since: Option<String>,
    /// Only this user's records (for failed logins, the name that was tried).
    #[arg(long)]
    user: Option<String>,
    /// Only this action (an RPC name such as `DropSnapshot`, or `Login`), any case.
    #[arg(long)]
    action: Option<String>,
    /// One JSON object per line, as stored.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AuditArgs) -> ExitCode {
    match records(&args) {
        Ok(records) => {
            if args.json {
                for record in &records {
                    println!("{}", serde_json::to_string(record).expect("a record serialises"));
                }
            } else if !records.is_empty() {
                println!("{}", table(&records));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("quiver audit: {error}");
            ExitCode::from(2)
        }
    }
}

fn records(args: &AuditArgs) -> Result<Vec<Record>, String> {
    let since = match &args.since {
        Some(text) => Some(parse_since(text, quiver_base::SystemClock.now_ms())?),
        None => None,
    };
    let directory = args.data_dir.join(DIRECTORY);
    let entries = match std::fs::read_dir(&directory) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no audit log in {} (is --data-dir the server's?)", args.data_dir.display()));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", directory.display())),
    };
    let mut files: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("audit-") && name.ends_with(".jsonl"))
        .collect();
    // `audit-YYYYMMDD.jsonl` sorts by day; a day before `since`'s holds nothing wanted.
    files.sort();
    let first_day = since.map(file_name);
    let mut records = Vec::new();
    for name in files.iter().filter(|name| first_day.as_ref().is_none_or(|first| *name >= first)) {
        let path = directory.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (number, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
            match serde_json::from_str::<Record>(line) {
                Ok(record) if wanted(&record, args, since) => records.push(record),
                Ok(_) => {}
                Err(error) => eprintln!("quiver audit: {}:{}: skipped, not a record: {error}", path.display(), number + 1),
            }
        }
    }
    Ok(records)
}

fn wanted(record: &Record, args: &AuditArgs, since: Option<u64>) -> bool {
    since.is_none_or(|since| record.time_ms >= since)
        && args.user.as_ref().is_none_or(|user| record.user.as_ref() == Some(user))
        && args.action.as_ref().is_none_or(|action| record.action.eq_ignore_ascii_case(action))
}

fn table(records: &[Record]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let result = if r.code == 0 { r.result.clone() } else { format!("{} {}: {}", r.result, r.code, r.reason) };
            vec![
                r.time.clone(),
                r.user.clone().unwrap_or_else(|| "-".to_string()),
                r.peer.clone().unwrap_or_else(|| "-".to_string()),
                r.action.clone(),
                if r.db.is_empty() { "-".to_string() } else { r.db.clone() },
                r.object.clone(),
                result,
            ]
        })
        .collect();
    crate::text::table(&["TIME", "USER", "PEER", "ACTION", "DB", "OBJECT", "RESULT"], &rows)
}

/// `--since` as milliseconds since the epoch: a UTC date, a UTC date and time
/// (`2026-12-03T20:00:00Z`, seconds and `Z` optional), or an age before `now_ms`.
fn parse_since(text: &str, now_ms: u64) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("invalid --since {text:?}: expected 2026-12-03, 2026-12-03T20:00:00Z, or an age such as 30m, 2h, 7d");
    if let Some(unit) = text.chars().last().filter(|c| "smhd".contains(*c))
        && let Ok(amount) = text[..text.len() - 1].parse::<u64>()
    {
        let unit_ms = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            _ => 86_400_000,
        };
        return Ok(now_ms.saturating_sub(amount.saturating_mul(unit_ms)));
    }
    let (date, time) = text.split_once('T').unwrap_or((text, ""));
    let numbers = |part: &str, separator: char| -> Option<Vec<u64>> { part.split(separator).map(|n| n.parse().ok()).collect() };
    let date = numbers(date, '-').filter(|d| d.len() == 3).ok_or_else(bad)?;
    let time = match time.trim_end_matches('Z') {
        "" => vec![0, 0, 0],
        clock => numbers(clock, ':').filter(|t| (2..=3).contains(&t.len())).ok_or_else(bad)?,
    };
    let (month, day) = (date[1], date[2]);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || time[0] > 23 || time[1] > 59 || time.get(2).is_some_and(|s| *s > 59) {
        return Err(bad());
    }
    let days = days_from_civil(date[0] as i64, month as u32, day as u32);
    let seconds = time[0] * 3600 + time[1] * 60 + time.get(2).copied().unwrap_or(0);
    u64::try_from(days).map(|days| (days * 86_400 + seconds) * 1000).map_err(|_| bad())
}

/// (year, month, day) -> days since 1970-01-01: the inverse of `text::civil_from_days`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_dates_times_and_ages() {
        let dec3 = 1_796_256_000_000; // 2026-12-03T00:00:00Z
        assert_eq!(parse_since("2026-12-03", 0).unwrap(), dec3);
        assert_eq!(parse_since("2026-12-03T20:00:00Z", 0).unwrap(), dec3 + 20 * 3_600_000);
        assert_eq!(parse_since("2026-12-03T20:30", 0).unwrap(), dec3 + 20 * 3_600_000 + 30 * 60_000);
        assert_eq!(parse_since("2h", dec3).unwrap(), dec3 - 2 * 3_600_000);
        assert_eq!(parse_since("7d", 1000).unwrap(), 0);
        for bad in ["yesterday", "2026-13-01", "2026-12-03T25:00", "12/03/2026", "h"] {
            assert!(parse_since(bad, 0).unwrap_err().contains("invalid --since"), "{bad}");
        }
        for days in [-1, 0, 59, 365 * 30, 20_790] {
            let (y, m, d) = crate::text::civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
