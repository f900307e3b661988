//! A wait for the answers of calls, shared by a visit in a `Call` or `FanOut` step (or a cache
//! lookup) and by a client request on a hedging edge: which answers belong to it, how many
//! successes decide it, how many failures it absorbs, the hedges it may still send, and the
//! calls to cancel once it is decided.

use crate::ids::ListId;

/// One wait. Answers carry a token; those in `token .. token + width` (one per hedge branch)
/// belong to this wait, any other is a late answer to a wait already decided, and is dropped.
#[derive(Clone, Copy, Debug)]
pub(super) struct Wait {
    /// The first token of the wait.
    token: u32,
    /// Branches (1 + hedges); 0 when not waiting.
    width: u32,
    /// Hedges still to send.
    hedges_left: u32,
    /// Successes still needed to decide it.
    successes: u32,
    /// Failures it can still absorb before it fails.
    failures_allowed: u32,
    /// The calls to cancel once it is decided (`None`: not tracked).
    pub branches: Option<ListId>,
}

impl Wait {
    /// No wait.
    pub const NONE: Wait =
        Wait { token: 0, width: 0, hedges_left: 0, successes: 0, failures_allowed: 0, branches: None };

    /// A wait from `token` over `width` branches, decided by `successes` answers, absorbing
    /// `failures_allowed` failures, with `hedges` hedges to send; it tracks no calls yet.
    #[inline]
    pub fn new(token: u32, width: u32, successes: u32, failures_allowed: u32, hedges: u32) -> Wait {
        Wait { token, width, hedges_left: hedges, successes, failures_allowed, branches: None }
    }

    /// Whether an answer carrying `token` belongs to this wait.
    #[inline]
    pub fn awaits(&self, token: u32) -> bool {
        token.wrapping_sub(self.token) < self.width
    }

    /// Which branch an answer carrying `token` came from: 0 the first call, then the hedges.
    #[inline]
    pub fn branch(&self, token: u32) -> u32 {
        token.wrapping_sub(self.token)
    }

    /// Whether it is waiting (not yet decided or abandoned).
    #[inline]
    pub fn is_open(&self) -> bool {
        self.width != 0
    }

    /// Whether the wait has hedges (more than one branch).
    #[inline]
    pub fn hedged(&self) -> bool {
        self.width > 1
    }

    /// The wait is over (decided, or abandoned): no answer belongs to it any more.
    #[inline]
    pub fn close(&mut self) {
        self.width = 0;
    }

    /// A success came: whether it decides the wait.
    #[inline]
    pub fn success(&mut self) -> bool {
        self.successes -= 1;
        self.successes == 0
    }

    /// A failure came: whether it fails the wait (else it is absorbed).
    #[inline]
    pub fn failure(&mut self) -> bool {
        if self.failures_allowed == 0 {
            return true;
        }
        self.failures_allowed -= 1;
        false
    }

    /// Whether the hedge timer of wait `token` finds it still open with a hedge to send.
    #[inline]
    pub fn hedge_due(&self, token: u32) -> bool {
        self.token == token && self.width != 0 && self.hedges_left != 0
    }

    /// The hedge timer of wait `token` fired: when the hedge is due, the wait takes it (and
    /// absorbs one more failure, since the first call may now fail while the hedge succeeds),
    /// and gives the hedge's branch and whether more are left.
    #[inline]
    pub fn take_hedge(&mut self, token: u32) -> Option<(u32, bool)> {
        if !self.hedge_due(token) {
            return None;
        }
        self.hedges_left -= 1;
        self.failures_allowed += 1;
        Some((self.width - 1 - self.hedges_left, self.hedges_left > 0))
    }
}
