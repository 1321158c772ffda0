#![no_main]
//! Arbitrary bytes as a pcapng file, block by block: framing never panics, and a block
//! rebuilt with its own options reads back with the same options.
use libfuzzer_sys::fuzz_target;
use smtpcap::internals::capture::blocks::BlockFramer;

fuzz_target!(|data: &[u8]| {
    let mut framer = BlockFramer::new(data);
    let mut blocks = 0;
    while let Ok(Some(block)) = framer.next_block() {
        blocks += 1;
        if blocks > 10_000 {
            break;
        }
        let options = block.options();
        let rebuilt = block.with_options(&options);
        assert_eq!(rebuilt.bytes.len() % 4, 0);
        if block
            .options_at()
            .is_some_and(|at| at <= block.bytes.len().saturating_sub(4))
        {
            assert_eq!(rebuilt.options(), options, "options survive a rebuild");
        }
    }
});
