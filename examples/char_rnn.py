"""A character-level LSTM that learns to write Python, and samples from it at several temperatures.

    python examples/char_rnn.py           # 200,000 characters of the standard library, 10 epochs
    python examples/char_rnn.py --quick   # 5,000 characters, 1 epoch (what the tests run)
"""

import os
import sys

import chainrule as cr
from chainrule.zoo.char_rnn import CharRNN, next_character_loss, sample, sequences

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
cr.manual_seed(0)

text = cr.data.text.load(max_chars=5_000 if QUICK else 200_000)     # Python's own source files
vocab = cr.data.CharVocab(text)
x, y = sequences(vocab.encode(text), length=64)                      # y is x shifted by one character
print(f"{len(text):,} characters, {len(vocab)} distinct, {len(x)} sequences of 64")

model = cr.Model(CharRNN(vocab.chars, embedding_dim=64, hidden_size=64 if QUICK else 256))
model.compile(loss=next_character_loss, optimizer=cr.optim.Adam(lr=0.002))
model.fit(x, y, batch_size=64, epochs=1 if QUICK else 10)

for temperature in (0.5, 0.8, 1.2):
    print(f"--- temperature {temperature} ---")
    print(sample(model, length=200, temperature=temperature, prime="def "))
