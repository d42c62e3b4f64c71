//! A slab with generation counters: slots are reused, and a stale reference (say, a
//! timeout event for a call that already finished) is recognised instead of aliasing.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub index: u32,
    pub generation: u32,
}

impl Key {
    /// A key no slab hands out (for fixed arrays of keys).
    pub const NONE: Key = Key { index: u32::MAX, generation: u32::MAX };
}

struct Slot<T> {
    generation: u32,
    /// While vacant, the next vacant slot (the free list runs through the slots).
    next_free: u32,
    value: Option<T>,
}

pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// The vacant slot freed last (`NO_SLOT`: none): slots are reused last freed first.
    free_head: u32,
    len: usize,
}

const NO_SLOT: u32 = u32::MAX;

impl<T> Slab<T> {
    pub fn new() -> Self {
        Slab { slots: Vec::new(), free_head: NO_SLOT, len: 0 }
    }

    #[inline(always)]
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if self.free_head != NO_SLOT {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            debug_assert!(slot.value.is_none());
            self.free_head = slot.next_free;
            slot.value = Some(value);
            Key { index, generation: slot.generation }
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NO_SLOT)
                .expect("fewer than 2^32 - 1 live entries");
            self.slots.push(Slot { generation: 0, next_free: NO_SLOT, value: Some(value) });
            Key { index, generation: 0 }
        }
    }

    #[inline(always)]
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.index as usize)?;
        if slot.generation == key.generation { slot.value.as_ref() } else { None }
    }

    #[inline(always)]
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation == key.generation { slot.value.as_mut() } else { None }
    }

    #[inline(always)]
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free_head;
        self.free_head = key.index;
        self.len -= 1;
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The keys of the live entries that satisfy `f`, in slot order (deterministic).
    pub fn keys_where(&self, f: impl Fn(&T) -> bool) -> Vec<Key> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.value.as_ref().filter(|v| f(v)).map(|_| Key { index: i as u32, generation: s.generation })
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_last_freed_first() {
        let mut s = Slab::new();
        let keys: Vec<Key> = (0..5).map(|i| s.insert(i)).collect();
        for &k in &[keys[1], keys[3], keys[0]] {
            s.remove(k);
        }
        let again: Vec<u32> = (0..4).map(|i| s.insert(10 + i).index).collect();
        assert_eq!(again, vec![0, 3, 1, 5], "freed slots last first, then a new one");
        assert_eq!(s.len(), 6);
        assert_eq!(s.keys_where(|_| true).len(), 6);
        assert_eq!(s.get(keys[2]), Some(&2));
        assert_eq!(s.get(keys[3]), None, "a reused slot's old key is stale");
    }

    #[test]
    fn stale_keys_miss() {
        let mut s = Slab::new();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_eq!(a.index, b.index, "the slot is reused");
        assert_eq!(s.get(a), None, "the old key is stale");
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
    }
}
