//! Data-parallel training across the page's workers. The worker that runs the training (the
//! coordinator, this session's [`TrainRun`]) splits each batch into shares, computes share 0 itself and
//! sends the others with the current parameters to helper workers; each helper holds a [`ShareNet`] (a
//! network of the same design) and returns its share's gradient; the coordinator sums the gradients in
//! share order and takes one Adam step ([`Trainer::apply_shares`]). The result depends on the number of
//! shares, never on which worker answers first. The training modules only (the `training` feature).

use super::train::{TrainProgress, TrainRun, progress_of, take_step};
use super::{IMAGE_LEN, Session};
use crate::data::Dataset;
use crate::design::Design;
use crate::error::{Error, Result};
use crate::train::{
    Architecture, Mirror, OptimizerState, Sequential, ShareGradient, ShareReport, Trainer,
    gradients_into, parallel_ready, parameters_into, set_parameter_vector, share_gradient,
};

/// A helper worker's network: the run's design, its parameters set before each share.
pub struct ShareNet {
    net: Sequential,
    gradient: Vec<f32>,
    labels: Vec<u8>,
    /// The current share's images and their indices, kept between shares with their allocations.
    images: Dataset,
    all: Vec<usize>,
    /// The run's optimizer, where this helper mirrors the run ([`Session::share_mirror`]).
    mirror: Option<Mirror>,
    /// Whether the layers hold a gradient not yet used by a mirrored step.
    computed: bool,
}

/// What a helper needs to mirror a run ([`Session::train_mirror_state`], [`Session::share_mirror`]):
/// its parameters and its optimizer.
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorState {
    pub params: Vec<f32>,
    pub optimizer: OptimizerState,
}

/// The coordinator's next step made ready in one call ([`Session::train_stage`]): the parameters,
/// and the helpers' shares' images and labels one after the other, in buffers kept between steps (the
/// page copies them out of the module's memory; nothing is allocated per step once they have grown).
#[derive(Default)]
pub struct StagedShares {
    pub params: Vec<f32>,
    /// Shares 1, 2, … (784 bytes an image), for the helpers.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    /// Share 0's images, which the coordinator computes itself ([`Session::train_own_staged`]).
    own: Vec<usize>,
    /// The run's step these shares are of (`None`: nothing staged).
    step: Option<usize>,
    /// Share 0's gradient ([`Session::train_own_gradient`]), for the helpers that mirror the run.
    pub gradient: Vec<f32>,
}

/// Borrows of a run's parts that can be used together.
struct RunParts<'a> {
    trainer: &'a mut Trainer,
    steps_done: &'a mut usize,
    steps_total: usize,
    data: &'a Dataset,
}

