//! The two-area chain's checks: finite-difference gradients (f64) of every connection and of
//! the delayed credit path, of the teaching signals at window starts (A's pipe included), of
//! both kinds of cerebellum; and the exact relations (d = 0 is the same network written as one
//! computation, step by step; the oracle makes a delayed chain the chain without delay).

use super::step::read_pipe_state;
use super::*;
use crate::layers::gradcheck::{check, values};
use crate::loss::{Target, window_loss};
use crate::trainer::TrainOptions;

const BATCH: usize = 2;
const STEPS: usize = 7;

fn batch(input: usize, output: usize, context: usize) -> Batch<f64> {
    Batch {
        batch: BATCH,
        steps: STEPS,
        inputs: values(STEPS * BATCH * input, 21, 1.0),
        target: Target::Trajectory {
            values: values(STEPS * BATCH * output, 22, 1.0),
            feedback: (0..STEPS).map(|t| t % 2 == 1 || t == 2).collect(),
        },
        context: (context > 0).then(|| values(BATCH * context, 23, 1.0)),
        words: None,
    }
}

fn spec(
    cells: [CellKind; 2],
    delay: usize,
    backward: bool,
    forward: Option<ForwardMode>,
) -> ChainSpec {
    ChainSpec {
        input: 2,
        output: 2,
        areas: [
            AreaSpec {
                cell: cells[0],
                hidden: 3,
            },
            AreaSpec {
                cell: cells[1],
                hidden: 4,
            },
        ],
        delay,
        backward_areas: BackwardAreas::Both,
        cerebellum: backward.then_some(CerebellumSpec {
            granule: 5,
            layers: 1,
            sparse_k: None,
            context: 0,
        }),
        forward: forward.map(|mode| ForwardSpec {
            granule: 6,
            mode,
            state_input: true,
            context: 2,
            oracle: false,
        }),
    }
}

/// A chain whose cerebellar output layers are not zero, so that every path carries something.
fn chain(spec: &ChainSpec) -> Chain<f64> {
    let mut c = Chain::<f64>::new(spec, 3);
    let mut outputs: Vec<Range<usize>> = Vec::new();
    for cb in c.backward.iter().flatten() {
        let l = cb.layers.last().unwrap();
        outputs.push(l.weight.start..l.bias.end);
    }
    if let Some(f) = &c.forward {
        outputs.push(f.output.weight.start..f.output.bias.end);
    }
    for (k, r) in outputs.into_iter().enumerate() {
        c.params[r.clone()].copy_from_slice(&values(r.len(), 30 + k as u64, 0.4));
    }
    c
}

fn options(horizon: usize) -> TrainOptions {
    TrainOptions {
        horizon,
        lambda: 0.7,
        ..TrainOptions::default()
    }
}

/// One window of the chain written out step by step, interleaving A and B, from given start
/// states (A's with its pipe, B's): the window's task loss plus `<inj_a, [s^A; pipe] at t1>` and
/// `<inj_b, s^B at t1>`. B's input at t is A's activity at `tau(t)` plus `offset_t` (a constant:
/// what a forward cerebellum added), so its derivative is the credit path under test.
struct Window<'a> {
    model: &'a Chain<f64>,
    batch: &'a Batch<f64>,
    t0: usize,
    t1: usize,
    forward_on: bool,
    offsets: &'a [f64],
    inj: [&'a [f64]; 2],
}

