//! Record framing, pure bytes in and out (the format is tabled in the module doc of
//! `wal`): `len: u32 LE | crc32c(lsn ++ payload): u32 LE | lsn: u64 LE | payload`.

use super::Corruption;

/// Bytes before the payload: len, crc, lsn.
pub(crate) const HEADER_BYTES: usize = 16;

/// The largest payload the log accepts (256 MiB). Also bounds what recovery will believe
/// a length field, so a torn header cannot make it allocate gigabytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;

/// Append one framed record to `out`. The caller has checked the payload size.
pub(crate) fn encode(lsn: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_BYTES);
    let lsn_bytes = lsn.to_le_bytes();
    out.reserve(HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(&lsn_bytes, payload).to_le_bytes());
    out.extend_from_slice(&lsn_bytes);
    out.extend_from_slice(payload);
}

/// One record read back from the front of a byte slice.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    pub lsn: u64,
    pub payload: &'a [u8],
    /// Bytes the whole record occupies (header + payload).
    pub size: usize,
}

/// Decode the record at the start of `bytes`, which must not be empty.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Corruption> {
    let Some(header) = bytes.get(..HEADER_BYTES) else {
        return Err(Corruption::Incomplete);
    };
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let lsn_bytes: [u8; 8] = header[8..16].try_into().expect("8 bytes");
    if len as usize > MAX_PAYLOAD_BYTES {
        return Err(Corruption::LengthTooLarge(len));
    }
    let size = HEADER_BYTES + len as usize;
    let Some(payload) = bytes.get(HEADER_BYTES..size) else {
        return Err(Corruption::Incomplete);
    };
    if checksum(&lsn_bytes, payload) != crc {
        return Err(Corruption::ChecksumMismatch);
    }
    Ok(Decoded { lsn: u64::from_le_bytes(lsn_bytes), payload, size })
}

// The lsn is inside the checksum so that a record copied to the wrong place (or a stale
// block with a valid payload) is caught, not only bit flips in the payload.
fn checksum(lsn_bytes: &[u8; 8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(lsn_bytes), payload)
}
