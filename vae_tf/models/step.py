"""The ONE training and evaluation step of the model family, as a mixin of `LatentVariableModel`.

As Keras' own `Trainer` gives `keras.Model` its `fit`, `OneStep` gives every
variant its `train_step` and `test_step`: the variant's named terms
(`loss_terms`) make the batch's objective (`vae_tf.models.objective`), the
model's optimizer trains on it, each auxiliary network's optimizer on its own
terms, and the trackers log every term under its name. A variant never
copies it; what it changes is its terms.
"""

import keras
import tensorflow as tf
from keras import ops

from vae_tf import losses
from vae_tf.models.objective import batch_objective
from vae_tf.models.objective import step_logs
from vae_tf.models.objective import total


class OneStep:
    """`train_step` and `test_step` over `loss_terms`, for `LatentVariableModel`.

    Reads the model's `loss_terms`, `condition`, `conditional`,
    `auxiliary_networks()`, `optimizer`, `kl_weight`, `kl_weight_feed` (a
    `vae_tf.callbacks.KLWeightFeed` or None) and its trackers
    (`loss_tracker`, `total_loss_tracker`, `term_trackers`,
    `statistic_trackers`, `kl_weight_tracker`).
    """

    def _images_and_labels(self, data):
        """`(images, labels or None)` of a batch; labels only when conditional."""
        images, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "VAE does not support sample weights; pass images (and optionally labels) only."
            )
        return images, labels if self.conditional else None

    def _check_terms(self, terms):
        """Refuses terms that the step would log or train wrongly, naming the fix."""
        named = {**self.term_trackers, **self.statistic_trackers}
        unknown = sorted(name for name, term in terms.items() if term.logged and name not in named)
        if unknown:
            raise ValueError(
                f"loss_terms returned the logged term(s) {unknown}, which "
                f"{type(self).__name__}.loss_term_names {self.loss_term_names} does not name: "
                "add them there (each is logged as <name>_loss)."
            )
        orphans = sorted(
            f"{name} (trains={term.trains!r})"
            for name, term in terms.items()
            if term.trains is not None and term.trains not in self.auxiliary_networks()
        )
        if orphans:
            raise ValueError(
                f"loss_terms returned {orphans}, but {type(self).__name__}.auxiliary_networks() "
                f"has {sorted(self.auxiliary_networks())}: such a term would train nothing."
            )
        misdeclared = sorted(
            name
            for name in self.statistic_trackers
            if name in terms and (terms[name].optimized or terms[name].in_total)
        )
        if misdeclared:
            raise ValueError(
                f"The statistic(s) {misdeclared} must be LossTerm(value, optimized=False, "
                "in_total=False): a statistic is logged, never optimized nor in total_loss."
            )

    def _update_metrics(self, terms, objective):
        named = {**self.term_trackers, **self.statistic_trackers}
        batch = ops.shape(terms[self.loss_term_names[0]].value)[0]
        self.loss_tracker.update_state(objective, sample_weight=batch)
        self.total_loss_tracker.update_state(total(terms))
        for name, tracker in named.items():
            tracker.update_state(terms[name].per_example())
        trackers = (self.loss_tracker, self.total_loss_tracker, *named.values())
        return {tracker.name: tracker.result() for tracker in trackers}

    def _objective(self, terms):
        """`(objective, loss)` of the model's terms, with the layers' own losses (`self.losses`)."""
        self._check_terms(terms)
        objective, loss = batch_objective(
            {name: term for name, term in terms.items() if term.trains is None}
        )
        if self.losses:
            extra = ops.sum(self.losses)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            objective, loss = objective + extra, loss + extra / replicas
        return objective, loss

    def train_step(self, data):
        images, labels = self._images_and_labels(data)
        auxiliary = self.auxiliary_networks()
        if getattr(self, "kl_weight_feed", None) is not None:
            # A KL schedule under several steps per call: this step's weight.
            self.kl_weight.assign(self.kl_weight_feed.next_weight())
        with tf.GradientTape(persistent=bool(auxiliary)) as tape, losses.in_training_step():
            terms = self.loss_terms(images, self.condition(labels), training=True)
            objective, loss = self._objective(terms)
            # Loss scaling for mixed_float16 (a no-op otherwise).
            scaled_loss = self.optimizer.scale_loss(loss)
            auxiliary_losses = {
                name: batch_objective(
                    {key: term for key, term in terms.items() if term.trains == name}
                )[1]
                for name in auxiliary
            }
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        for name, (network, optimizer) in auxiliary.items():
            optimizer.apply(tape.gradient(auxiliary_losses[name], network.weights), network.weights)
        # The weight is a training setting: reported by training steps only.
        self.kl_weight_tracker.update_state(self.kl_weight)
        return step_logs(
            {
                **self._update_metrics(terms, objective),
                "kl_weight": self.kl_weight_tracker.result(),
            }
        )

    def test_step(self, data):
        images, labels = self._images_and_labels(data)
        terms = self.loss_terms(images, self.condition(labels), training=False)
        objective, _ = self._objective(terms)
        return step_logs(self._update_metrics(terms, objective))