impl Window<'_> {
    fn objective(&self, p: &[f64], start_a: &[f64], start_b: &[f64]) -> f64 {
        let m = self.model;
        let (t0, t1, bsz) = (self.t0, self.t1, BATCH);
        let (sa, ha, d) = (m.a.state_size(), m.a.hidden(), m.delay);
        let pp = m.pipe_state_size();
        let mut tr_a = m.a.trace::<f64>(bsz, STEPS);
        let mut tr_b = m.b.trace::<f64>(bsz, STEPS);
        let s: Vec<f64> = start_a.chunks(pp).flat_map(|r| r[..sa].to_vec()).collect();
        tr_a.write_state(t0, &s);
        tr_b.write_state(t0, start_b);
        let mut xb = vec![0.0; STEPS * bsz * ha];
        let activity = |tr_a: &crate::cortex::Trace<f64>, tau: isize, b: usize| -> Vec<f64> {
            if tau >= t0 as isize {
                let blk = tr_a.block(tau as usize + 1);
                tr_a.h[blk][b * ha..(b + 1) * ha].to_vec()
            } else {
                let j = (tau - t0 as isize + d as isize) as usize;
                start_a[b * pp + sa + j * ha..b * pp + sa + (j + 1) * ha].to_vec()
            }
        };
        for t in t0..t1 {
            m.a.forward(p, &self.batch.inputs, &mut tr_a, t, t + 1);
            let tau = if self.forward_on {
                t as isize
            } else {
                t as isize - d as isize
            };
            for b in 0..bsz {
                let row = (t * bsz + b) * ha;
                for (k, v) in activity(&tr_a, tau, b).into_iter().enumerate() {
                    xb[row + k] = v + self.offsets[row + k];
                }
            }
            m.b.forward(p, &xb, &mut tr_b, t, t + 1);
        }
        let out = m.readout.outputs;
        let mut y = vec![0.0; (t1 - t0) * bsz * out];
        m.readout.forward(p, tr_b.outputs(t0, t1), &mut y, false);
        let mut dy = y.clone();
        let loss = window_loss(&self.batch.target, &y, &mut dy, t0, t1, STEPS, bsz).unwrap_or(0.0);
        let mut end_b = vec![0.0; bsz * m.b.state_size()];
        tr_b.read_state(t1, &mut end_b);
        let mut end_a = vec![0.0; bsz * sa];
        tr_a.read_state(t1, &mut end_a);
        let mut inj = 0.0;
        for b in 0..bsz {
            let row = &self.inj[0][b * pp..(b + 1) * pp];
            inj += (0..sa).map(|k| row[k] * end_a[b * sa + k]).sum::<f64>();
            for j in 0..d {
                let act = activity(&tr_a, (t1 + j) as isize - d as isize, b);
                inj += (0..ha).map(|k| row[sa + j * ha + k] * act[k]).sum::<f64>();
            }
        }
        inj += self.inj[1]
            .iter()
            .zip(&end_b)
            .map(|(a, b)| a * b)
            .sum::<f64>();
        loss + inj
    }
}

/// Checks the chain's step against finite differences of its windows written out one by one:
/// the areas' and readout's gradients (the truncated objective: each window from its start
/// states, held fixed), both teaching signals at every window start, and both kinds of
/// cerebellum's gradients of their own losses.
fn check_chain(spec: &ChainSpec, horizon: usize) {
    let model = chain(spec);
    let data = batch(spec.input, spec.output, 2);
    let mut trainer = ChainTrainer::new(model.clone(), options(horizon));
    trainer.compute_gradients(&data);
    let (bsz, p0) = (BATCH, model.params.clone());
    let forward_on = spec.forward.is_some();
    let run = trainer.last_run();
    let (tr_a, tr_b) = (run.a.as_ref().unwrap(), run.b.as_ref().unwrap());
    // Offsets: what B received minus the activity it is credited to.
    let ha = model.a.hidden();
    let mut offsets = run.input_b.clone();
    for t in 0..STEPS {
        let tau = model.source_step(t, forward_on);
        for k in 0..bsz * ha {
            let a = tau.map_or(0.0, |tau| tr_a.outputs(tau, tau + 1)[k]);
            offsets[t * bsz * ha + k] -= a;
        }
    }
    let windows = trainer.windows(STEPS);
    let (pp, sb) = (model.pipe_state_size(), model.b.state_size());
    let starts: Vec<(Vec<f64>, Vec<f64>)> = windows
        .iter()
        .map(|&(t0, _)| {
            let mut a = vec![0.0; bsz * pp];
            read_pipe_state(&model, tr_a, t0, &mut a);
            let mut b = vec![0.0; bsz * sb];
            tr_b.read_state(t0, &mut b);
            (a, b)
        })
        .collect();
    let signals = trainer.window_signals();
    let zeros = [vec![0.0; bsz * pp], vec![0.0; bsz * sb]];
    let make = |w: usize| {
        let (t0, t1) = windows[w];
        // Injected where the area has a backward cerebellum (zero elsewhere: checked below).
        let inj = [0, 1].map(|i| {
            let n = zeros[i].len();
            match model.backward[i] {
                Some(_) => &signals.injected[i][w * n..(w + 1) * n],
                None => &zeros[i][..],
            }
        });
        Window {
            model: &model,
            batch: &data,
            t0,
            t1,
            forward_on,
            offsets: &offsets,
            inj,
        }
    };
    let total = |p: &[f64]| {
        (0..windows.len())
            .map(|w| make(w).objective(p, &starts[w].0, &starts[w].1))
            .sum::<f64>()
    };
    let cortical = model.cortical_range();
    let grads = &trainer.grads;
    check(
        "chain cortex and readout",
        &p0[cortical.clone()],
        &grads[cortical.clone()],
        |q| {
            let mut p = p0.clone();
            p[cortical.clone()].copy_from_slice(q);
            total(&p)
        },
        1e-6,
    );
    if model.has_backward() {
        for (i, absent) in model.backward.iter().enumerate() {
            if absent.is_none() {
                assert!(signals.injected[i].iter().all(|&v| v == 0.0), "area {i}");
            }
        }
        for (w, (sa0, sb0)) in starts.iter().enumerate() {
            let win = make(w);
            let g_a = &signals.teaching[0][w * bsz * pp..(w + 1) * bsz * pp];
            let g_b = &signals.teaching[1][w * bsz * sb..(w + 1) * bsz * sb];
            check(
                "teaching signal of A (with its pipe)",
                sa0,
                g_a,
                |s| win.objective(&p0, s, sb0),
                1e-6,
            );
            check(
                "teaching signal of B",
                sb0,
                g_b,
                |s| win.objective(&p0, sa0, s),
                1e-6,
            );
        }
        check_backward_cerebellums(&model, &trainer);
    }
    if let Some(f) = &model.forward {
        let range = model.forward_range();
        let ft = &run.forward;
        let add = spec.forward.as_ref().unwrap().mode == ForwardMode::Add;
        let loss = |q: &[f64]| {
            let mut p = p0.clone();
            p[range.clone()].copy_from_slice(q);
            let mut tr = ft.clone();
            f.forward_rows(&p, &mut tr, (0, STEPS * bsz));
            let truth = tr_a.outputs(0, STEPS);
            (0..truth.len())
                .map(|k| {
                    let u = tr.output[k] + if add { run.delayed[k] } else { 0.0 };
                    (u - truth[k]).powi(2)
                })
                .sum::<f64>()
        };
        check(
            "forward cerebellum",
            &p0[range.clone()],
            &grads[range.clone()],
            loss,
            1e-6,
        );
    }
}

