"""The ``chainrule`` command: train the course's models, use saved ones, explain worked examples.

    chainrule train [NAME]             train a zoo model (default: the lecture's MNIST MLP)
    chainrule evaluate FILE            loss and accuracy of a saved model on the test digits
    chainrule predict FILE IMAGE.png   the digit in an image (PNG or JPEG, any size)
    chainrule summary NAME|FILE        the layers, output shapes and parameter counts
    chainrule explain tlu|xor|backprop a hand-worked example, number by number
    chainrule explain graph|saliency|filters ...   pictures of a network (see --help)
    chainrule generate FILE            text from a trained char_rnn model
    chainrule serve FILE               an HTTP API and a page to try the model (the serve extra)
    chainrule export FILE OUT.onnx     the model as an ONNX file (for onnxruntime and others)
    chainrule search NAME              tune a zoo model's hyperparameters with Optuna

A user's mistake (a missing file, an unknown name, a bad option) ends in one line on stderr and a
non-zero exit status, never in a traceback.
"""

import argparse
import logging
import sys
from pathlib import Path

from chainrule.errors import ChainruleError

EXPLAINABLE = ("tlu", "xor", "backprop")
PICTURES = ("graph", "saliency", "filters")  # chainrule.explain.commands
# the extra that brings each optional package, for the one-line message when one is missing
EXTRA_OF_PACKAGE = {"starlette": "serve", "uvicorn": "serve", "PIL": "serve", "onnx": "onnx",
                    "optuna": "search", "tensorboardX": "tensorboard", "mpi4py": "mpi"}


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _say(line=""):
    print(line, flush=True)


