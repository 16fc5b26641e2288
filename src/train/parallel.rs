//! Data-parallel training on threads (`ptq train --threads N`): the scheme the page's workers use
//! (see [`Trainer::next_shares`]), with helper networks on scoped threads. Each step splits the batch
//! into shares, the helpers compute shares 1.. with the run's parameters while this thread computes
//! share 0, and one Adam step takes their gradients in share order: the result depends on the number
//! of threads, not on which finishes first. Not on wasm (no threads there; the page uses workers).

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::fit::{
    ShareReport, StepReport, Trainer, gradient_vector, parallel_ready, parameter_vector,
    set_parameter_vector, share_gradient,
};
use crate::train::net::Sequential;

/// A run's helper networks, one per thread beyond the caller's.
pub struct Helpers {
    nets: Vec<Sequential>,
    labels: Vec<Vec<u8>>,
}

impl Helpers {
    /// `threads − 1` copies of the trainer's network (their parameters are set before each share).
    /// A network with BatchNormalization cannot be split (see [`parallel_ready`]).
    pub fn new(trainer: &Trainer, threads: usize) -> Result<Helpers> {
        if threads > 1 && !parallel_ready(&trainer.net) {
            return Err(Error::InvalidArgument(
                "a design with BatchNormalization trains on one thread (it normalizes over the whole batch)".into(),
            ));
        }
        let count = threads.clamp(1, 256) - 1;
        Ok(Helpers {
            nets: (0..count).map(|_| trainer.net.clone()).collect(),
            labels: vec![Vec::new(); count],
        })
    }

    /// One step split over the helpers' threads and this one; `None` when the run is over.
    pub fn step(&mut self, trainer: &mut Trainer, train: &Dataset) -> Option<Result<StepReport>> {
        let shares = trainer.next_shares(train, self.nets.len() + 1)?;
        let params = parameter_vector(&mut trainer.net);
        let (own, others) = std::thread::scope(|scope| {
            let running: Vec<_> = self
                .nets
                .iter_mut()
                .zip(self.labels.iter_mut())
                .zip(&shares[1..])
                .map(|((net, labels), ids)| {
                    let params = &params;
                    scope.spawn(move || -> Result<(ShareReport, Vec<f32>)> {
                        set_parameter_vector(net, params)?;
                        let report = share_gradient(net, train, ids, labels);
                        Ok((report, gradient_vector(net)))
                    })
                })
                .collect();
            let own = trainer.own_share(train, &shares[0]);
            let others: Result<Vec<_>> = running
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::InvalidArgument("a training thread stopped".into()))
                    })
                })
                .collect();
            (own, others)
        });
        let others = match others {
            Ok(o) => o,
            Err(e) => return Some(Err(e)),
        };
        let views: Vec<(ShareReport, &[f32])> =
            others.iter().map(|(r, g)| (*r, g.as_slice())).collect();
        Some(trainer.apply_shares(&own, &views))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::train::fit::TrainConfig;

    #[test]
    fn threads_train_as_the_shares_do_and_one_thread_as_a_step() {
        let mut rng = Rng::new(5);
        let train = Dataset {
            images: (0..48 * 784)
                .map(|_| (rng.next_u64() % 256) as u8)
                .collect(),
            labels: (0..48).map(|_| (rng.next_u64() % 10) as u8).collect(),
            rows: 28,
            cols: 28,
        };
        let config = TrainConfig {
            epochs: 1,
            batch_size: 16,
            ..TrainConfig::default()
        };
        let run = |threads: usize| {
            let mut trainer = Trainer::new(config.clone(), &train).unwrap();
            let mut helpers = Helpers::new(&trainer, threads).unwrap();
            while let Some(r) = helpers.step(&mut trainer, &train) {
                if r.unwrap().step == 3 {
                    break;
                }
            }
            parameter_vector(&mut trainer.net)
        };
        let mut plain = Trainer::new(config.clone(), &train).unwrap();
        for _ in 0..3 {
            plain.step(&train).unwrap();
        }
        assert_eq!(run(1), parameter_vector(&mut plain.net));
        assert_eq!(run(3), run(3));
    }
}
