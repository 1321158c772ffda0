#![no_main]
//! Any bytes as a capture file: frames or a clean error, never a panic or a hang.
//! Frame numbers rise but may skip: blocks Wireshark counts as frames and smtpcap does not
//! analyse (systemd journal, sysdig events) keep their numbers.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) =
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), false)
    else {
        return;
    };
    let mut last = 0;
    while let Ok(Some(f)) = r.next_frame() {
        assert!(f.number > last, "frame {} after frame {last}", f.number);
        last = f.number;
    }
});
