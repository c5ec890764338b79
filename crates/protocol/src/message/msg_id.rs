//! Message ids (remoting spec §5.7): the offset msg id the broker returns, and the client unique
//! id (`UNIQ_KEY`) the broker generates when a send lacks one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A malformed offset msg id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgIdError {
    /// Neither 32 (IPv4) nor 56 (IPv6) hex characters.
    #[error("offset msg id has length {0}, expected 32 or 56")]
    BadLength(usize),
    /// A character that is not a hex digit.
    #[error("offset msg id is not hex")]
    NotHex,
}

/// Upper-case hex of `bytes` appended to `out` (a table lookup per nibble: ids are made for every
/// stored message, and `fmt` machinery costs more than the rest of a small put).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
}

fn parse_hex(s: &str) -> Result<Vec<u8>, MsgIdError> {
    let s = s.as_bytes();
    if s.len() & 1 == 1 {
        return Err(MsgIdError::NotHex);
    }
    s.chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16).ok_or(MsgIdError::NotHex)?;
            let lo = (pair[1] as char).to_digit(16).ok_or(MsgIdError::NotHex)?;
            Ok((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Offset msg id: upper-case hex of `storeIP (4|16) | i32 port | i64 commitLogOffset`.
pub fn offset_msg_id(store_host: SocketAddr, commitlog_offset: i64) -> String {
    let mut out = String::with_capacity(56);
    push_offset_msg_id(&mut out, store_host, commitlog_offset);
    out
}

/// [`offset_msg_id`] appended to `out`.
pub fn push_offset_msg_id(out: &mut String, store_host: SocketAddr, commitlog_offset: i64) {
    match store_host.ip() {
        IpAddr::V4(ip) => push_hex(out, &ip.octets()),
        IpAddr::V6(ip) => push_hex(out, &ip.octets()),
    }
    push_hex(out, &i32::from(store_host.port()).to_be_bytes());
    push_hex(out, &commitlog_offset.to_be_bytes());
}

/// Decode an offset msg id into the store host and commit-log offset (32 chars ⇒ IPv4, 56 ⇒ IPv6).
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MsgIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        n => return Err(MsgIdError::BadLength(n)),
    };
    let raw = parse_hex(id)?;
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&raw[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let port = i32::from_be_bytes([
        raw[ip_len],
        raw[ip_len + 1],
        raw[ip_len + 2],
        raw[ip_len + 3],
    ]);
    let mut off = [0u8; 8];
    off.copy_from_slice(&raw[ip_len + 4..ip_len + 12]);
    Ok((SocketAddr::new(ip, port as u16), i64::from_be_bytes(off)))
}

/// Days since 1970-01-01 → (year, month 1..=12, day), proleptic Gregorian (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// First millisecond of the month containing `now_ms` and of the next month (UTC).
fn month_bounds(now_ms: i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    let (y, m, _) = civil_from_days(now_ms.div_euclid(DAY));
    let start = days_from_civil(y, m, 1) * DAY;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * DAY)
}

/// Generator of client unique ids in the Java `MessageClientIDSetter` format:
/// upper-case hex of `ip (4|16) | i16 pid | i32 hash | i32 ms since month start | i16 counter`.
///
/// The month start is taken in UTC (Java uses the JVM time zone); the id is opaque to everyone,
/// so only its shape matters.
pub struct UniqIdGenerator {
    prefix: String,
    start_ms: AtomicI64,
    next_start_ms: AtomicI64,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// A generator for this host; `instance_hash` plays the role of Java's class-loader hash.
    pub fn new(ip: IpAddr, pid: u32, instance_hash: i32) -> Self {
        let mut prefix = String::with_capacity(44);
        match ip {
            IpAddr::V4(ip) => push_hex(&mut prefix, &ip.octets()),
            IpAddr::V6(ip) => push_hex(&mut prefix, &ip.octets()),
        }
        push_hex(&mut prefix, &(pid as u16).to_be_bytes());
        push_hex(&mut prefix, &instance_hash.to_be_bytes());
        UniqIdGenerator {
            prefix,
            start_ms: AtomicI64::new(i64::MIN),
            next_start_ms: AtomicI64::new(i64::MIN),
            counter: AtomicU16::new(0),
        }
    }