def _parser():
    from chainrule import zoo

    parser = _OneLineParser(prog="chainrule", description="Train, use and explain the course's networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)

    train = commands.add_parser("train", help="train a zoo model (default: mlp, the lecture's MNIST MLP)")
    train.add_argument("name", nargs="?", default="mlp", metavar="NAME",
                       help=f"one of: {', '.join(zoo.names())} (default: mlp)")
    train.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the model's own)")
    train.add_argument("--batch-size", type=_positive_int, help="minibatch size")
    train.add_argument("--lr", type=_positive_float, help="learning rate")
    train.add_argument("--optimizer", help="optimiser name: sgd, rmsprop, adam, adadelta, ...")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--out", default=".", help="directory for the model file and plots (default: .)")
    train.add_argument("--data", help="data location: MNIST IDX directory, or a text corpus for char_rnn")
    train.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)  # N samples: quick runs, tests
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    train.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs to DIR "
                       "(view: tensorboard --logdir DIR)")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel on MPI ranks: mpiexec -n 4 chainrule train NAME --distributed "
                            "(--batch-size is per rank; rank 0 prints and writes the files)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on the test set")
    evaluate.add_argument("file", help="a .chainrule model file")
    evaluate.add_argument("--data", help="MNIST IDX directory (default: cache, else the embedded subset)")
    evaluate.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    evaluate.set_defaults(handler=_evaluate)

    predict = commands.add_parser("predict", help="classify a digit image (PNG or JPEG, any size)")
    predict.add_argument("file", help="a .chainrule model file (a digit classifier)")
    predict.add_argument("image", help="a PNG or JPEG image of one digit (other sizes than 28x28 are centred "
                         "and scaled as MNIST's digits were)")
    predict.set_defaults(handler=_predict)

    summary = commands.add_parser("summary", help="print a model's layers and parameter counts")
    summary.add_argument("model", metavar="NAME|FILE", help="a zoo model name or a .chainrule file")
    summary.set_defaults(handler=_summary)

    explain = commands.add_parser("explain", help="a worked example number by number, or a picture")
    explain.add_argument("name", choices=EXPLAINABLE + PICTURES, metavar="NAME",
                         help=f"{', '.join(EXPLAINABLE)}; or graph NAME|FILE, saliency FILE IMAGE.png, "
                              "filters NAME|FILE")
    explain.add_argument("arguments", nargs="*", help=argparse.SUPPRESS)
    explain.add_argument("--out", default=".", help="directory for pictures (default: .)")
    explain.add_argument("--method", default="gradient",
                         choices=("gradient", "smoothgrad", "integrated_gradients"), help="saliency method")
    explain.set_defaults(handler=_explain)

    search = commands.add_parser("search", help="tune a zoo model's hyperparameters (Optuna)")
    search.add_argument("name", metavar="NAME", help="a zoo model trained by fit: mlp, mlp_torch, "
                        "autoencoder, deep_autoencoder, lenet5, char_rnn")
    search.add_argument("--trials", type=int, default=20, help="trials to run (default: 20; 0: only "
                        "create the study in --storage)")
    search.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe",
                        help="tpe (default), random or grid")
    search.add_argument("--epochs", type=_positive_int, default=5, help="epochs per trial (default: 5)")
    search.add_argument("--storage", help="shared study: journal:PATH or a database URL (sqlite:///s.db)")
    search.add_argument("--study", help="the study's name in --storage")
    search.add_argument("--seed", type=int, default=None, help="seed of the sampler and the trials")
    search.add_argument("--out", default=".", help="directory for the CSV and the plots (default: .)")
    search.add_argument("--data", help="MNIST IDX directory, or a text corpus for char_rnn")
    search.add_argument("--limit", type=_positive_int, help=argparse.SUPPRESS)
    search.set_defaults(handler=_search)

    generate = commands.add_parser("generate", help="sample text from a trained char_rnn model")
    generate.add_argument("file", help="a char_rnn .chainrule model file")
    generate.add_argument("--length", type=_positive_int, default=500, help="characters (default: 500)")
    generate.add_argument("--temperature", type=_positive_float, default=0.8,
                          help="sampling temperature; lower is more conservative (default: 0.8)")
    generate.add_argument("--prime", default="", help="text to start from (default: one random character)")
    generate.add_argument("--seed", type=int, default=None, help="random seed")
    generate.set_defaults(handler=_generate)

    serve = commands.add_parser("serve", help="serve a saved model over HTTP, with a page to try it")
    serve.add_argument("file", help="a .chainrule model file")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_positive_int, default=8000, help="port (default: 8000)")
    serve.add_argument("--max-body", type=_positive_int, default=None, metavar="BYTES",
                       help="largest request body accepted (default: 2 MiB)")
    serve.set_defaults(handler=_serve)

    export = commands.add_parser("export", help="write a saved model as an ONNX file")
    export.add_argument("file", help="a .chainrule model file")
    export.add_argument("out", help="the .onnx file to write")
    export.add_argument("--opset", type=_positive_int, default=17, help="ONNX operator set (default: 17)")
    export.set_defaults(handler=_export)
    return parser


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


# ---------------------------------------------------------------- commands
def _train(args):
    from chainrule import zoo

    entry = zoo.get(args.name)
    say = _say
    if args.distributed:
        say = _start_distributed(entry.name)
    if args.optimizer is not None:
        from chainrule import optim

        optim.get(args.optimizer)  # an unknown name fails now, not after the data has loaded
    options = zoo.TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               optimizer=args.optimizer, seed=args.seed, out=args.out, data=args.data,
                               limit=args.limit, verbose=0 if args.quiet else 1, tensorboard=args.tensorboard)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    say(f"training {entry.name}: {entry.summary}")
    results = entry.train(options, say)
    for label, path in results.get("files", {}).items():
        say(f"{label}: {path}")
    if args.tensorboard is not None:
        logs = args.tensorboard
        say(f"TensorBoard logs: {logs} (view: tensorboard --logdir {logs})" if Path(logs).is_dir()
            else f"(no TensorBoard logs: {entry.name} is not trained by fit)")
    return 0


