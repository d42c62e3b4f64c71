//! The event queue: events ordered by (time, insertion sequence).
//!
//! Two events at the same instant run in the order they were scheduled (first in, first
//! out), so a run never depends on the heap's internal layout.
//!
//! Besides the binary heap, the queue has *lanes*: FIFO queues for events scheduled a
//! constant delay after "now" (every 1 s timeout, every 1 ms hop of a fixed link). Since
//! the clock never goes back, such events enter a lane in time order, so a lane needs no
//! sorting; `pop` takes the smallest (time, sequence) key among the heap's top and the
//! lanes' fronts. The order is exactly the one a single heap would give, but a run with
//! thousands of pending timeouts keeps a small heap. The lanes are kept sorted by their
//! fronts, so the earliest is the first, and a pop from it moves it back only past the
//! lanes whose fronts it passed (usually none or one) instead of scanning them all.
//!
//! The events that are not in a lane (`Pending`) are few (M/M/4: at most five; the
//! baseline with every component on: about fifty) and a new one is mostly due soon, so
//! they are kept in a vector sorted latest first: a pop takes the last entry, a push
//! moves the few earlier ones (one to five on average in the bundled benchmarks) up a
//! slot. Past 128 events, or when pushes move more than 16 entries on average, they go to
//! std's binary heap, and back below 33. (4- and 8-ary heaps of our own took more
//! instructions than std's heap, whose pop sifts the hole to the bottom and the last entry
//! back up.)

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Clone, Copy)]
struct Entry<E> {
    /// Time in the high 64 bits, sequence in the low 64: one integer comparison orders both.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so the max-heap pops the earliest key.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A lane's handle, from `EventQueue::add_lane`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane(u32);

/// The events not in a lane: a vector sorted latest first while that is cheap, else a heap.
enum Pending<E> {
    Sorted(Vec<Entry<E>>),
    Heap(BinaryHeap<Entry<E>>),
}

/// Beyond this many events, the sorted vector becomes a heap...
const SORTED_MAX: usize = 128;
/// ... and back at this many (the hysteresis keeps conversions at least 96 pushes or pops apart).
const SORTED_AGAIN: usize = 32;
/// The entries a push may move on average before the sorted vector becomes a heap anyway.
const SHIFTS_ALLOWED: i64 = 16;
/// The credit of unused moves saved up at most (and at the start).
const SHIFT_CREDIT_MAX: i64 = 4096;

impl<E: Copy> Pending<E> {
    #[inline]
    fn peek_key(&self) -> u128 {
        match self {
            Pending::Sorted(v) => v.last().map_or(u128::MAX, |e| e.key),
            Pending::Heap(h) => h.peek().map_or(u128::MAX, |e| e.key),
        }
    }

    /// Pushes `e`; `credit` counts the moves left before sorting costs too much.
    #[inline(always)]
    fn push(&mut self, e: Entry<E>, credit: &mut i64) {
        match self {
            Pending::Sorted(v) if v.len() < SORTED_MAX && *credit >= 0 => {
                let len = v.len();
                let mut i = len;
                v.push(e);
                while i > 0 && v[i - 1].key < e.key {
                    v[i] = v[i - 1];
                    i -= 1;
                }
                v[i] = e;
                *credit = (*credit + SHIFTS_ALLOWED - (len - i) as i64).min(SHIFT_CREDIT_MAX);
            }
            _ => self.push_to_heap(e, credit),
        }
    }

