//! Prometheus metrics, all in one registry. Labels are bounded (controller, kind, phase,
//! error category, verb, how a run was started): never an object name.
//!
//! Later features (triggers, webhooks) add their families in [`Metrics::new`] next to these,
//! so `/metrics` stays one place to read.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use weir_api::v1alpha1::{PipelineRun, PipelineRunStatus, RunPhase, StepPhase};

/// `controller` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// `pipelinerun` or `pipeline`.
    pub controller: &'static str,
}

/// Labels of reconcile errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `pipelinerun` or `pipeline`.
    pub controller: &'static str,
    /// [`crate::Error::category`].
    pub category: &'static str,
}

/// `kind` label of step durations: `job`, `spark`, `dbt`, `resource`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The step's kind.
    pub kind: &'static str,
    /// `Succeeded` or `Failed`.
    pub outcome: &'static str,
}

/// `started_by` label: `manual`, `schedule`, `bucket`, `webhook`, `backfill`, `api`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StartedByLabel {
    /// How the run was started.
    pub started_by: &'static str,
}

/// `cause` label of webhook rejections: `too_large`, `rate_limited`, `not_found`,
/// `unavailable`, `missing_auth`, `bad_auth`, `malformed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabel {
    /// Why the request was refused.
    pub cause: &'static str,
}

/// `outcome` label of webhook events: `started`, `duplicate`, `ignored`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// What became of the event.
    pub outcome: &'static str,
}

/// `verb` label of API requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabel {
    /// `get`, `list`, `watch`, `create`, `apply`, `patch`, `update`, `delete`.
    pub verb: &'static str,
}

/// Every metric weir exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Reconciles started.
    pub reconciles: Family<ControllerLabel, Counter>,
    /// Reconciles that failed, by category.
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    /// How long reconciles take.
    pub reconcile_duration: Family<ControllerLabel, Histogram>,
    /// How long steps take, from first start to finish.
    pub step_duration: Family<KindLabel, Histogram>,
    /// Runs admitted (started), by how they were started.
    pub runs_started: Family<StartedByLabel, Counter>,
    /// Objects with a trigger waiting for a reconcile.
    pub queue_depth: Family<ControllerLabel, Gauge>,
    /// Reconciles running now.
    pub in_flight: Family<ControllerLabel, Gauge>,
    /// Requests to the API server, by verb.
    pub kube_requests: Family<VerbLabel, Counter>,
    /// Requests that waited for the client's rate limiter.
    pub kube_throttled: Counter,
    /// When a request last waited for the rate limiter (not exported): status writes
    /// nobody waits for back off while the client is short of its budget.
    pub last_throttled: LastThrottled,
    /// 1 while this replica leads (or runs without leader election).
    pub leader: Gauge,
    /// Triggers: objects found, runs created, lag, polls.
    pub triggers: crate::trigger_metrics::TriggerMetrics,
    /// Webhook requests refused, by cause.
    pub webhook_rejections: Family<CauseLabel, Counter>,
    /// Object events the webhook received, by what became of them.
    pub webhook_events: Family<OutcomeLabel, Counter>,
    /// The runs cache `weir_runs{phase}` counts from, once the run controller has one.
    runs: RunsSlot,
}

type RunsSlot = Arc<Mutex<Option<Store<PipelineRun>>>>;

