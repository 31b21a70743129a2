"""Mutation suite for 01_manual_gradients: plausible wrong answers and correct alternatives per answer cell."""

from autograder.mutants import right, wrong

CELLS = {
    "centred_slope": [
        wrong("forward difference", '''
def centred_slope(f, x, h=1e-3):
    return (f(x + h) - f(x)) / h
''', diagnosis="forward difference"),
        wrong("backward difference", '''
def centred_slope(f, x, h=1e-3):
    return (f(x) - f(x - h)) / h
''', diagnosis="backward difference"),
        wrong("divides by h instead of 2h", '''
def centred_slope(f, x, h=1e-3):
    return (f(x + h) - f(x - h)) / h
''', diagnosis="divided by h instead of 2h"),
        wrong("sign flipped", '''
def centred_slope(f, x, h=1e-3):
    return (f(x - h) - f(x + h)) / (2 * h)
''', diagnosis="sign"),
        wrong("another default step", '''
def centred_slope(f, x, h=1e-4):
    return (f(x + h) - f(x - h)) / (2 * h)
'''),
        wrong("ignores the step it is given", '''
def centred_slope(f, x, h=1e-3):
    step = 1e-3
    return (f(x + step) - f(x - step)) / (2 * step)
'''),
        wrong("autograd instead of a difference", '''
def centred_slope(f, x, h=1e-3):
    t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    f(t).backward()
    return t.grad.item()
'''),
    ],
}

CELLS["centred_slope"] += [
    right("half of the difference over h", '''
def centred_slope(f, x, h=1e-3):
    return 0.5 * (f(x + h) - f(x - h)) / h
'''),
    right("a helper and named points", '''
def rise(f, a, b):
    return f(b) - f(a)


def centred_slope(f, x, h=1e-3):
    left, right = x - h, x + h
    return rise(f, left, right) / (right - left)
'''),
    right("prints its work", '''
def centred_slope(f, x, h=1e-3):
    above = f(x + h)
    below = f(x - h)
    slope = (above - below) / (2 * h)
    print(f"slope at {x}: {slope}")
    return slope
'''),
]
