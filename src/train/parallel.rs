//! Data-parallel training on threads (`ptq train --threads N`): the scheme the page's workers use
//! (see [`Trainer::next_shares`]), with helper networks on threads that wait for shares. Each step splits the batch
//! into shares, the helpers compute shares 1.. with the run's parameters while this thread computes
//! share 0, and one Adam step takes their gradients in share order: the result depends on the number
//! of threads, not on which finishes first. Not on wasm (no threads there; the page uses workers).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::fit::{
    ShareReport, StepReport, Trainer, gradient_vector, parallel_ready, parameter_vector,
    set_parameter_vector, share_gradient,
};

/// One share for a helper thread: the run's parameters and the share's image indices.
struct Job {
    params: Arc<Vec<f32>>,
    ids: Vec<usize>,
}

/// What a helper thread sends back: its number and its share's report and gradient.
type Answer = (usize, Result<(ShareReport, Vec<f32>)>);

/// A run's helper threads, one per thread beyond the caller's, each with its own copy of the network;
/// they live as long as this value and wait for shares between steps.
pub struct Helpers {
    jobs: Vec<Sender<Job>>,
    answers: Receiver<Answer>,
    threads: Vec<JoinHandle<()>>,
}

impl Helpers {
    /// `threads − 1` helper threads with copies of the trainer's network, computing shares of `train`
    /// (the set the trainer trains on). A network with BatchNormalization cannot be split (see
    /// [`parallel_ready`]).
    pub fn new(trainer: &Trainer, train: Arc<Dataset>, threads: usize) -> Result<Helpers> {
        if threads > 1 && !parallel_ready(&trainer.net) {
            return Err(Error::InvalidArgument(
                "a design with BatchNormalization trains on one thread (it normalizes over the whole batch)".into(),
            ));
        }
        let (answer_tx, answers) = channel::<Answer>();
        let mut jobs = Vec::new();
        let mut handles = Vec::new();
        for index in 0..threads.clamp(1, 256) - 1 {
            let (tx, rx) = channel::<Job>();
            let mut net = trainer.net.clone();
            let train = Arc::clone(&train);
            let answer_tx = answer_tx.clone();
            handles.push(std::thread::spawn(move || {
                let mut labels = Vec::new();
                for job in rx {
                    let result = set_parameter_vector(&mut net, &job.params).map(|()| {
                        let report = share_gradient(&mut net, &train, &job.ids, &mut labels);
                        (report, gradient_vector(&mut net))
                    });
                    if answer_tx.send((index, result)).is_err() {
                        break;
                    }
                }
            }));
            jobs.push(tx);
        }
        Ok(Helpers {
            jobs,
            answers,
            threads: handles,
        })
    }

    /// One step split over the helper threads and this one; `None` when the run is over. `train`
    /// is the set the helpers were given.
    pub fn step(&mut self, trainer: &mut Trainer, train: &Dataset) -> Option<Result<StepReport>> {
        let shares = trainer.next_shares(train, self.jobs.len() + 1)?;
        let params = Arc::new(parameter_vector(&mut trainer.net));
        let sent = shares.len() - 1;
        for (tx, ids) in self.jobs.iter().zip(&shares[1..]) {
            let job = Job {
                params: Arc::clone(&params),
                ids: ids.clone(),
            };
            if tx.send(job).is_err() {
                return Some(Err(Error::InvalidArgument(
                    "a training thread stopped".into(),
                )));
            }
        }
        let own = trainer.own_share(train, &shares[0]);
        // the answers in share order, whichever thread finishes first
        let mut others: Vec<Option<(ShareReport, Vec<f32>)>> = vec![None; sent];
        for _ in 0..sent {
            match self.answers.recv() {
                Ok((index, Ok(answer))) => others[index] = Some(answer),
                Ok((_, Err(e))) => return Some(Err(e)),
                Err(_) => {
                    return Some(Err(Error::InvalidArgument(
                        "a training thread stopped".into(),
                    )));
                }
            }
        }
        let views: Vec<(ShareReport, &[f32])> = others
            .iter()
            .flatten()
            .map(|(r, g)| (*r, g.as_slice()))
            .collect();
        Some(trainer.apply_shares(&own, &views))
    }
}

impl Drop for Helpers {
    /// Close the helpers' queues, so their loops end, and wait for them.
    fn drop(&mut self) {
        self.jobs.clear();
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
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
        let shared = Arc::new(train.clone());
        let run = |threads: usize| {
            let mut trainer = Trainer::new(config.clone(), &train).unwrap();
            let mut helpers = Helpers::new(&trainer, Arc::clone(&shared), threads).unwrap();
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
