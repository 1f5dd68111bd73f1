//! Metrics of the triggers: objects found, runs started, trigger lag, polls and their
//! duration and failures. Registered by [`crate::metrics::Metrics::new`] with the others.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `trigger` label: `bucket` or `webhook` (schedules count in `weir_runs_started`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TriggerLabel {
    /// What started the run.
    pub trigger: &'static str,
}

/// Labels of a bucket poll.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// `s3` or `gs`.
    pub store: &'static str,
    /// `ok` or `error`.
    pub result: &'static str,
}

/// The trigger families.
#[derive(Debug)]
pub struct TriggerMetrics {
    /// New objects found by polls (each starts one run).
    pub objects: Counter,
    /// Runs created by triggers (a run found to exist already is not counted).
    pub runs_created: Family<TriggerLabel, Counter>,
    /// From an object's last-modified time to its run's creation.
    pub lag: Family<TriggerLabel, Histogram>,
    /// Bucket polls by store and result.
    pub polls: Family<PollLabels, Counter>,
    /// How long a poll's listing takes.
    pub poll_duration: Family<PollLabels, Histogram>,
}

impl TriggerMetrics {
    /// The families, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        // 10 ms .. ~2.9 h.
        let lag = Family::<TriggerLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 20))
        });
        // 1 ms .. ~65 s.
        let poll_duration = Family::<PollLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        let m = TriggerMetrics {
            objects: Counter::default(),
            runs_created: Family::default(),
            lag,
            polls: Family::default(),
            poll_duration,
        };
        registry.register(
            "trigger_objects",
            "New objects found by bucket triggers",
            m.objects.clone(),
        );
        registry.register(
            "trigger_runs_created",
            "Runs created by triggers, by trigger type",
            m.runs_created.clone(),
        );
        registry.register(
            "trigger_lag_seconds",
            "From an object's last-modified time to the creation of its run",
            m.lag.clone(),
        );
        registry.register(
            "trigger_polls",
            "Bucket listings, by store and result",
            m.polls.clone(),
        );
        registry.register(
            "trigger_poll_duration_seconds",
            "How long a bucket trigger's listing takes",
            m.poll_duration.clone(),
        );
        m
    }

    pub(crate) fn polled(&self, store: &'static str, took: Duration, ok: bool) {
        let labels = PollLabels {
            store,
            result: if ok { "ok" } else { "error" },
        };
        self.polls.get_or_create(&labels).inc();
        self.poll_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub(crate) fn objects_new(&self, n: u64) {
        self.objects.inc_by(n);
    }

    /// A run was created for an object modified at `modified`.
    pub(crate) fn started(
        &self,
        trigger: &'static str,
        modified: jiff::Timestamp,
        now: jiff::Timestamp,
    ) {
        let label = TriggerLabel { trigger };
        self.runs_created.get_or_create(&label).inc();
        let lag = now.duration_since(modified).as_secs_f64().max(0.0);
        self.lag.get_or_create(&label).observe(lag);
    }
}
