#![no_main]
//! Any bytes as a capture file: frames or a clean error, never a panic or a hang.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), false) else { return };
    let mut last = 0;
    while let Ok(Some(f)) = r.next_frame() {
        assert_eq!(f.number, last + 1);
        last = f.number;
    }
});
