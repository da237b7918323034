//! The SIP message entry point: whatever arrives on the SIP socket (as a UDP
//! datagram or a TCP byte stream) goes through `parse_untrusted`, which parses,
//! frames, reads the name-addr headers, the SDP and INFO bodies. It must never
//! panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dialticket::sip::parse_untrusted(data);
});
