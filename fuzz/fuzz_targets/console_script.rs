//! The console's line grammar: any line parses or is refused with a hint, without
//! panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = bot::console::script::parse_line(line);
        let _ = bot::console::script::parse_duration(line);
    }
});
