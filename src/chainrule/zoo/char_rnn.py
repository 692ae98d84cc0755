"""A character-level language model: embedding → LSTM → linear, trained to predict the next character.

Trained on a text corpus (by default the Python standard library's own source, as the course trains
on the Linux kernel's), it writes new "code" one character at a time: the network gives a
distribution over the next character, softmax(logits / temperature), and one is drawn from it.
A low temperature picks the likely characters (repetitive text); a high one takes risks (noisy text).

The vocabulary is part of the model's configuration, so a saved model file can generate on its own:
``chainrule generate char_rnn.chainrule --length 500 --temperature 0.8``.
"""

import numpy

import chainrule as cr
from chainrule import gpu, nn
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.zoo import keras_run
from chainrule.zoo.entry import TrainOptions, ZooModel

SEQUENCE_LENGTH = 64
DEFAULT_CORPUS_CHARS = 200_000


class CharRNN(nn.Module):
    """Embedding (V → D), LSTM (D → H), linear (H → V): ids (N, T) to next-character logits (N, T, V)."""

    def __init__(self, vocabulary, embedding_dim=64, hidden_size=256, num_layers=1):
        super().__init__()
        if not vocabulary:
            raise ValueError("CharRNN: expected a vocabulary of at least one character, got an empty one")
        self.vocabulary = str(vocabulary)
        self.embedding_dim, self.hidden_size, self.num_layers = embedding_dim, hidden_size, num_layers
        self.embedding = nn.Embedding(len(self.vocabulary), embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, len(self.vocabulary))

    def step(self, ids, state=None):
        """Logits (N, T, V) for ids (N, T), and the LSTM's final state, to continue from."""
        output, state = self.lstm(self.embedding(ids), state)
        return self.head(output), state

    def forward(self, ids):
        return self.step(ids)[0]

    def get_config(self):
        return {"vocabulary": self.vocabulary, "embedding_dim": self.embedding_dim,
                "hidden_size": self.hidden_size, "num_layers": self.num_layers}

    def reset_parameters(self):
        for module in (self.embedding, self.lstm, self.head):
            module.reset_parameters()


def next_character_loss(logits, targets):
    """Cross-entropy of the logits (N, T, V) against the next characters' ids (N, T), averaged."""
    vocabulary = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, vocabulary), targets.reshape(-1))


def sequences(ids, length=SEQUENCE_LENGTH):
    """Non-overlapping windows: inputs ids[i:i+T] and targets ids[i+1:i+T+1], as (windows, T) arrays."""
    count = (len(ids) - 1) // length
    if count < 1:
        raise ChainruleError(f"char_rnn: the corpus has {len(ids)} characters, expected at least "
                             f"{length + 1} for one training sequence of {length}; use a longer text")
    usable = count * length
    x = numpy.asarray(ids[:usable], dtype=numpy.int64).reshape(count, length)
    y = numpy.asarray(ids[1:usable + 1], dtype=numpy.int64).reshape(count, length)
    return x, y


def find_char_rnn(model):
    """The CharRNN inside ``model`` (itself, or the module a ``cr.Model`` wraps)."""
    for module in model.modules():
        if isinstance(module, CharRNN):
            return module
    raise ChainruleError(f"expected a char_rnn model, got a {type(model).__name__}; "
                         "train one with `chainrule train char_rnn`")


def sample(model, length=500, temperature=0.8, prime="", seed=None):
    """Generate ``length`` characters, each drawn from softmax(logits / temperature).

    ``prime`` (characters of the vocabulary) is fed first to set the state; without it the text starts
    from a random character of the vocabulary. Returns the generated text (prime included).
    """
    if temperature <= 0:
        raise ValueError(f"sample: expected a temperature > 0, got {temperature}")
    net = find_char_rnn(model)
    vocab = cr.data.CharVocab(net.vocabulary)
    if seed is not None:
        cr.manual_seed(seed)
    rng = cr.random.generator()
    text = prime or net.vocabulary[int(rng.integers(len(net.vocabulary)))]
    ids = vocab.encode(text)
    was_training = net.training
    net.eval()
    pieces, state = [text], None
    with no_grad():
        device = gpu.module_of(net)  # the prompt and each drawn character go where the model is
        logits, state = net.step(Tensor(gpu.move_array(ids[None, :], device)), state)
        for _ in range(length - len(text)):
            scores = gpu.move_array(logits._data[0, -1], numpy).astype(numpy.float64) / temperature
            probabilities = numpy.exp(scores - scores.max())
            probabilities /= probabilities.sum()
            next_id = int(rng.choice(len(probabilities), p=probabilities))
            pieces.append(net.vocabulary[next_id])
            next_input = gpu.move_array(numpy.array([[next_id]], dtype=numpy.int64), device)
            logits, state = net.step(Tensor(next_input), state)
    net.train(was_training)
    return "".join(pieces)


def build(vocabulary=None, embedding_dim=64, hidden_size=256):
    """A CharRNN wrapped as a ``cr.Model``; the vocabulary defaults to printable ASCII."""
    if vocabulary is None:
        vocabulary = "".join(chr(c) for c in range(32, 127)) + "\n\t"
    model = cr.Model(CharRNN(vocabulary, embedding_dim=embedding_dim, hidden_size=hidden_size))
    # the input is character ids, not floats: tell summary's dry run (and the model file) so
    model.input_spec = {"shape": [None, SEQUENCE_LENGTH], "dtype": "int64"}
    return model


def _compile(model, options=None):
    options = options or TrainOptions()
    model.compile(loss=next_character_loss, optimizer=keras_run.optimizer_for(options, "adam", lr=0.002))
    return model


def smoke_test():
    cr.manual_seed(0)
    text = cr.data.text.load(max_chars=3000)
    vocab = cr.data.CharVocab(text)
    x, y = sequences(vocab.encode(text), length=32)
    model = _compile(build(vocab.chars, embedding_dim=16, hidden_size=32))
    before = keras_run.metric_value(model.evaluate(x, y, verbose=0), 0)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    return before, keras_run.metric_value(model.evaluate(x, y, verbose=0), 0)


def train(options, log):
    cr.manual_seed(options.seed)
    text = cr.data.text.load(options.data, max_chars=options.get("limit", DEFAULT_CORPUS_CHARS))
    vocab = cr.data.CharVocab(text)
    x, y = sequences(vocab.encode(text))
    log(f"corpus: {len(text):,} characters, vocabulary of {len(vocab)}, "
        f"{len(x)} sequences of {SEQUENCE_LENGTH}")
    model = _compile(build(vocab.chars), options)
    history = keras_run.fit(model, x, y, options, epochs=10, batch_size=64)
    files = {"model file": keras_run.save_model(model, options, "char_rnn")}
    curve = keras_run.save_loss_curve(history, options, "char_rnn", log)
    if curve is not None:
        files["loss curve"] = curve
    log("a sample at temperature 0.8:")
    log(sample(model, length=300, temperature=0.8))
    return {"files": files}


CHAR_RNN = ZooModel(name="char_rnn", summary="character-level LSTM language model with temperature sampling",
                    build=build, smoke_test=smoke_test, train=train)