impl Session {
    /// The run in progress, split into its parts: the trainer, its step counters and its images.
    fn run_parts(&mut self) -> Result<RunParts<'_>> {
        let TrainRun {
            trainer,
            subset,
            steps_done,
            steps_total,
            ..
        } = self
            .training
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        let data = match (subset.as_ref(), self.train.as_ref()) {
            (Some(subset), _) => subset,
            (None, Some(train)) => train,
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "the training set is not loaded".into(),
                ));
            }
        };
        Ok(RunParts {
            trainer,
            steps_done,
            steps_total: *steps_total,
            data,
        })
    }

    /// Whether the run in progress can be split over workers (see [`parallel_ready`]).
    pub fn train_parallel_ready(&self) -> bool {
        self.training
            .as_ref()
            .is_some_and(|run| parallel_ready(&run.trainer.net))
    }

    /// The run's design as JSON, for the helpers' networks (the tutorial's network when the run has
    /// none).
    pub fn train_design(&self) -> Result<String> {
        let run = self
            .training
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("no training in progress".into()))?;
        match &run.design {
            Some(design) => design.to_json(),
            None => Design::from_architecture("tutorial", &Architecture::tutorial()).to_json(),
        }
    }

    /// The next step's batch split into at most `shares` shares (image indices), or `None` when the
    /// run is over.
    pub fn train_next_shares(&mut self, shares: usize) -> Result<Option<Vec<Vec<u32>>>> {
        let RunParts { trainer, data, .. } = self.run_parts()?;
        if shares > 1 && !parallel_ready(&trainer.net) {
            return Err(Error::InvalidArgument(
                "a design with BatchNormalization trains on one worker (it normalizes over the whole batch)".into(),
            ));
        }
        Ok(trainer.next_shares(data, shares).map(|all| {
            all.into_iter()
                .map(|s| s.into_iter().map(|i| i as u32).collect())
                .collect()
        }))
    }

    /// The next step's batch split into at most `shares` shares, made ready for the helpers in
    /// [`Session::staged`]: the sizes of the shares (share 0 first), or `None` when the run is over.
    /// The same shares as [`Session::train_next_shares`], without the page handling their indices.
    pub fn train_stage(&mut self, shares: usize) -> Result<Option<Vec<u32>>> {
        let Some(all) = self.train_next_shares(shares)? else {
            self.staged.step = None;
            return Ok(None);
        };
        let mut staged = std::mem::take(&mut self.staged);
        staged.step = None;
        let RunParts {
            trainer,
            steps_done,
            data,
            ..
        } = self.run_parts()?;
        // the indices are the trainer's own batch, drawn from this set
        parameters_into(&mut trainer.net, &mut staged.params);
        staged.pixels.clear();
        staged.labels.clear();
        for &i in all.iter().skip(1).flatten() {
            staged.pixels.extend_from_slice(data.image(i as usize));
            staged.labels.push(data.labels[i as usize]);
        }
        staged.own.clear();
        staged.own.extend(all[0].iter().map(|&i| i as usize));
        staged.step = Some(*steps_done);
        self.staged = staged;
        Ok(Some(all.iter().map(|s| s.len() as u32).collect()))
    }

    /// What [`Session::train_stage`] made ready.
    pub fn staged(&self) -> &StagedShares {
        &self.staged
    }

    /// The shares of the step after the next one, where it is in the same epoch, made ready for the
    /// helpers as [`Session::train_stage`] does (their images and labels only: the parameters, share
    /// 0 and the step staged before are kept); their sizes, or `None` (the step starts an epoch, or
    /// there is none). The helpers that mirror the run get their images a step ahead.
    pub fn train_stage_next(&mut self, shares: usize) -> Result<Option<Vec<u32>>> {
        let mut staged = std::mem::take(&mut self.staged);
        let result = (|| {
            let RunParts { trainer, data, .. } = self.run_parts()?;
            let Some(all) = trainer.peek_shares(shares) else {
                return Ok(None);
            };
            staged.pixels.clear();
            staged.labels.clear();
            for &i in all.iter().skip(1).flatten() {
                staged.pixels.extend_from_slice(data.image(i));
                staged.labels.push(data.labels[i]);
            }
            Ok(Some(all.iter().map(|s| s.len() as u32).collect()))
        })();
        self.staged = staged;
        result
    }

    /// The run's parameters and optimizer, for helpers that mirror it ([`Session::share_mirror`]).
    pub fn train_mirror_state(&mut self) -> Result<MirrorState> {
        let RunParts { trainer, .. } = self.run_parts()?;
        let mut params = Vec::new();
        parameters_into(&mut trainer.net, &mut params);
        Ok(MirrorState {
            params,
            optimizer: trainer.optimizer_state(),
        })
    }

    /// Share 0's gradient, as [`Session::train_own_staged`] left it in the run's network (until the
    /// step is applied), for the helpers that mirror the run.
    pub fn train_own_gradient(&mut self) -> Result<&[f32]> {
        let mut gradient = std::mem::take(&mut self.staged.gradient);
        let result = self
            .run_parts()
            .map(|RunParts { trainer, .. }| gradients_into(&mut trainer.net, &mut gradient));
        self.staged.gradient = gradient;
        result.map(|()| self.staged.gradient.as_slice())
    }

    /// Share 0's gradient of the step [`Session::train_stage`] made ready, on the run's own network.
    pub fn train_own_staged(&mut self) -> Result<ShareReport> {
        let own = std::mem::take(&mut self.staged.own);
        let step = self.staged.step.take();
        let result = (|| {
            let RunParts {
                trainer,
                steps_done,
                data,
                ..
            } = self.run_parts()?;
            if step != Some(*steps_done) || own.is_empty() || own.iter().any(|&i| i >= data.len()) {
                return Err(Error::InvalidArgument(
                    "no shares made ready for this step (train_stage)".into(),
                ));
            }
            Ok(trainer.own_share(data, &own))
        })();
        self.staged.own = own;
        result
    }

    /// One Adam step with share 0 (in the run's network) and the helpers' shares: `reports[i]` and
    /// the gradient `gradients[i·P..(i+1)·P]` (P parameters), in share order. At the end of an epoch
    /// the test set validates it, as in [`Session::train_step`].
    pub fn train_apply_shares(
        &mut self,
        own: ShareReport,
        reports: &[ShareReport],
        gradients: &[f32],
    ) -> Result<TrainProgress> {
        let test = self.test.take();
        let result = (|| {
            let RunParts {
                trainer,
                steps_done,
                steps_total,
                data,
            } = self.run_parts()?;
            let params = trainer.net.num_params();
            if gradients.len() != params * reports.len() {
                return Err(Error::InvalidArgument(format!(
                    "{} gradient values for {} shares of {params} parameters",
                    gradients.len(),
                    reports.len()
                )));
            }
            let others: Vec<(ShareReport, &[f32])> = reports
                .iter()
                .zip(gradients.chunks_exact(params.max(1)))
                .map(|(r, g)| (*r, g))
                .collect();
            let mut progress = progress_of(trainer, *steps_done, steps_total, data);
            let r = trainer.apply_shares(&own, &others)?;
            take_step(trainer, steps_done, &r, test.as_ref(), &mut progress)?;
            Ok(progress)
        })();
        self.test = test;
        result
    }

    /// A helper: make the network of `design` (JSON) that shares are computed on.
    pub fn share_begin(&mut self, design: &str) -> Result<()> {
        let design = Design::parse(design)?;
        let net = Sequential::new(&design.architecture()?, 0)?;
        self.share = Some(ShareNet {
            net,
            gradient: Vec::new(),
            labels: Vec::new(),
            images: Dataset {
                images: Vec::new(),
                labels: Vec::new(),
                rows: 28,
                cols: 28,
            },
            all: Vec::new(),
            mirror: None,
            computed: false,
        });
        Ok(())
    }

    /// A helper: mirror a run from its `state` ([`Session::train_mirror_state`]): from now on its
    /// network keeps the run's parameters by taking the run's steps itself ([`Session::share_apply`]),
    /// and computes its shares with them ([`Session::share_compute_mirrored`]).
    pub fn share_mirror(&mut self, state: &MirrorState) -> Result<()> {
        let share = self.share_net()?;
        share.mirror = None;
        share.computed = false;
        set_parameter_vector(&mut share.net, &state.params)?;
        share.mirror = Some(Mirror::new(&mut share.net, &state.optimizer)?);
        Ok(())
    }

    /// A helper that mirrors the run: its share's gradient with the parameters it holds (as
    /// [`Session::share_compute`] otherwise).
    pub fn share_compute_mirrored(&mut self, pixels: &[u8], labels: &[u8]) -> Result<ShareReport> {
        if self.share_net()?.mirror.is_none() {
            return Err(Error::InvalidArgument(
                "this helper does not mirror a run (share_mirror)".into(),
            ));
        }
        self.compute(None, pixels, labels)
    }

    /// A helper that mirrors the run: the run's step, with the shares of `sizes` images (in share
    /// order): share `mine` is the one it computed last, the others' gradients are in `others`, one
    /// after the other (P values each) in share order. Without a share of its own (`mine` `None`: the
    /// batch had fewer shares than workers), every share's gradient is in `others`.
    pub fn share_apply(
        &mut self,
        sizes: &[u32],
        mine: Option<usize>,
        others: &[f32],
    ) -> Result<()> {
        let share = self.share_net()?;
        let params = share.net.num_params();
        let Some(mirror) = share.mirror.as_mut() else {
            return Err(Error::InvalidArgument(
                "this helper does not mirror a run (share_mirror)".into(),
            ));
        };
        if mine.is_some_and(|i| i >= sizes.len()) || (mine.is_some() && !share.computed) {
            return Err(Error::InvalidArgument(
                "no gradient of this helper's share to apply (share_compute_mirrored)".into(),
            ));
        }
        // `mine`, if given, is one of the shares (checked above)
        let theirs = sizes.len() - usize::from(mine.is_some());
        if others.len() != theirs * params {
            return Err(Error::InvalidArgument(format!(
                "{} gradient values for {theirs} shares of {params} parameters",
                others.len()
            )));
        }
        let mut vectors = others.chunks_exact(params.max(1));
        let shares: Vec<(usize, ShareGradient)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let g = if Some(i) == mine {
                    ShareGradient::Own
                } else {
                    // as many vectors as shares not this helper's (checked above)
                    ShareGradient::Vector(vectors.next().unwrap_or_default())
                };
                (n as usize, g)
            })
            .collect();
        mirror.apply(&mut share.net, &shares)?;
        share.computed = false;
        Ok(())
    }

    /// A helper: its network, or an error before [`Session::share_begin`].
    fn share_net(&mut self) -> Result<&mut ShareNet> {
        self.share
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no share network (share_begin)".into()))
    }

    /// A helper: the gradient of its network with parameters `params` on a share's images (`pixels`,
    /// 28×28 bytes each) and `labels` (kept for [`Session::share_gradient`]).
    pub fn share_compute(
        &mut self,
        params: &[f32],
        pixels: &[u8],
        labels: &[u8],
    ) -> Result<ShareReport> {
        self.compute(Some(params), pixels, labels)
    }

    /// [`Session::share_compute`], with `params` if given, else with the parameters the network holds.
    fn compute(
        &mut self,
        params: Option<&[f32]>,
        pixels: &[u8],
        labels: &[u8],
    ) -> Result<ShareReport> {
        let share = self.share_net()?;
        if labels.is_empty() || pixels.len() != labels.len() * IMAGE_LEN {
            return Err(Error::InvalidArgument(format!(
                "a share of {} labels and {} pixels (784 per image)",
                labels.len(),
                pixels.len()
            )));
        }
        if let Some(params) = params {
            set_parameter_vector(&mut share.net, params)?;
        }
        share.images.images.clear();
        share.images.images.extend_from_slice(pixels);
        share.images.labels.clear();
        share.images.labels.extend_from_slice(labels);
        share.all.clear();
        share.all.extend(0..labels.len());
        let report = share_gradient(&mut share.net, &share.images, &share.all, &mut share.labels);
        gradients_into(&mut share.net, &mut share.gradient);
        share.computed = true;
        Ok(report)
    }

    /// A helper: the gradient of the last share computed.
    pub fn share_gradient(&self) -> Result<&[f32]> {
        self.share
            .as_ref()
            .map(|s| s.gradient.as_slice())
            .ok_or_else(|| Error::InvalidArgument("no share network (share_begin)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tiny;
    use super::super::{FLOAT, train::TrainSettings};
    use super::*;

    fn settings() -> TrainSettings {
        TrainSettings {
            epochs: 1,
            batch_size: 16,
            learning_rate: 0.001,
            seed: 3,
            images: None,
            design: None,
        }
    }

    /// A whole run of `images` images (batches of 16) split over `k` shares: the coordinator and
    /// k−1 helper sessions, sent the parameters with each share.
    fn run(k: usize, images: usize) -> Vec<u8> {
        let (_, img, lab) = tiny(images);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings()).unwrap();
        assert!(s.train_parallel_ready());
        let design = s.train_design().unwrap();
        let mut helpers: Vec<Session> = (1..k)
            .map(|_| {
                let mut h = Session::new();
                h.share_begin(&design).unwrap();
                h
            })
            .collect();
        let mut last = None;
        while let Some(sizes) = s.train_stage(k).unwrap() {
            let batch = s.training.as_ref().map(|r| r.trainer.config.batch_size);
            assert!(sizes.iter().sum::<u32>() as usize <= 16 && batch == Some(16));
            let staged = s.staged();
            let mut reports = Vec::new();
            let mut gradients = Vec::new();
            let mut at = 0;
            for (h, &n) in helpers.iter_mut().zip(&sizes[1..]) {
                let n = n as usize;
                let pixels = &staged.pixels[at * IMAGE_LEN..(at + n) * IMAGE_LEN];
                let labels = &staged.labels[at..at + n];
                at += n;
                reports.push(h.share_compute(&staged.params, pixels, labels).unwrap());
                gradients.extend_from_slice(h.share_gradient().unwrap());
            }
            assert_eq!(at, staged.labels.len());
            let own = s.train_own_staged().unwrap();
            last = Some(s.train_apply_shares(own, &reports, &gradients).unwrap());
        }
        let last = last.unwrap();
        assert!(last.finished && last.epoch_report.is_some());
        assert_eq!(last.steps_done, images.div_ceil(16));
        s.train_finish().unwrap();
        s.model_bytes(FLOAT).unwrap()
    }

    /// A run of `images` images (batches of 16) split over `k` shares, with helpers that mirror it:
    /// they are sent the run's state once, and then at each step only its images (a step ahead
    /// within an epoch) and the other shares' gradients; they take each step themselves. The model
    /// file at the end.
    fn run_mirrored(k: usize, images: usize) -> Vec<u8> {
        let (_, img, lab) = tiny(images);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings()).unwrap();
        let design = s.train_design().unwrap();
        let state = s.train_mirror_state().unwrap();
        let mut helpers: Vec<Session> = (1..k)
            .map(|_| {
                let mut h = Session::new();
                h.share_begin(&design).unwrap();
                h.share_mirror(&state).unwrap();
                h
            })
            .collect();
        let staged = |s: &Session, sizes: Vec<u32>| {
            (sizes, s.staged().pixels.clone(), s.staged().labels.clone())
        };
        let mut ahead = None;
        let mut steps = 0;
        while let Some(sizes) = s.train_stage(k).unwrap() {
            // the helpers' images: sent with the last step where this one is in the same epoch
            let (sent, pixels, labels) = ahead.take().unwrap_or_else(|| staged(&s, sizes.clone()));
            assert_eq!(sent, sizes);
            assert_eq!(
                (pixels.as_slice(), labels.as_slice()),
                (s.staged().pixels.as_slice(), s.staged().labels.as_slice())
            );
            // each helper with a share computes it with the parameters it holds
            let mut reports = Vec::new();
            let mut gradients = Vec::new();
            let mut at = 0;
            for (h, &n) in helpers.iter_mut().zip(&sizes[1..]) {
                let n = n as usize;
                let share = (
                    &pixels[at * IMAGE_LEN..(at + n) * IMAGE_LEN],
                    &labels[at..at + n],
                );
                at += n;
                reports.push(h.share_compute_mirrored(share.0, share.1).unwrap());
                gradients.extend_from_slice(h.share_gradient().unwrap());
            }
            let own = s.train_own_staged().unwrap();
            let own_gradient = s.train_own_gradient().unwrap().to_vec();
            ahead = s
                .train_stage_next(k)
                .unwrap()
                .map(|sizes| staged(&s, sizes));
            // every helper takes the step with the others' gradients, in share order
            let p = own_gradient.len();
            for (j, h) in helpers.iter_mut().enumerate() {
                let mine = (j + 1 < sizes.len()).then_some(j + 1);
                let mut others = own_gradient.clone();
                for (i, g) in gradients.chunks_exact(p).enumerate() {
                    if Some(i + 1) != mine {
                        others.extend_from_slice(g);
                    }
                }
                h.share_apply(&sizes, mine, &others).unwrap();
            }
            s.train_apply_shares(own, &reports, &gradients).unwrap();
            steps += 1;
            // the helpers hold the run's parameters and optimizer, bit for bit
            let run = s.train_mirror_state().unwrap();
            for h in helpers.iter_mut() {
                let share = h.share.as_mut().unwrap();
                let mut params = Vec::new();
                parameters_into(&mut share.net, &mut params);
                assert_eq!(params, run.params, "step {steps}");
                assert_eq!(share.mirror.as_ref().unwrap().state(), run.optimizer);
            }
        }
        assert_eq!(steps, images.div_ceil(16));
        s.train_finish().unwrap();
        s.model_bytes(FLOAT).unwrap()
    }

    #[test]
    fn helpers_that_mirror_the_run_train_the_same_model() {
        // the same file as helpers sent the parameters at every step
        assert_eq!(run_mirrored(2, 64), run(2, 64));
        assert_eq!(run_mirrored(3, 64), run(3, 64));
        // a last batch of one image: one share, and helpers without one still take the step
        assert_eq!(run_mirrored(3, 65), run(3, 65));
    }

    #[test]
    fn a_mirrored_step_refuses_what_does_not_fit() {
        let (_, img, lab) = tiny(16);
        let mut s = Session::new();
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings()).unwrap();
        let state = s.train_mirror_state().unwrap();
        let mut h = Session::new();
        assert!(h.share_mirror(&state).is_err(), "no network");
        h.share_begin(&s.train_design().unwrap()).unwrap();
        assert!(
            h.share_compute_mirrored(&[0; 784], &[1]).is_err(),
            "not mirroring"
        );
        assert!(
            h.share_apply(&[1], None, &state.params).is_err(),
            "not mirroring"
        );
        let mut short = state.clone();
        short.optimizer.moments.pop();
        assert!(h.share_mirror(&short).is_err(), "moments of another size");
        h.share_mirror(&state).unwrap();
        let p = state.params.len();
        assert!(
            h.share_apply(&[1, 1], Some(1), &vec![0.0; p]).is_err(),
            "nothing computed"
        );
        h.share_compute_mirrored(&[0; 784], &[1]).unwrap();
        assert!(
            h.share_apply(&[1, 1], Some(2), &vec![0.0; p]).is_err(),
            "no share 2"
        );
        assert!(
            h.share_apply(&[1, 1], Some(1), &vec![0.0; 2 * p]).is_err(),
            "one vector too many"
        );
        assert!(
            h.share_apply(&[0, 0], Some(1), &vec![0.0; p]).is_err(),
            "no images"
        );
        h.share_apply(&[1, 1], Some(1), &vec![0.0; p]).unwrap();
        assert!(
            h.share_apply(&[1, 1], Some(1), &vec![0.0; p]).is_err(),
            "the gradient used once"
        );
    }

    #[test]
    fn shares_over_sessions_train_as_one_and_deterministically() {
        let (_, img, lab) = tiny(64);
        let mut plain = Session::new();
        plain.set_train_set(&img, &lab).unwrap();
        plain.set_test_set(&img, &lab).unwrap();
        plain.train_begin(&settings()).unwrap();
        while !plain.train_step(100).unwrap().finished {}
        plain.train_finish().unwrap();
        // one share: the same file as train_step
        assert_eq!(run(1, 64), plain.model_bytes(FLOAT).unwrap());
        // three: the same file every time
        assert_eq!(run(3, 64), run(3, 64));
    }

    #[test]
    fn wrong_inputs_are_errors_not_panics() {
        let (_, img, lab) = tiny(8);
        let mut s = Session::new();
        assert!(s.train_next_shares(2).is_err());
        assert!(s.train_stage(2).is_err(), "no run");
        assert!(s.train_own_staged().is_err(), "no run");
        assert!(
            s.share_compute(&[0.0], &[0; 784], &[1]).is_err(),
            "no network"
        );
        assert!(s.share_begin("{").is_err());
        let design = Design::from_architecture("t", &Architecture::tutorial())
            .to_json()
            .unwrap();
        s.share_begin(&design).unwrap();
        let few = s.share_compute(&[0.0; 3], &[0; 784], &[1]);
        assert!(few.is_err(), "too few parameters");
        s.set_train_set(&img, &lab).unwrap();
        s.set_test_set(&img, &lab).unwrap();
        s.train_begin(&settings()).unwrap();
        assert!(s.train_own_staged().is_err(), "nothing staged");
        s.train_stage(2).unwrap().unwrap();
        let params = s.staged().params.clone();
        assert_eq!(params.len(), 20410);
        assert!(
            s.share_compute(&params, &[0; 700], &[1]).is_err(),
            "not 784 pixels"
        );
        assert!(s.share_compute(&params, &[], &[]).is_err(), "no images");
        assert!(s.share_compute(&params, &[0; 784], &[1]).is_ok());
        let own = s.train_own_staged().unwrap();
        assert!(
            s.train_own_staged().is_err(),
            "share 0 computed once a step"
        );
        assert!(s.train_apply_shares(own, &[own], &[0.0; 5]).is_err());
    }
}