    /// Pushes `e` onto the heap, made of the sorted vector first if need be.
    #[cold]
    #[inline(never)]
    fn push_to_heap(&mut self, e: Entry<E>, credit: &mut i64) {
        if let Pending::Sorted(v) = self {
            *self = Pending::Heap(BinaryHeap::from(std::mem::take(v)));
            *credit = SHIFT_CREDIT_MAX;
        }
        if let Pending::Heap(h) = self {
            h.push(e);
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry<E>> {
        match self {
            Pending::Sorted(v) => v.pop(),
            Pending::Heap(h) => {
                let e = h.pop();
                if h.len() <= SORTED_AGAIN {
                    self.make_sorted();
                }
                e
            }
        }
    }

    /// `into_sorted_vec` sorts by `Entry`'s reversed order: latest first.
    #[cold]
    fn make_sorted(&mut self) {
        if let Pending::Heap(h) = self {
            *self = Pending::Sorted(std::mem::take(h).into_sorted_vec());
        }
    }
}

pub struct EventQueue<E> {
    heap: Pending<E>,
    /// Moves the sorted vector may still make before it becomes a heap.
    credit: i64,
    lanes: Vec<VecDeque<Entry<E>>>,
    /// Each lane's front key (`u128::MAX`: empty), side by side for a quick scan.
    fronts: Vec<u128>,
    /// Each lane's back key (0: empty).
    backs: Vec<u128>,
    /// The lanes in increasing order of their fronts (empty lanes, at `u128::MAX`, last).
    order: Vec<u32>,
    /// The lanes that `push_sorted` fills (made at its first use).
    piles: Vec<usize>,
    /// The smallest of `fronts` (that of `order[0]`): a pop from the heap looks no further.
    lane_min: u128,
    seq: u64,
    len: usize,
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: Pending::Sorted(Vec::with_capacity(1024)),
            credit: SHIFT_CREDIT_MAX,
            lanes: Vec::new(),
            fronts: Vec::new(),
            backs: Vec::new(),
            order: Vec::new(),
            piles: Vec::new(),
            lane_min: u128::MAX,
            seq: 0,
            len: 0,
        }
    }

    /// A new lane for events that are pushed in nondecreasing time order.
    pub fn add_lane(&mut self) -> Lane {
        self.lanes.push(VecDeque::new());
        self.fronts.push(u128::MAX);
        self.backs.push(0);
        let lane = self.lanes.len() as u32 - 1;
        // Empty, so last in the order.
        self.order.push(lane);
        Lane(lane)
    }

    #[inline]
    fn key(&mut self, at: SimTime) -> u128 {
        let key = (u128::from(at.0) << 64) | u128::from(self.seq);
        self.seq += 1;
        self.len += 1;
        key
    }

    #[inline(always)]
    pub fn push(&mut self, at: SimTime, event: E) {
        let key = self.key(at);
        self.heap.push(Entry { key, event }, &mut self.credit);
    }

    /// Pushes onto a lane.
    ///
    /// # Panics
    /// If `at` is earlier than the lane's last event: lanes must stay sorted.
    #[inline]
    pub fn push_lane(&mut self, lane: Lane, at: SimTime, event: E) {
        let key = self.key(at);
        let i = lane.0 as usize;
        assert!(self.backs[i] < key || self.lanes[i].is_empty(), "lane events must be pushed in time order");
        self.append(i, key, event);
    }

    /// Pushes an event whose time is only roughly in order with those pushed before it (a
    /// deadline, say): onto the pile (a lane of the queue's own) whose last event is the
    /// latest before it, as in patience sorting, or into the heap when every pile's last
    /// event is later. Deadlines a second away would otherwise fill the heap.
    #[inline]
    pub fn push_sorted(&mut self, at: SimTime, event: E) {
        /// Enough for the slightly shuffled order of deadlines; each pile costs a pop a scan step.
        const PILES: usize = 4;
        if self.piles.is_empty() {
            for _ in 0..PILES {
                let lane = self.add_lane();
                self.piles.push(lane.0 as usize);
            }
        }
        let key = self.key(at);
        let (mut best, mut best_back) = (usize::MAX, 0);
        for &i in &self.piles {
            let back = self.backs[i];
            if back < key && (best == usize::MAX || back > best_back) {
                (best, best_back) = (i, back);
            }
        }
        if best == usize::MAX {
            self.heap.push(Entry { key, event }, &mut self.credit);
        } else {
            self.append(best, key, event);
        }
    }

