"""Train the TensorFlow tutorial's MNIST CNN with Keras, as the tutorial does, and print timings as JSON.

Same model, loss, optimizer and data as `ptq train`: Reshape -> Conv2D(12, 3x3, relu) -> MaxPool 2x2 ->
Flatten -> Dense(10) logits, Adam defaults, batch 32, validation on the 10,000 test images each epoch.
Usage: python keras_train.py MNIST_DIR [EPOCHS] [SEED]
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf


def idx(path):
    raw = open(path, "rb").read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(dims)


data = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
x_train = idx(os.path.join(data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
y_train = idx(os.path.join(data, "train-labels-idx1-ubyte"))
x_test = idx(os.path.join(data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
y_test = idx(os.path.join(data, "t10k-labels-idx1-ubyte"))

tf.keras.utils.set_random_seed(seed)
model = tf.keras.Sequential([
    tf.keras.layers.InputLayer(input_shape=(28, 28)),
    tf.keras.layers.Reshape(target_shape=(28, 28, 1)),
    tf.keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(pool_size=(2, 2)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(10),
])
model.compile(optimizer="adam",
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])


class EpochTimer(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


timer = EpochTimer()
timer.times = []
start = time.perf_counter()
history = model.fit(x_train, y_train, epochs=epochs, validation_data=(x_test, y_test), verbose=0,
                    callbacks=[timer])
total = time.perf_counter() - start
print(json.dumps({
    "seconds": total,
    "epoch_seconds": timer.times,
    "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
    "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
    "tensorflow": tf.__version__,
}))