/// Each backward cerebellum's gradient is that of `sum ||C(start) - g||^2` (g held fixed).
fn check_backward_cerebellums(model: &Chain<f64>, trainer: &ChainTrainer<f64>) {
    let s = trainer.window_signals();
    let range = model.backward_range();
    let p0 = &model.params;
    let loss = |q: &[f64]| {
        let mut p = p0.clone();
        p[range.clone()].copy_from_slice(q);
        (model.backward.iter().enumerate())
            .filter_map(|(i, cb)| cb.as_ref().map(|cb| (i, cb)))
            .map(|(i, cb)| {
                let n = s.teaching[i].len();
                let mut tr = crate::layers::cerebellum::CerebellumTrace::default();
                cb.forward(&p, &s.states[i][..n], None, &mut tr);
                tr.output
                    .iter()
                    .zip(s.teaching[i])
                    .map(|(c, g)| (c - g).powi(2))
                    .sum::<f64>()
            })
            .sum()
    };
    check(
        "backward cerebellums",
        &p0[range.clone()],
        &trainer.grads[range.clone()],
        loss,
        1e-6,
    );
}

use crate::cortex::CellKind::{Lstm, Tanh};

#[test]
fn the_delayed_credit_path_matches_finite_differences() {
    // d below, equal to and above the horizon; d = 0.
    for (delay, horizon) in [(0, 3), (1, 3), (2, 2), (4, 2), (3, 7)] {
        check_chain(&spec([Lstm, Tanh], delay, false, None), horizon);
        check_chain(&spec([Tanh, Lstm], delay, true, None), horizon);
    }
}

#[test]
fn the_backward_cerebellums_and_their_teaching_signals_match_finite_differences() {
    for (delay, horizon) in [(0, 2), (2, 3), (3, 1)] {
        check_chain(&spec([Lstm, Lstm], delay, true, None), horizon);
        check_chain(&spec([Tanh, Tanh], delay, true, None), horizon);
    }
}

