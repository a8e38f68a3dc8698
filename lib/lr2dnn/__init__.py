"""Helper package of the course *From Linear Regression to Deep Neural Networks*.

Each chapter teaches an idea in the open first; the reusable version of that idea lands
here so that later chapters can import it. Modules are small and grouped by concern:

``release``
    Where the course lives (repository and release tag), used by the Colab bootstrap and
    by the data loader.
``data``
    Finding, verifying and loading the course's data files.
``repro``
    Seeding every random number generator and choosing the torch device.
``plotting``
    The course's plotnine theme, contour lines of a cost surface, windows with equal units on
    both axes, and the confusion-matrix figure.
``linear``
    Linear-algebra helpers for linear regression (chapter 1).
``datasets``
    The simulated data sets of chapters 1-3.
``checks``
    Gradient checks by central differences, and the relative error of two gradients
    (chapter 2).
``optim``
    Gradient descent and mini-batch SGD that record their path, and the early-stopping rule
    with patience and a minimum improvement (chapter 2).
``preprocessing``
    Train/validation/test splits, standardising, polynomial features (chapter 3).
``classification``
    Sigmoid, stable softmax and log-softmax, cross-entropy, accuracy, confusion matrix
    (chapters 4 and 5).
``models``
    Multi-layer perceptrons from a list of widths, and parameter counting (chapter 6).
``training``
    The course's training loop for torch models: early stopping, best weights, progress bar
    (chapter 8).
``timeseries``
    Lag features, the case study's splits and scaling, naive baselines (chapter 9).
``ensemble``
    Training the seeds of one network together as one batched model (chapter 9).
"""

__version__ = "0.1.0"