def _start_distributed(name):
    """Start MPI for ``train --distributed``; returns the function that prints (on rank 0 only)."""
    from chainrule import distributed, zoo

    if name not in zoo.TRAINED_BY_FIT:
        raise ChainruleError(f"{name} is not trained by Model.fit, so it cannot train on several ranks; "
                             f"--distributed works for: {', '.join(zoo.TRAINED_BY_FIT)}")
    distributed.init()
    if distributed.is_main():
        return _say
    logging.getLogger("chainrule").setLevel(logging.WARNING)  # only rank 0 reports
    return lambda line="": None


def _load(path):
    import chainrule as cr

    if not Path(path).is_file():
        raise FileNotFoundError(f"no model file {path!r}")
    from chainrule import zoo

    return cr.load_model(path, custom_objects=zoo.custom_objects())


def _evaluate(args):
    from chainrule.zoo.evaluation import evaluate_file

    for line in evaluate_file(_load(args.file), data=args.data, limit=args.limit):
        _say(line)
    return 0


def _predict(args):
    from chainrule.zoo.evaluation import predict_image, read_digit_image

    image = read_digit_image(args.image)
    digit, probabilities = predict_image(_load(args.file), image)
    ranked = sorted(enumerate(probabilities), key=lambda pair: -pair[1])[:3]
    others = ", ".join(f"{d}: {p:.3f}" for d, p in ranked)
    _say(f"predicted digit: {digit}   (probabilities {others})")
    return 0


def _summary(args):
    from chainrule import zoo

    input_shape = None
    if args.model in zoo.names():
        entry = zoo.get(args.model)
        model, input_shape = entry.build(), entry.input_shape
    elif Path(args.model).is_file():
        model = _load(args.model)
    else:
        raise FileNotFoundError(f"{args.model!r} is neither a zoo model ({', '.join(zoo.names())}) "
                                "nor a file")
    from chainrule.zoo.evaluation import summary_lines

    for line in summary_lines(model, input_shape):
        _say(line)
    return 0


def _explain(args):
    from chainrule import zoo

    if args.name in PICTURES:
        from chainrule.explain import commands

        for line in commands.run(args.name, args.arguments, out=args.out, method=args.method, load=_load):
            _say(line)
        return 0
    if args.arguments:
        raise ValueError(f"explain {args.name} takes no further arguments, got {' '.join(args.arguments)}")
    zoo.get(args.name).explain(_say)
    return 0


def _search(args):
    from chainrule.tune.command import run

    if args.trials < 0:
        raise ValueError(f"--trials must be 0 or more, got {args.trials}")
    return run(args, _say)


def _generate(args):
    from chainrule.zoo.char_rnn import sample

    model = _load(args.file)
    _say(sample(model, length=args.length, temperature=args.temperature, prime=args.prime, seed=args.seed))
    return 0


def _serve(args):
    from chainrule import serve

    model = _load(args.file)
    _say(f"serving {args.file} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    serve.run(model, name=Path(args.file).stem, host=args.host, port=args.port, max_body=args.max_body)
    return 0


def _export(args):
    from chainrule.onnx.exporter import export_file

    _say(f"wrote {export_file(_load(args.file), args.out, opset=args.opset)}")
    return 0


# ---------------------------------------------------------------- entry point
def main(argv=None):
    """Run the command line; returns the exit status (0 on success)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("chainrule")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except (ChainruleError, FileNotFoundError, ValueError, ModuleNotFoundError, OSError) as error:
        if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("chainrule"):
            raise  # our own bug, not the user's
        message = " ".join(str(error).split()) or type(error).__name__
        if isinstance(error, ModuleNotFoundError) and error.name:
            extra = EXTRA_OF_PACKAGE.get(error.name.split(".")[0], "course")
            message = f"this needs the package '{error.name}': pip install \"chainrule[{extra}]\""
        print(f"chainrule: error: {message}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