#[test]
fn the_forward_cerebellum_and_its_credit_path_match_finite_differences() {
    for mode in [ForwardMode::Replace, ForwardMode::Add] {
        for (delay, horizon) in [(0, 3), (2, 2), (3, 1)] {
            check_chain(&spec([Lstm, Tanh], delay, true, Some(mode)), horizon);
            check_chain(&spec([Tanh, Lstm], delay, false, Some(mode)), horizon);
        }
    }
}

#[test]
fn with_no_delay_the_chain_is_one_network_run_step_by_step() {
    for cells in [[Lstm, Tanh], [Tanh, Lstm]] {
        let model = Chain::<f64>::new(&spec(cells, 0, false, None), 4);
        let data = batch(2, 2, 0);
        let mut r = ChainRun::default();
        model.run(&data.inputs, &data, true, &mut r);
        // One computation: at every step A, then B on A's new output, then the readout.
        let p = &model.params;
        let (mut tr_a, mut tr_b) = (model.a.trace(BATCH, STEPS), model.b.trace(BATCH, STEPS));
        let mut y = vec![0.0; STEPS * BATCH * 2];
        for t in 0..STEPS {
            model.a.forward(p, &data.inputs, &mut tr_a, t, t + 1);
            let mut xb = vec![0.0; STEPS * BATCH * 3];
            xb[t * BATCH * 3..(t + 1) * BATCH * 3].copy_from_slice(tr_a.outputs(t, t + 1));
            model.b.forward(p, &xb, &mut tr_b, t, t + 1);
            let rows = t * BATCH * 2..(t + 1) * BATCH * 2;
            model
                .readout
                .forward(p, tr_b.outputs(t, t + 1), &mut y[rows], false);
        }
        assert_eq!(r.y, y);
    }
}

#[test]
fn the_oracle_makes_a_delayed_chain_the_chain_without_delay() {
    let mut oracle = spec([Lstm, Tanh], 3, false, Some(ForwardMode::Replace));
    oracle.forward.as_mut().unwrap().oracle = true;
    let plain = spec([Lstm, Tanh], 0, false, None);
    let data = batch(2, 2, 2);
    let mut a = ChainTrainer::new(Chain::<f64>::new(&oracle, 9), options(2));
    let mut b = ChainTrainer::new(Chain::<f64>::new(&plain, 9), options(2));
    assert_eq!(a.model.params, b.model.params);
    for _ in 0..3 {
        let (sa, sb) = (a.train_batch(&data), b.train_batch(&data));
        assert_eq!(sa.task_loss, sb.task_loss);
        assert_eq!(a.last_run().y, b.last_run().y);
    }
    assert_eq!(a.model.params, b.model.params);
    // Without the oracle the delay changes what B receives.
    let mut delayed = oracle.clone();
    delayed.forward = None;
    let mut c = ChainTrainer::new(Chain::<f64>::new(&delayed, 9), options(2));
    c.train_batch(&data);
    let mut d = ChainTrainer::new(Chain::<f64>::new(&plain, 9), options(2));
    d.train_batch(&data);
    assert_ne!(c.last_run().y, d.last_run().y);
}

#[test]
fn a_lesioned_forward_cerebellum_leaves_b_the_delayed_signal_and_learns_nothing() {
    let s = spec([Lstm, Lstm], 2, true, Some(ForwardMode::Replace));
    let mut t = ChainTrainer::new(chain(&s), options(2));
    let data = batch(2, 2, 2);
    t.compute_gradients(&data);
    assert_ne!(t.last_run().input_b, t.last_run().delayed);
    t.forward_on = false;
    let stats = t.compute_gradients(&data);
    assert_eq!(t.last_run().input_b, t.last_run().delayed);
    assert!(stats.forward_loss.is_none());
    let f = t.model.forward_range();
    assert!(t.grads[f.clone()].iter().all(|&g| g == 0.0));
    assert!(!t.trained_ranges().contains(&f));
    // The backward cerebellums' lesion: nothing injected, nothing taught.
    t.backward_on = false;
    t.compute_gradients(&data);
    let bw = t.model.backward_range();
    assert!(t.grads[bw].iter().all(|&g| g == 0.0));
}

fn with_backward(mut s: ChainSpec, areas: BackwardAreas) -> ChainSpec {
    s.backward_areas = areas;
    s
}

