//! The process's request slots (`--concurrency`) and the demand on them. A request holds a
//! slot from before its budget token to its last byte; parsing, Redis steps and retry pauses
//! hold none. The demand not yet served — requests waiting for a slot, jobs taken from the
//! queue that have not asked for their first one, and jobs parsing an answer that leads to
//! their next request (a product page to its spec table and shop list) — decides when the
//! consumer reads the next job: only when it is zero. Without the last kind, slots freed
//! together would go to new jobs, and a product's spec table and shop list would queue
//! behind them for seconds. So a freed slot is taken at once by a job that is already
//! here (a process holds one job more than it can run), while a process whose slots are all
//! spoken for leaves the queue's last jobs to replicas with free slots; without that, a busy
//! process would sit on jobs that wait seconds for a slot while others idle at a run's end.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore, SemaphorePermit};

/// `--concurrency` permits and the count of demand they have not served yet.
pub(crate) struct RequestSlots {
    permits: Semaphore,
    /// Requests waiting for a slot, and taken jobs that have not asked for one yet.
    unserved: watch::Sender<usize>,
}

impl RequestSlots {
    pub(crate) fn new(concurrency: usize) -> Arc<Self> {
        Arc::new(Self { permits: Semaphore::new(concurrency.max(1)), unserved: watch::Sender::new(0) })
    }

    /// A request on its way: a job just taken from the queue, or one whose answer leads to
    /// its next request. It counts as unserved until that request asks for a slot, or the
    /// job ends or pauses without one (the returned guard is dropped).
    pub(crate) fn expect_request(self: &Arc<Self>) -> Arrival {
        self.change(1, 0);
        Arrival(self.clone())
    }

    /// A slot for one request, held until the permit is dropped. While it waits, the request
    /// counts as unserved demand; the job's [`Arrival`], if still held, is given up as the
    /// request takes its place.
    pub(crate) async fn acquire(&self, arrival: &mut Option<Arrival>) -> SemaphorePermit<'_> {
        self.change(1, 0);
        let _waiting = Waiting(self);
        drop(arrival.take());
        // The semaphore is never closed, so acquiring cannot fail.
        self.permits.acquire().await.expect("request slots are never closed")
    }

    /// Resolves once every request has a slot and every taken job has asked for one: the
    /// moment to read another job. A process whose slots are all busy then holds at most one
    /// job that waits; it takes the next slot to free up at once.
    pub(crate) async fn settled(&self) {
        let mut unserved = self.unserved.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = unserved.wait_for(|n| *n == 0).await;
    }

    /// Adds `up` units of unserved demand and removes `down`.
    fn change(&self, up: usize, down: usize) {
        self.unserved.send_modify(|n| *n = (*n + up).saturating_sub(down));
    }

    #[cfg(test)]
    fn unserved(&self) -> usize {
        *self.unserved.borrow()
    }
}

/// A request on its way that has not asked for a slot yet; dropping it removes its demand.
pub(crate) struct Arrival(Arc<RequestSlots>);

impl Drop for Arrival {
    fn drop(&mut self) {
        self.0.change(0, 1);
    }
}

/// A request waiting for a slot; also removed when the wait is dropped half-way (its sibling
/// request failed for good and ended the job).
struct Waiting<'a>(&'a RequestSlots);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.change(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Whether `settled` has resolved after the runtime had a chance to run everything else.
    async fn is_settled(slots: &RequestSlots) -> bool {
        tokio::time::timeout(Duration::from_millis(1), slots.settled()).await.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_taken_job_holds_back_the_next_read_until_its_first_request_has_a_slot() {
        let slots = RequestSlots::new(1);
        assert!(is_settled(&slots).await, "nothing taken: read");
        let mut arrival = Some(slots.expect_request());
        assert!(!is_settled(&slots).await, "a job that has not asked for a slot yet is demand");
        let permit = slots.acquire(&mut arrival).await;
        assert!(arrival.is_none(), "the first request took the job's place");
        assert!(is_settled(&slots).await, "its request has a slot: read the next job");

        // The one slot is busy: a second job's request waits, and holds back reads meanwhile.
        let second = slots.clone();
        let mut second_arrival = Some(second.expect_request());
        let waiter = tokio::spawn(async move {
            let _permit = second.acquire(&mut second_arrival).await;
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(slots.unserved(), 1, "one request waits for the slot");
        assert!(!is_settled(&slots).await);
        drop(permit);
        waiter.await.expect("the waiting request got the freed slot");
        assert!(is_settled(&slots).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_ends_without_a_request_and_a_wait_given_up_leave_no_demand() {
        let slots = RequestSlots::new(1);
        drop(slots.expect_request());
        assert!(is_settled(&slots).await, "a job dead-lettered before any request");

        let held = slots.permits.acquire().await.expect("slot");
        let mut arrival = None;
        let given_up = tokio::time::timeout(Duration::from_millis(5), slots.acquire(&mut arrival)).await;
        assert!(given_up.is_err(), "the only slot is held");
        assert_eq!(slots.unserved(), 0, "a dropped wait is no longer demand");
        drop(held);
    }
}
