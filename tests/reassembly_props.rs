//! Property tests: any segmentation, order, duplication and overlap of a byte stream
//! reassembles to the original; removed segments come back as gaps of exactly their size.

use proptest::prelude::*;
use smtpcap::internals::tcp::{Origin, StreamEvent, StreamReassembler};
use smtpcap::Timestamp;

#[derive(Debug, Clone, PartialEq)]
enum Out {
    Data(Vec<u8>),
    Gap(u64),
}

fn run(isn: u32, segments: &[(u64, u64)], stream: &[u8], fin_at: Option<u64>) -> Vec<Out> {
    run_counting(isn, segments, stream, fin_at).0
}

/// The events, and how many overlapping copies disagreed.
fn run_counting(
    isn: u32,
    segments: &[(u64, u64)],
    stream: &[u8],
    fin_at: Option<u64>,
) -> (Vec<Out>, u64) {
    let mut r = StreamReassembler::new(u64::MAX);
    let mut out: Vec<Out> = Vec::new();
    let mut emit = |_o: Origin, ev: StreamEvent<'_>| match ev {
        StreamEvent::Data(d) => match out.last_mut() {
            Some(Out::Data(v)) => v.extend_from_slice(d),
            _ => out.push(Out::Data(d.to_vec())),
        },
        StreamEvent::Gap { len, .. } => match out.last_mut() {
            Some(Out::Gap(n)) => *n += len,
            _ => out.push(Out::Gap(len)),
        },
    };
    r.syn(isn);
    for (i, &(start, end)) in segments.iter().enumerate() {
        let seq = isn.wrapping_add(1).wrapping_add(start as u32);
        r.segment(
            seq,
            &stream[start as usize..end as usize],
            0,
            false,
            origin(i as u64 + 1),
            &mut emit,
        );
    }
    if let Some(fin) = fin_at {
        let seq = isn.wrapping_add(1).wrapping_add(fin as u32);
        r.segment(seq, &[], 0, true, origin(9999), &mut emit);
    }
    r.flush(origin(10000), &mut emit);
    (out, r.stats.conflicting_overlaps)
}

fn origin(frame: u64) -> Origin {
    Origin {
        frame,
        time: Timestamp::default(),
        needs: 0,
        ack: 0,
    }
}

/// Cut points that split 0..len into consecutive segments.
fn cuts(len: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0..=len as u64, 0..40).prop_map(move |mut v| {
        v.push(0);
        v.push(len as u64);
        v.sort_unstable();
        v.dedup();
        v
    })
}

fn isn() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (0u32..4096).prop_map(|d| u32::MAX - d)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_order_duplication_and_overlap_reassembles(
        stream in prop::collection::vec(any::<u8>(), 1..3000),
        isn in isn(),
        seed in any::<u64>(),
        extra in prop::collection::vec((any::<prop::sample::Index>(), 1usize..400), 0..20),
    ) {
        let len = stream.len();
        // A segmentation covering everything, plus random overlapping extra copies.
        let step = 1 + (seed as usize % 200);
        let mut segs: Vec<(u64, u64)> = (0..len).step_by(step).map(|s| (s as u64, (s + step).min(len) as u64)).collect();
        for (at, n) in &extra {
            let s = at.index(len);
            segs.push((s as u64, (s + n).min(len) as u64));
        }
        // Deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..segs.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            segs.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let (out, conflicts) = run_counting(isn, &segs, &stream, None);
        prop_assert_eq!(out, vec![Out::Data(stream.clone())]);
        // Every copy carries the same bytes: none may be taken for a conflict.
        prop_assert_eq!(conflicts, 0);
    }

    #[test]
    fn removed_segments_are_gaps_of_their_size(
        stream in prop::collection::vec(any::<u8>(), 1..3000),
        isn in isn(),
        cut_points in cuts(3000),
        drop_mask in any::<u64>(),
        reverse in any::<bool>(),
    ) {
        let len = stream.len() as u64;
        let points: Vec<u64> = cut_points.into_iter().filter(|&c| c <= len).chain([len]).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let all: Vec<(u64, u64)> = points.windows(2).map(|w| (w[0], w[1])).collect();
        let mut kept = Vec::new();
        let mut expected: Vec<Out> = Vec::new();
        for (i, &(s, e)) in all.iter().enumerate() {
            let dropped = drop_mask >> (i % 64) & 1 == 1;
            let piece = if dropped { Out::Gap(e - s) } else { kept.push((s, e)); Out::Data(stream[s as usize..e as usize].to_vec()) };
            match (expected.last_mut(), piece) {
                (Some(Out::Gap(n)), Out::Gap(m)) => *n += m,
                (Some(Out::Data(v)), Out::Data(d)) => v.extend(d),
                (_, p) => expected.push(p),
            }
        }
        if reverse { kept.reverse(); }
        let out = run(isn, &kept, &stream, Some(len));
        prop_assert_eq!(out, expected);
    }
}