#[test]
fn one_backward_cerebellum_and_its_teaching_signals_match_finite_differences() {
    for areas in [BackwardAreas::A, BackwardAreas::B] {
        for (delay, horizon) in [(0, 2), (2, 3), (3, 1)] {
            let s = with_backward(spec([Lstm, Tanh], delay, true, None), areas);
            check_chain(&s, horizon);
            let s = spec([Tanh, Lstm], delay, true, Some(ForwardMode::Add));
            check_chain(&with_backward(s, areas), horizon);
        }
    }
}

/// Copies into `to` the tensors of `from` of the same name.
fn copy_shared(from: &Chain<f64>, to: &mut Chain<f64>) {
    for t in &to.layout.tensors {
        if let Some(f) = from.layout.tensors.iter().find(|f| f.name == t.name) {
            to.params[t.range.clone()].copy_from_slice(&from.params[f.range.clone()]);
        }
    }
}

/// The gradients of the tensors whose names start with `prefix`.
fn grads_of(t: &ChainTrainer<f64>, prefix: &str) -> Vec<f64> {
    (t.model.layout.tensors.iter())
        .filter(|x| x.name.starts_with(prefix))
        .flat_map(|x| t.grads[x.range.clone()].to_vec())
        .collect()
}

fn gradients(model: Chain<f64>, data: &Batch<f64>) -> (ChainTrainer<f64>, ChainStats) {
    let mut t = ChainTrainer::new(model, options(2));
    let stats = t.compute_gradients(data);
    (t, stats)
}

#[test]
fn a_missing_backward_cerebellum_injects_nothing_into_its_area() {
    // B's gradients (and the readout's) see only B's own injection (A's feedback flows to A,
    // not back), so: with A's cerebellum only, B learns as in a chain without any; with B's
    // only, B and its cerebellum learn as in the chain with both (same parameters). Area A's
    // gradients differ in both cases: the switch acts where it should.
    let data = batch(2, 2, 2);
    let both = with_backward(spec([Lstm, Tanh], 2, true, None), BackwardAreas::Both);
    let only_a = with_backward(both.clone(), BackwardAreas::A);
    let only_b = with_backward(both.clone(), BackwardAreas::B);
    let none = spec([Lstm, Tanh], 2, false, None);
    let a = chain(&only_a);
    assert!(a.backward[0].is_some() && a.backward[1].is_none());
    let mut plain = Chain::<f64>::new(&none, 3);
    copy_shared(&a, &mut plain);
    let (ta, sa) = gradients(a, &data);
    let (tn, _) = gradients(plain, &data);
    for prefix in ["area_b.", "readout."] {
        assert_eq!(grads_of(&ta, prefix), grads_of(&tn, prefix), "{prefix}");
    }
    assert_ne!(grads_of(&ta, "area_a."), grads_of(&tn, "area_a."));
    assert!(sa.cerebellum_losses[0] > 0.0 && sa.cerebellum_losses[1] == 0.0);
    let b = chain(&only_b);
    assert!(b.backward[0].is_none() && b.backward[1].is_some());
    let mut full = chain(&both);
    copy_shared(&b, &mut full);
    let (tb, sb) = gradients(b, &data);
    let (tf, sf) = gradients(full, &data);
    for prefix in ["area_b.", "readout.", "cerebellum_b."] {
        assert_eq!(grads_of(&tb, prefix), grads_of(&tf, prefix), "{prefix}");
    }
    assert_ne!(grads_of(&tb, "area_a."), grads_of(&tf, "area_a."));
    assert_eq!(sb.cerebellum_losses[1], sf.cerebellum_losses[1]);
    assert_eq!(sb.cerebellum_losses[0], 0.0);
    assert!(tb.window_signals().injected[0].iter().all(|&v| v == 0.0));
}

#[test]
fn both_backward_cerebellums_are_the_default_and_build_the_same_chain() {
    let s = spec([Lstm, Tanh], 1, true, None);
    let mut json = serde_json::to_value(&s).unwrap();
    json.as_object_mut().unwrap().remove("backward_areas");
    let old: ChainSpec = serde_json::from_value(json).unwrap();
    assert_eq!(old, s);
    let (a, b) = (Chain::<f64>::new(&old, 5), Chain::<f64>::new(&s, 5));
    assert_eq!(a.params, b.params);
    assert_eq!(a.layout.len(), b.layout.len());
    let one = Chain::<f64>::new(&with_backward(s, BackwardAreas::B), 5);
    assert!(one.layout.len() < a.layout.len());
    assert!(
        one.layout
            .tensors
            .iter()
            .all(|t| !t.name.starts_with("cerebellum_a."))
    );
}
