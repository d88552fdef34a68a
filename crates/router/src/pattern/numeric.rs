//! Numbers: the `numeric` operator, number equality, and `cidr` ranges.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Number;

/// Largest magnitude EventBridge accepts in numeric matching (documented:
/// "-5.0e9 and +5.0e9 inclusive").
pub(crate) const NUMERIC_LIMIT: f64 = 5.0e9;

/// Most decimal places EventBridge accepts in numeric matching (documented:
/// "six digits to the right of the decimal point").
pub(crate) const MAX_DECIMALS: usize = 6;

/// Checks a number used as a `numeric` operand or an `anything-but` number.
pub(crate) fn check_operand(n: &Number) -> Result<f64, String> {
    let Some(value) = n.as_f64().filter(|v| v.is_finite()) else {
        return Err(format!("{n} is not a finite number"));
    };
    if value.abs() > NUMERIC_LIMIT {
        return Err(format!(
            "{n} is out of range; numeric matching accepts values from -5e9 to 5e9 inclusive"
        ));
    }
    // `f64`'s Display never uses an exponent, and prints the shortest digits
    // that round-trip, so the digits after the point are the decimals.
    let printed = value.to_string();
    let decimals = printed.split_once('.').map_or(0, |(_, frac)| frac.len());
    if decimals > MAX_DECIMALS {
        return Err(format!(
            "{n} has {decimals} decimal places; numeric matching accepts at most {MAX_DECIMALS}"
        ));
    }
    Ok(value)
}

/// Whether two JSON numbers are equal by value (`300` = `300.0` = `3e2`).
/// Integers are compared exactly; anything else as `f64`.
pub(crate) fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// One end of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) inclusive: bool,
}

/// A compiled `numeric` condition; `=` is the range `[v, v]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumericRange {
    pub(crate) lower: Option<Bound>,
    pub(crate) upper: Option<Bound>,
}

impl NumericRange {
    /// Whether the event's number is inside the range.
    pub(crate) fn matches(&self, value: &Number) -> bool {
        let Some(x) = value.as_f64() else {
            return false;
        };
        let above = self.lower.is_none_or(|b| {
            if b.inclusive {
                x >= b.value
            } else {
                x > b.value
            }
        });
        let below = self.upper.is_none_or(|b| {
            if b.inclusive {
                x <= b.value
            } else {
                x < b.value
            }
        });
        above && below
    }
}

/// A compiled `cidr` condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cidr {
    /// An IPv4 network: address bits and mask.
    V4 { network: u32, mask: u32 },
    /// An IPv6 network: address bits and mask.
    V6 { network: u128, mask: u128 },
}

impl Cidr {
    /// Parses `address/prefix-length`, IPv4 or IPv6, into the network it names (host bits
    /// set in the address are ignored; see [`Cidr::host_bits_note`]).
    pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
        Cidr::parse_raw(text).map(Cidr::network)
    }

    /// Parses `address/prefix-length` keeping the address as written.
    fn parse_raw(text: &str) -> Result<Cidr, String> {
        const FORM: &str =
            "expected `address/prefix-length` such as \"10.0.0.0/24\" or \"2001:db8::/32\"";
        let Some((address, length)) = text.split_once('/') else {
            return Err(format!("{text:?} has no `/`; {FORM}"));
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IPv4 or IPv6 address; {FORM}"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let bits: u32 = match length.parse() {
            Ok(bits) if length.bytes().all(|b| b.is_ascii_digit()) && bits <= max => bits,
            _ => {
                return Err(format!(
                    "prefix length {length:?} is not a whole number from 0 to {max}; {FORM}"
                ));
            }
        };
        let cidr = match address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                Cidr::V4 {
                    network: u32::from(a),
                    mask,
                }
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                Cidr::V6 {
                    network: u128::from(a),
                    mask,
                }
            }
        };
        Ok(cidr)
    }

    /// When the address has bits set past the prefix (`10.0.0.5/24`), the network it stands
    /// for written as such (`10.0.0.0/24`): aws/event-ruler accepts such a range and matches
    /// the network, so fanout does too, and `fanout check` suggests the network's own form.
    pub(crate) fn host_bits_note(text: &str) -> Option<String> {
        let cidr = Cidr::parse_raw(text).ok()?;
        let network = cidr.network();
        (network != cidr).then(|| {
            let bits = match network {
                Cidr::V4 { mask, .. } => mask.count_ones(),
                Cidr::V6 { mask, .. } => mask.count_ones(),
            };
            format!("{}/{bits}", network.address())
        })
    }

    /// The range with the host bits of its address cleared.
    fn network(self) -> Cidr {
        match self {
            Cidr::V4 { network, mask } => Cidr::V4 {
                network: network & mask,
                mask,
            },
            Cidr::V6 { network, mask } => Cidr::V6 {
                network: network & mask,
                mask,
            },
        }
    }

    fn address(self) -> IpAddr {
        match self {
            Cidr::V4 { network, .. } => IpAddr::V4(Ipv4Addr::from(network)),
            Cidr::V6 { network, .. } => IpAddr::V6(Ipv6Addr::from(network)),
        }
    }

    /// The text every matching address starts with, for an IPv4 network of 8 bits or more:
    /// its whole leading octets, each followed by a dot (`10.1.` for `10.1.0.0/16`; the whole
    /// address for a /32). [`Cidr::matches`] takes only dotted-decimal text without leading
    /// zeros, so that text is the only way to write those octets.
    pub(crate) fn text_prefix(&self) -> Option<String> {
        let Cidr::V4 { network, mask } = *self else {
            return None;
        };
        let octets = (mask.count_ones() / 8) as usize;
        if octets == 0 {
            return None;
        }
        let bytes = network.to_be_bytes();
        let mut text: Vec<String> = bytes[..octets].iter().map(u8::to_string).collect();
        if octets < 4 {
            text.push(String::new()); // the trailing dot
        }
        Some(text.join("."))
    }

    /// Whether the event string is an IP address of the same family inside
    /// the network.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match (self, text.parse::<IpAddr>()) {
            (Cidr::V4 { network, mask }, Ok(IpAddr::V4(a))) => u32::from(a) & mask == *network,
            (Cidr::V6 { network, mask }, Ok(IpAddr::V6(a))) => u128::from(a) & mask == *network,
            _ => false,
        }
    }
}