    /// Appends to lane `i`, whose events are all earlier than `key`.
    #[inline(always)]
    fn append(&mut self, i: usize, key: u128, event: E) {
        let q = &mut self.lanes[i];
        q.push_back(Entry { key, event });
        self.backs[i] = key;
        if q.len() == 1 {
            // A key pushed later is larger, so only an empty lane's front changes.
            self.fronts[i] = key;
            self.move_forward(i);
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let heap_key = self.heap.peek_key();
        let entry = if self.lane_min < heap_key {
            let i = self.order[0] as usize;
            let q = &mut self.lanes[i];
            let entry = q.pop_front().expect("the lane with the smallest front is not empty");
            match q.front() {
                Some(e) => self.fronts[i] = e.key,
                None => (self.fronts[i], self.backs[i]) = (u128::MAX, 0),
            }
            self.move_first_back();
            entry
        } else {
            self.heap.pop()?
        };
        self.len -= 1;
        Some((SimTime((entry.key >> 64) as u64), entry.event))
    }

    /// The first lane's front grew (or it emptied): moves it back past the lanes whose
    /// fronts are now earlier.
    #[inline]
    fn move_first_back(&mut self) {
        let (order, fronts) = (&mut self.order[..], &self.fronts);
        let first = order[0];
        let key = fronts[first as usize];
        let mut j = 1;
        while j < order.len() && fronts[order[j] as usize] < key {
            order[j - 1] = order[j];
            j += 1;
        }
        order[j - 1] = first;
        self.lane_min = fronts[order[0] as usize];
    }

    /// Lane `i` was empty and has a front now: moves it forward past the lanes whose
    /// fronts are later. Rare (a lane seldom empties), so kept out of `append`.
    #[inline(never)]
    fn move_forward(&mut self, i: usize) {
        let (order, fronts) = (&mut self.order[..], &self.fronts);
        let mut j = order.iter().rposition(|&l| l as usize == i).expect("every lane is in the order");
        let key = fronts[i];
        while j > 0 && key < fronts[order[j - 1] as usize] {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = i as u32;
        self.lane_min = fronts[order[0] as usize];
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(1), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(1), 'd');
        q.push(SimTime(3), 'e');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
    }

    #[test]
    fn same_instant_is_fifo_at_scale() {
        let mut q = EventQueue::new();
        for i in 0..10_000u32 {
            q.push(SimTime(7), i);
        }
        for i in 0..10_000u32 {
            assert_eq!(q.pop(), Some((SimTime(7), i)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn lanes_interleave_with_the_heap_by_sequence() {
        let mut q = EventQueue::new();
        let lane = q.add_lane();
        q.push_lane(lane, SimTime(5), 'a');
        q.push(SimTime(5), 'b');
        q.push_lane(lane, SimTime(5), 'c');
        q.push(SimTime(2), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['d', 'a', 'b', 'c']);
    }

    #[test]
    fn lanes_that_empty_and_refill_keep_their_order() {
        let mut q = EventQueue::new();
        let lanes = [q.add_lane(), q.add_lane(), q.add_lane()];
        q.push_lane(lanes[2], SimTime(3), "c3");
        q.push_lane(lanes[0], SimTime(1), "a1");
        q.push_lane(lanes[1], SimTime(2), "b2");
        q.push_lane(lanes[0], SimTime(6), "a6");
        assert_eq!(q.pop(), Some((SimTime(1), "a1")));
        assert_eq!(q.pop(), Some((SimTime(2), "b2")));
        // Lane 1 emptied; refilled, it goes before lane 0's 6.
        q.push_lane(lanes[1], SimTime(4), "b4");
        q.push(SimTime(5), "h5");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["c3", "b4", "h5", "a6"]);
        assert!(q.is_empty());
    }

    impl<E> EventQueue<E> {
        fn heaped(&self) -> bool {
            matches!(self.heap, Pending::Heap(_))
        }
    }

    /// Pushes and pops against a std `BinaryHeap` ordered by (time, insertion): `times`
    /// gives each push's time from the current time and the push's number; `pops_every`
    /// pushes, one pop. Returns whether the queue was a heap at some point.
    fn against_reference(pushes: u64, pops_every: u64, times: impl Fn(u64, u64) -> u64) -> bool {
        use std::cmp::Reverse;
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let (mut now, mut heaped) = (0, false);
        for i in 0..pushes {
            let at = times(now, i);
            q.push(SimTime(at), i);
            reference.push(Reverse((at, i)));
            heaped |= q.heaped();
            if i % pops_every == 0 {
                let Reverse((t, e)) = reference.pop().expect("pushed");
                assert_eq!(q.pop(), Some((SimTime(t), e)));
                now = t;
            }
        }
        while let Some(Reverse((t, e))) = reference.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), e)));
            heaped |= q.heaped();
        }
        assert!(q.is_empty() && !q.heaped(), "a drained queue is a sorted vector again");
        heaped
    }