    /// A new id for the current time.
    pub fn next_id(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.next_id_at(now)
    }

    /// A new id as if the clock read `now_ms`.
    pub fn next_id_at(&self, now_ms: i64) -> String {
        if now_ms >= self.next_start_ms.load(Ordering::Relaxed)
            || now_ms < self.start_ms.load(Ordering::Relaxed)
        {
            let (start, next) = month_bounds(now_ms);
            self.start_ms.store(start, Ordering::Relaxed);
            self.next_start_ms.store(next, Ordering::Relaxed);
        }
        let mut diff = now_ms.wrapping_sub(self.start_ms.load(Ordering::Relaxed)) as i32;
        if diff < 0 && diff > -1_000_000 {
            diff = 0;
        }
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        push_hex(&mut id, &diff.to_be_bytes());
        push_hex(&mut id, &count.to_be_bytes());
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_of_the_spec() {
        let host: SocketAddr = "192.168.0.1:10911".parse().unwrap();
        assert_eq!(
            offset_msg_id(host, 1234),
            "C0A8000100002A9F00000000000004D2"
        );
        assert_eq!(offset_msg_id(host, 0), "C0A8000100002A9F0000000000000000");
        assert_eq!(
            decode_offset_msg_id("C0A8000100002A9F00000000000004D2").unwrap(),
            (host, 1234)
        );
        assert_eq!(
            decode_offset_msg_id("c0a8000100002a9f00000000000004d2").unwrap(),
            (host, 1234)
        );
    }

    #[test]
    fn offset_msg_id_ipv6() {
        let host: SocketAddr = "[2001:db8::7]:10911".parse().unwrap();
        let id = offset_msg_id(host, 1 << 33);
        assert_eq!(id.len(), 56);
        assert!(id.starts_with("20010DB8"));
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, 1 << 33));
    }

    #[test]
    fn bad_offset_msg_ids() {
        assert_eq!(decode_offset_msg_id("ABC"), Err(MsgIdError::BadLength(3)));
        assert_eq!(
            decode_offset_msg_id("Z0A8000100002A9F00000000000004D2"),
            Err(MsgIdError::NotHex)
        );
        assert!(decode_offset_msg_id("é0A8000100002A9F00000000000004D").is_err());
    }

    #[test]
    fn calendar_helpers() {
        // 2023-11-14T22:13:20Z
        let (start, next) = month_bounds(1_700_000_000_000);
        assert_eq!(start, 1_698_796_800_000); // 2023-11-01T00:00:00Z
        assert_eq!(next, 1_701_388_800_000); // 2023-12-01T00:00:00Z
        let (s, n) = month_bounds(1_703_980_800_000); // 2023-12-31
        assert_eq!(n, 1_704_067_200_000); // 2024-01-01
        assert_eq!(s, 1_701_388_800_000);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn uniq_id_layout() {
        let g = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 10)), 0x1_3039, -1);
        let a = g.next_id_at(1_700_000_000_000);
        let b = g.next_id_at(1_700_000_000_000);
        assert_eq!(a.len(), 32);
        // ip | pid low 16 bits | hash | ms since 2023-11-01 (1_203_200_000 = 0x47B7_6000) | counter
        assert_eq!(a, "C0A8000A3039FFFFFFFF47B760000000");
        assert_eq!(b, "C0A8000A3039FFFFFFFF47B760000001");
        let g6 = UniqIdGenerator::new("::1".parse().unwrap(), 1, 2);
        assert_eq!(g6.next_id().len(), 56);
    }
}
