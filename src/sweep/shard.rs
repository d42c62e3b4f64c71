//! Sharding a sweep across machines: shard `index` of `count` runs the points whose
//! index is `index` modulo `count`, a subset that depends on nothing but the sweep.
//!
//! The shard comes from `--shard INDEX/COUNT`, or from the batch system's environment:
//! Kubernetes Indexed Jobs set `JOB_COMPLETION_INDEX` (the count is the Job's
//! `completions`, which the pod does not see: pass `--shard-count` or set
//! `MESHSIM_SHARD_COUNT`); Slurm job arrays set `SLURM_ARRAY_TASK_ID` and
//! `SLURM_ARRAY_TASK_COUNT` (with `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_STEP`,
//! so `--array=1-8` and `--array=0-14:2` work too).

use std::fmt;

/// Shards in one sweep, at most.
pub const SHARDS_MAX: u32 = 100_000;

/// One shard of a sweep: `index` from 0 to `count - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// # Errors
    /// If `count` is 0 or above the limit, or `index` is not below `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if !(1..=SHARDS_MAX).contains(&count) {
            return Err(format!("a shard count from 1 to {SHARDS_MAX}, found {count}"));
        }
        if index >= count {
            return Err(format!("a shard index below the count {count} (indices start at 0), found {index}"));
        }
        Ok(Shard { index, count })
    }

    /// Parses `INDEX/COUNT`, e.g. `0/3`.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let expected = || format!("INDEX/COUNT such as 0/3 (0-based), found \"{text}\"");
        let (i, c) = text.split_once('/').ok_or_else(expected)?;
        let index = i.trim().parse().map_err(|_| expected())?;
        let count = c.trim().parse().map_err(|_| expected())?;
        Shard::new(index, count)
    }

    /// The shard the batch system gives through the environment (`var` looks a variable
    /// up), or `None` outside one. `count` is `--shard-count`, if given.
    ///
    /// # Errors
    /// A message naming the variable that is missing or malformed.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, count: Option<u32>) -> Result<Option<Shard>, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => {
                    v.trim().parse().map(Some).map_err(|_| format!("{name} to be a whole number, found \"{v}\""))
                }
            }
        };
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = match (count, number("MESHSIM_SHARD_COUNT")?) {
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => {
                    return Err("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but not the shard count: \
                                pass --shard-count (the Job's completions) or set MESHSIM_SHARD_COUNT"
                        .into());
                }
            };
            return Shard::new(index, count).map(Some).map_err(|e| format!("JOB_COMPLETION_INDEX: {e}"));
        }
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let count = match (count, number("SLURM_ARRAY_TASK_COUNT")?) {
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => {
                    return Err("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT: pass --shard-count".into());
                }
            };
            let Some(offset) = id.checked_sub(min) else {
                return Err(format!("SLURM_ARRAY_TASK_ID {id} below SLURM_ARRAY_TASK_MIN {min}"));
            };
            if offset % step != 0 {
                return Err(format!("SLURM_ARRAY_TASK_ID {id} on the array's step {step} from {min}"));
            }
            return Shard::new(offset / step, count).map(Some).map_err(|e| format!("SLURM_ARRAY_TASK_ID: {e}"));
        }
        match count {
            Some(_) => Err("--shard-count without a shard index: use --shard INDEX/COUNT, or run in a Kubernetes \
                            Indexed Job or a Slurm array"
                .into()),
            None => Ok(None),
        }
    }

    /// Whether this shard runs the point at `index`.
    pub fn owns(&self, index: usize) -> bool {
        index % self.count as usize == self.index as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn parses_index_and_count() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("1").is_err());
        assert!(Shard::parse("a/3").is_err());
    }

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for point in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(point)).count(), 1);
        }
    }

    #[test]
    fn kubernetes_index_needs_a_count() {
        let vars = [("JOB_COMPLETION_INDEX", "2")];
        assert!(Shard::from_env(env(&vars), None).unwrap_err().contains("--shard-count"));
        assert_eq!(Shard::from_env(env(&vars), Some(4)), Ok(Some(Shard { index: 2, count: 4 })));
        let vars = [("JOB_COMPLETION_INDEX", "2"), ("MESHSIM_SHARD_COUNT", "3")];
        assert_eq!(Shard::from_env(env(&vars), None), Ok(Some(Shard { index: 2, count: 3 })));
        let vars = [("JOB_COMPLETION_INDEX", "3"), ("MESHSIM_SHARD_COUNT", "3")];
        assert!(Shard::from_env(env(&vars), None).is_err());
    }

    #[test]
    fn slurm_arrays_count_from_their_minimum() {
        let vars = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "3")];
        assert_eq!(Shard::from_env(env(&vars), None), Ok(Some(Shard { index: 1, count: 3 })));
        let vars = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1")];
        assert_eq!(Shard::from_env(env(&vars), None), Ok(Some(Shard { index: 2, count: 3 })));
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(Shard::from_env(env(&vars), None), Ok(Some(Shard { index: 2, count: 3 })));
    }

    #[test]
    fn no_batch_system_no_shard() {
        assert_eq!(Shard::from_env(env(&[]), None), Ok(None));
        assert!(Shard::from_env(env(&[]), Some(3)).is_err());
    }
}