    #[test]
    fn many_pending_events_go_to_the_heap_and_back() {
        // 2,000 pushes, one pop every other: up to 1,000 pending, at pseudo-random times.
        let scramble = |now: u64, i: u64| now + (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54);
        assert!(against_reference(2_000, 2, scramble));
    }

    #[test]
    fn pushes_that_move_many_entries_go_to_the_heap() {
        // 100 pending, then each new event is the latest (so every push moves all 100, the
        // vector being sorted latest first) and one is popped: never more than 128 pending.
        use std::cmp::Reverse;
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut heaped = false;
        for i in 0..1_000 {
            q.push(SimTime(i), i);
            reference.push(Reverse((i, i)));
            heaped |= q.heaped();
            assert!(q.len() <= 101);
            if i >= 100 {
                let Reverse((t, e)) = reference.pop().expect("pushed");
                assert_eq!(q.pop(), Some((SimTime(t), e)));
            }
        }
        assert!(heaped, "moving 100 entries a push is too many");
        while let Some(Reverse((t, e))) = reference.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), e)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn few_pending_events_in_order_stay_sorted() {
        assert!(!against_reference(10_000, 1, |now, i| now + i % 7));
    }

    proptest! {
        /// The queue pops exactly what one std `BinaryHeap` ordered by (time, insertion)
        /// pops, whichever of its heap, lanes and piles each event went to.
        #[test]
        fn pops_as_a_binary_heap_does(ops in prop::collection::vec((0u8..6, 0u64..50), 1..600)) {
            use std::cmp::Reverse;
            let mut q = EventQueue::new();
            let lanes = [q.add_lane(), q.add_lane(), q.add_lane()];
            let delays = [7, 30, 30];
            let mut reference = BinaryHeap::new();
            let (mut now, mut seq) = (0u64, 0u64);
            for (i, &(op, x)) in ops.iter().enumerate() {
                let at = match op {
                    0 | 1 => {
                        let popped = q.pop();
                        let expected = reference.pop().map(|Reverse((t, _, e))| (SimTime(t), e));
                        prop_assert_eq!(popped, expected);
                        if let Some((t, _)) = popped {
                            now = t.0;
                        }
                        continue;
                    }
                    2 => {
                        q.push(SimTime(now + x), i);
                        now + x
                    }
                    3 => {
                        q.push_sorted(SimTime(now + 100 + x / 8), i);
                        now + 100 + x / 8
                    }
                    _ => {
                        // Lanes 1 and 2 share a delay, as a fixed link's two directions may.
                        let l = (x % 3) as usize;
                        q.push_lane(lanes[l], SimTime(now + delays[l]), i);
                        now + delays[l]
                    }
                };
                reference.push(Reverse((at, seq, i)));
                seq += 1;
                prop_assert_eq!(q.len(), reference.len());
            }
            while let Some(Reverse((t, _, e))) = reference.pop() {
                prop_assert_eq!(q.pop(), Some((SimTime(t), e)));
            }
            prop_assert!(q.is_empty());
        }

        /// With lanes or without, events pop in strictly increasing (time, insertion) order,
        /// even when pops and pushes interleave as in a simulation.
        #[test]
        fn lanes_keep_global_order(ops in prop::collection::vec((0u64..3, 0usize..4, 0u64..4), 1..300)) {
            let mut q = EventQueue::new();
            let lanes = [q.add_lane(), q.add_lane()];
            let mut popped = Vec::new();
            let mut now = 0u64;
            for (i, &(pop, which, delay)) in ops.iter().enumerate() {
                if pop == 0
                    && let Some((t, e)) = q.pop() {
                        now = t.0;
                        popped.push((t.0, e));
                    }
                if which < 2 {
                    // Each lane has its own constant delay; the clock never goes back.
                    q.push_lane(lanes[which], SimTime(now + 10 * (which as u64 + 1)), i);
                } else if which == 3 {
                    // Roughly in order, as deadlines are: piles or the heap.
                    q.push_sorted(SimTime(now + 20 + 3 * delay), i);
                } else {
                    q.push(SimTime(now + delay), i);
                }
            }
            while let Some((t, e)) = q.pop() {
                popped.push((t.0, e));
            }
            prop_assert_eq!(popped.len(), ops.len());
            for w in popped.windows(2) {
                prop_assert!(w[0] < w[1], "{:?} popped before {:?}", w[0], w[1]);
            }
        }
    }
}
