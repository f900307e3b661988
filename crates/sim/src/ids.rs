//! Typed indices into the run-time tables of a replication: a connection pool, a list of the
//! calls of a wait, a cache fetch in flight, each a `u32` that cannot be `u32::MAX`, so
//! `Option<Id>` is four bytes like the id itself and "none" is a `None` the compiler makes every
//! use handle, where a sentinel (`u32::MAX`) was a value that could be used by mistake; and a
//! visit and a call with a policy, whose ids are the bare indices, so that neither is mistaken
//! for a client's, a cache's or the other's.

use nonmax::NonMaxU32;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(NonMaxU32);

        impl $name {
            /// The id of entry `index` of its table.
            ///
            /// # Panics
            /// When `index` is `u32::MAX` or more: the tables hold far fewer entries, since the
            /// limits on requests in flight bound them.
            #[inline]
            pub fn new(index: usize) -> $name {
                let id = u32::try_from(index).ok().and_then(NonMaxU32::new);
                $name(id.expect("a run-time table holds fewer than u32::MAX entries"))
            }

            /// The entry's index in its table.
            #[inline]
            pub fn index(self) -> usize {
                self.0.get() as usize
            }
        }
    };
}

id!(
    /// A connection pool (a bulkhead's places) in the world's pools.
    PoolId
);
id!(
    /// A list of the calls of one wait, kept to cancel the losers once the wait is decided.
    ListId
);
id!(
    /// A cache fetch in flight, in the world's fetches.
    FetchId
);
/// An id that is the bare index of its table, for the tables the hot loop indexes at every step
/// or attempt, where a niche's bit flip on each use costs more than it gives. `new` checks the
/// range in debug builds only: the limit on requests in flight keeps the tables far below
/// `u32::MAX`, and the hot loop makes one id per entry.
macro_rules! bare_id {
    ($(#[$doc:meta])* $name:ident, $table:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(u32);

        impl $name {
            #[doc = concat!("The id of entry `index` of the ", $table, ".")]
            #[inline]
            pub fn new(index: usize) -> $name {
                debug_assert!(u32::try_from(index).is_ok(), concat!("the ", $table, " hold fewer than u32::MAX entries"));
                $name(index as u32)
            }

            #[doc = concat!("The entry's index in the ", $table, ".")]
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            /// Its index, as messages name it.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bare_id!(
    /// A visit of a service, in the world's visits (a call's `Option` of one is eight bytes, as
    /// its `Option<u32>` was).
    VisitId,
    "visits"
);
bare_id!(
    /// A call with a policy (its record: attempts, timers), in the world's calls; nothing holds
    /// an `Option` of one.
    CallId,
    "calls"
);

impl PoolId {
    /// The `k`-th pool after this one: instance `k`'s, on an edge with one pool per instance
    /// of its caller.
    #[inline]
    pub fn nth_after(self, k: u32) -> PoolId {
        PoolId::new(self.index() + k as usize)
    }
}

const _: () = assert!(size_of::<Option<PoolId>>() == 4);