impl Metrics {
    /// The registry with every family registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("weir");
        let reconciles = Family::default();
        let reconcile_errors = Family::default();
        // 1 ms .. ~65 s.
        let reconcile_duration = Family::<ControllerLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.001, 2.0, 17,
            ))
        });
        // 1 s .. ~36 h: steps run from seconds (a copy) to a day (a backfill).
        let step_duration = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0,
                28800.0, 86400.0, 129600.0,
            ])
        });
        let runs_started = Family::default();
        let queue_depth = Family::default();
        let in_flight = Family::default();
        let kube_requests = Family::default();
        let kube_throttled = Counter::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles started", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by error category",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles take",
            reconcile_duration.clone(),
        );
        registry.register(
            "step_duration_seconds",
            "How long steps take from first start to finish",
            step_duration.clone(),
        );
        registry.register(
            "runs_started",
            "Runs started, by how they were started",
            runs_started.clone(),
        );
        registry.register(
            "queue_depth",
            "Objects with a trigger waiting for a reconcile",
            queue_depth.clone(),
        );
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now",
            in_flight.clone(),
        );
        registry.register(
            "kube_requests",
            "Requests to the Kubernetes API server, by verb",
            kube_requests.clone(),
        );
        registry.register(
            "kube_throttled",
            "Requests delayed by the client-side rate limiter",
            kube_throttled.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica is the active one",
            leader.clone(),
        );
        let triggers = crate::trigger_metrics::TriggerMetrics::register(&mut registry);
        let webhook_rejections = Family::default();
        let webhook_events = Family::default();
        registry.register(
            "webhook_rejections",
            "Webhook requests refused, by cause",
            webhook_rejections.clone(),
        );
        registry.register(
            "webhook_events",
            "Object events received by the webhook, by outcome (started, duplicate, ignored)",
            webhook_events.clone(),
        );
        let runs = RunsSlot::default();
        registry.register_collector(Box::new(RunPhases(runs.clone())));
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            step_duration,
            runs_started,
            queue_depth,
            in_flight,
            kube_requests,
            kube_throttled,
            last_throttled: LastThrottled::default(),
            leader,
            triggers,
            webhook_rejections,
            webhook_events,
            runs,
        }
    }

    /// A webhook request was refused for `cause`.
    pub(crate) fn webhook_rejected(&self, cause: &'static str) {
        self.webhook_rejections
            .get_or_create(&CauseLabel { cause })
            .inc();
    }

    /// `n` webhook events had `outcome`.
    pub(crate) fn webhook_events(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            self.webhook_events
                .get_or_create(&OutcomeLabel { outcome })
                .inc_by(n as u64);
        }
    }

    /// Counts `weir_runs{phase}` from this cache at each scrape.
    pub fn watch_runs(&self, runs: Store<PipelineRun>) {
        if let Ok(mut slot) = self.runs.lock() {
            *slot = Some(runs);
        }
    }

    /// Counts what one written status changed: a run started (by how it was started) and
    /// steps finished (with their duration).
    pub(crate) fn record_run(
        &self,
        run: &PipelineRun,
        old: &PipelineRunStatus,
        new: &PipelineRunStatus,
    ) {
        if old.pipeline_spec.is_none() && new.pipeline_spec.is_some() {
            let by = run
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(weir_api::labels::STARTED_BY))
                .map(String::as_str);
            let started_by = match by {
                Some("manual") => "manual",
                Some("schedule") => "schedule",
                Some("bucket") => "bucket",
                Some("webhook") => "webhook",
                Some("backfill") => "backfill",
                _ => "api",
            };
            self.runs_started
                .get_or_create(&StartedByLabel { started_by })
                .inc();
        }
        let Some(spec) = &new.pipeline_spec else {
            return;
        };
        for (step, st) in spec.steps.iter().zip(&new.steps) {
            let outcome = match st.phase {
                StepPhase::Succeeded => "Succeeded",
                StepPhase::Failed => "Failed",
                _ => continue,
            };
            let was_finished = old
                .steps
                .iter()
                .any(|s| s.name == st.name && s.phase.is_finished());
            let (Some(start), Some(end)) = (&st.start_time, &st.finish_time) else {
                continue;
            };
            if was_finished {
                continue;
            }
            let secs = end.0.duration_since(start.0).as_secs_f64().max(0.0);
            self.step_duration
                .get_or_create(&KindLabel {
                    kind: step.kind(),
                    outcome,
                })
                .observe(secs);
        }
    }

    /// The OpenMetrics text of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The last moment the client's rate limiter made a request wait.
#[derive(Debug)]
pub struct LastThrottled {
    origin: std::time::Instant,
    /// Milliseconds after `origin`, plus one; 0 for never.
    at: std::sync::atomic::AtomicU64,
}

impl Default for LastThrottled {
    fn default() -> Self {
        Self {
            origin: std::time::Instant::now(),
            at: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl LastThrottled {
    /// A request waited just now.
    pub fn mark(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.at
            .store(ms.saturating_add(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// A request waited less than `window` ago.
    pub fn within(&self, window: std::time::Duration) -> bool {
        let at = self.at.load(std::sync::atomic::Ordering::Relaxed);
        if at == 0 {
            return false;
        }
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(at - 1) < window
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
struct RunPhases(RunsSlot);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

impl Collector for RunPhases {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let phases = [
            RunPhase::Pending,
            RunPhase::Queued,
            RunPhase::Running,
            RunPhase::Succeeded,
            RunPhase::Failed,
            RunPhase::Cancelled,
        ];
        let mut counts = [0i64; 6];
        let runs = self
            .0
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(Store::state))
            .unwrap_or_default();
        for r in runs {
            let p = r.status.as_ref().map(|s| s.phase).unwrap_or_default();
            if let Some(i) = phases.iter().position(|x| *x == p) {
                counts[i] += 1;
            }
        }
        let mut family = encoder.encode_descriptor(
            "runs",
            "PipelineRuns by phase",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (phase, n) in phases.iter().zip(counts) {
            let g = ConstGauge::new(n);
            g.encode(family.encode_family(&PhaseLabel {
                phase: phase.as_str(),
            })?)?;
        }
        Ok(())
    }
}

/// Objects with a trigger not yet picked up by a reconcile: the work queue's depth.
/// kube-runtime keeps its queue private, so triggers are counted on their way in and
/// crossed off when the reconcile starts.
pub(crate) struct Pending<K: kube::Resource> {
    set: Arc<Mutex<HashSet<ObjectRef<K>>>>,
    gauge: Gauge,
}

impl<K: kube::Resource> Clone for Pending<K> {
    fn clone(&self) -> Self {
        Self {
            set: self.set.clone(),
            gauge: self.gauge.clone(),
        }
    }
}

impl<K: kube::Resource> Pending<K>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    pub(crate) fn new(metrics: &Metrics, controller: &'static str) -> Self {
        Self {
            set: Arc::default(),
            gauge: metrics
                .queue_depth
                .get_or_create(&ControllerLabel { controller })
                .clone(),
        }
    }

    pub(crate) fn add(&self, r: ObjectRef<K>) {
        if let Ok(mut s) = self.set.lock() {
            s.insert(r);
            self.gauge.set(s.len() as i64);
        }
    }

    pub(crate) fn done(&self, r: &ObjectRef<K>) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(r);
            self.gauge.set(s.len() as i64);
        }
    }
}
