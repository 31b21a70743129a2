"""Mutation suite for 01_manual_gradients: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

CELLS = {
    "mae_gradients": [
        wrong("summed instead of averaged", '''
def mae_gradients(x, y, w, b):
    s = torch.sign(w * x + b - y)
    return (s * x).sum(), s.sum()
''', diagnosis="summed instead of averaged"),
        wrong("the squared error's slope", '''
def mae_gradients(x, y, w, b):
    r = w * x + b - y
    return (2 * r * x).mean(), (2 * r).mean()
''', diagnosis="squared error's slope"),
        wrong("residual taken as y - ŷ", '''
def mae_gradients(x, y, w, b):
    s = torch.sign(y - (w * x + b))
    return (s * x).mean(), s.mean()
''', diagnosis="sign is flipped"),
        wrong("zero residual counted as +1", '''
def mae_gradients(x, y, w, b):
    r = w * x + b - y
    s = torch.where(r >= 0, 1.0, -1.0).to(x.dtype)
    return (s * x).mean(), s.mean()
''', diagnosis="r >= 0"),
        wrong("r / |r|, nan at a zero residual", '''
def mae_gradients(x, y, w, b):
    r = w * x + b - y
    s = r / r.abs()
    return (s * x).mean(), s.mean()
'''),
        wrong("forgot x in dL/dw", '''
def mae_gradients(x, y, w, b):
    s = torch.sign(w * x + b - y)
    return s.mean(), s.mean()
''', diagnosis="left out the factor x_i"),
        wrong("computed in float32", '''
def mae_gradients(x, y, w, b):
    x, y = x.float(), y.float()
    s = torch.sign(w * x + b - y)
    return (s * x).mean(), s.mean()
'''),
        wrong("autograd through torch.func", '''
def mae_gradients(x, y, w, b):
    g = torch.func.grad(lambda p: (p[0] * x + p[1] - y).abs().mean())(torch.tensor([float(w), float(b)], dtype=x.dtype))
    return g[0], g[1]
''', diagnosis="used autograd"),
        wrong("changes x in place", '''
def mae_gradients(x, y, w, b):
    r = x.mul_(w).add_(b).sub_(y)
    s = torch.sign(r)
    x.sub_(b - y).div_(w) if w != 0 else None
    return (s * (r + y - b) / w).mean(), s.mean()
'''),
        wrong("returns Python floats", '''
def mae_gradients(x, y, w, b):
    s = torch.sign(w * x + b - y)
    return (s * x).mean().item(), s.mean().item()
'''),
        right("a loop over the points", '''
def mae_gradients(x, y, w, b):
    dw = db = 0.0
    for xi, yi in zip(x.tolist(), y.tolist()):
        r = float(w) * xi + float(b) - yi
        slope = 1.0 if r > 0 else (-1.0 if r < 0 else 0.0)
        dw += slope * xi
        db += slope
    n = len(x)
    return torch.tensor(dw / n, dtype=x.dtype, device=x.device), torch.tensor(db / n, dtype=x.dtype, device=x.device)
'''),
        right("two where() masks", '''
def mae_gradients(x, y, w, b):
    r = w * x + b - y
    slope = (r > 0).to(x.dtype) - (r < 0).to(x.dtype)
    return (slope * x).mean(), slope.mean()
'''),
        right("a matrix product and a print", '''
def mae_gradients(x, y, w, b):
    signs = (w * x + b - y).sign()
    print("signs of the residuals:", signs)
    n = x.shape[0]
    return signs @ x / n, signs.sum() / n
'''),
    ],
    "two_layer_gradients": [
        wrong("summed instead of averaged", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y)
    dz = d * w2 * (z > 0)
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
''', diagnosis="summed instead of averaged"),
        wrong("forgot the factor 2", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = (w2 * h + b2 - y) / len(x)
    dz = d * w2 * (z > 0)
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
''', diagnosis="factor 2"),
        wrong("w2 left out of the chain", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * (z > 0)
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
''', diagnosis="left w2 out of the chain"),
        wrong("no ReLU gate", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * w2
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
''', diagnosis="ReLU's slope"),
        wrong("gate z >= 0", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * w2 * (z >= 0)
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
''', diagnosis="z >= 0"),
        wrong("z instead of h in dL/dw2", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * w2 * (z > 0)
    return (dz * x).sum(), dz.sum(), (d * z).sum(), d.sum()
''', diagnosis="used z instead of h"),
        wrong("returned the second layer first", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * w2 * (z > 0)
    return (d * h).sum(), d.sum(), (dz * x).sum(), dz.sum()
'''),
        wrong("autograd with backward", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    p = torch.tensor([w1, b1, w2, b2], dtype=x.dtype, requires_grad=True)
    loss = ((p[2] * torch.relu(p[0] * x + p[1]) + p[3] - y) ** 2).mean()
    loss.backward()
    return tuple(p.grad)
''', diagnosis="used autograd"),
        wrong("float32 throughout", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    x, y = x.float(), y.float()
    z = w1 * x + b1
    h = torch.relu(z)
    d = 2 * (w2 * h + b2 - y) / len(x)
    dz = d * w2 * (z > 0)
    return (dz * x).sum(), dz.sum(), (d * h).sum(), d.sum()
'''),
        right("one helper per layer", '''
def relu_backward(upstream, z):
    return upstream * (z > 0).to(upstream.dtype)

def linear_backward(upstream, inp):
    return (upstream * inp).sum(), upstream.sum()

def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.relu(z)
    y_hat = w2 * h + b2
    d_yhat = 2 * (y_hat - y) / x.numel()
    dw2, db2 = linear_backward(d_yhat, h)
    dz = relu_backward(d_yhat * w2, z)
    dw1, db1 = linear_backward(dz, x)
    return dw1, db1, dw2, db2
'''),
        right("a loop over the points in Python floats", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    w1, b1, w2, b2 = float(w1), float(b1), float(w2), float(b2)
    g = [0.0, 0.0, 0.0, 0.0]
    n = len(x)
    for xi, yi in zip(x.tolist(), y.tolist()):
        z = w1 * xi + b1
        h = z if z > 0 else 0.0
        d = 2 * (w2 * h + b2 - yi) / n
        dz = d * w2 if z > 0 else 0.0
        g[0] += dz * xi; g[1] += dz; g[2] += d * h; g[3] += d
    return tuple(torch.tensor(v, dtype=x.dtype, device=x.device) for v in g)
'''),
        right("heaviside and mean", '''
def two_layer_gradients(x, y, w1, b1, w2, b2):
    z = w1 * x + b1
    h = torch.where(z > 0, z, torch.zeros_like(z))
    err = 2 * (w2 * h + b2 - y)
    gate = torch.heaviside(z, torch.zeros_like(z))
    return (err * w2 * gate * x).mean(), (err * w2 * gate).mean(), (err * h).mean(), err.mean()
'''),
    ],
    "float32_step": [
        wrong("the float64 sweet spot", "STEP_FLOAT32 = 1e-6\n"),
        wrong("1e-5", "STEP_FLOAT32 = 1e-5\n"),
        wrong("the usual default 1e-3", "STEP_FLOAT32 = 1e-3\n"),
        wrong("too large", "STEP_FLOAT32 = 0.1\n"),
        wrong("zero", "STEP_FLOAT32 = 0.0\n"),
        wrong("a tensor, not a float", "STEP_FLOAT32 = torch.tensor(5e-3)\n"),
        wrong("a string", 'STEP_FLOAT32 = "5e-3"\n'),
        wrong("float32 machine epsilon itself", "STEP_FLOAT32 = torch.finfo(torch.float32).eps\n"),
        right("5e-3", "STEP_FLOAT32 = 0.005\n"),
        right("the cube root of float32's epsilon", '''
eps = torch.finfo(torch.float32).eps
STEP_FLOAT32 = float(eps) ** (1 / 3)
print(STEP_FLOAT32)
'''),
        right("1e-2", "STEP_FLOAT32 = 1e-2\n"),
    ],
    "gradient_diagnoses": [
        wrong("factor 2 and summed swapped", '''
DIAGNOSES = {"A": "forgot the factor 2", "B": "no bug", "C": "summed instead of averaged",
             "D": "dropped x from dL/dw", "E": "sign flipped", "F": "no bug"}
''', diagnosis="wrong way round"),
        wrong("D read as sign flipped", '''
DIAGNOSES = {"A": "summed instead of averaged", "B": "no bug", "C": "forgot the factor 2",
             "D": "sign flipped", "E": "sign flipped", "F": "no bug"}
''', diagnosis="only in dL/dw"),
        wrong("each label once: F given the leftover label", '''
DIAGNOSES = {"A": "summed instead of averaged", "B": "no bug", "C": "forgot the factor 2",
             "D": "dropped x from dL/dw", "E": "sign flipped", "F": "sign flipped"}
'''),
        wrong("everything 'no bug'", '''
DIAGNOSES = {s: "no bug" for s in "ABCDEF"}
'''),
        wrong("a label outside the set", '''
DIAGNOSES = {"A": "summed instead of averaged", "B": "no bug", "C": "forgot the factor of 2",
             "D": "dropped x from dL/dw", "E": "sign flipped", "F": "no bug"}
'''),
        wrong("student F missing", '''
DIAGNOSES = {"A": "summed instead of averaged", "B": "no bug", "C": "forgot the factor 2",
             "D": "dropped x from dL/dw", "E": "sign flipped"}
'''),
        wrong("lower-case keys", '''
DIAGNOSES = {"a": "summed instead of averaged", "b": "no bug", "c": "forgot the factor 2",
             "d": "dropped x from dL/dw", "e": "sign flipped", "f": "no bug"}
'''),
        right("dict() with keywords", '''
DIAGNOSES = dict(A="summed instead of averaged", B="no bug", C="forgot the factor 2",
                 D="dropped x from dL/dw", E="sign flipped", F="no bug")
'''),
        right("computed from the ratios", '''
def diagnose(rows):
    ratio_w = [hw / fw for _, _, hw, fw, _, _ in rows]
    ratio_b = [hb / fb for _, _, _, _, hb, fb in rows]
    if all(abs(r - 1) < 1e-3 for r in ratio_w + ratio_b):
        return "no bug"
    if all(abs(r - 1) < 1e-3 for r in ratio_b):
        return "dropped x from dL/dw"
    if all(abs(r + 1) < 1e-3 for r in ratio_w + ratio_b):
        return "sign flipped"
    if all(abs(r - 0.5) < 1e-3 for r in ratio_w + ratio_b):
        return "forgot the factor 2"
    return "summed instead of averaged"

DIAGNOSES = {student: diagnose(rows) for student, rows in gradient_checks.items()}
print(DIAGNOSES)
'''),
        right("filled one at a time", '''
DIAGNOSES = {}
DIAGNOSES["F"] = "no bug"
DIAGNOSES["E"] = "sign flipped"
DIAGNOSES["D"] = "dropped x from dL/dw"
DIAGNOSES["C"] = "forgot the factor 2"
DIAGNOSES["B"] = "no bug"
DIAGNOSES["A"] = "summed instead of averaged"
'''),
    ],
    "descend_until_flat": [
        wrong("never zeroes .grad", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    steps = 0
    while True:
        f(x).backward()
        if abs(x.grad.item()) <= tol or steps == max_steps:
            return x.item(), steps
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
'''),
        wrong("strict < instead of at or below", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    steps = 0
    while True:
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) < tol or steps == max_steps:
            return x.item(), steps
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
''', diagnosis="at or below"),
        wrong("tests the slope after stepping", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    for steps in range(1, max_steps + 1):
        x.grad = None
        f(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) <= tol:
            return x.item(), steps + 1
    return x.item(), max_steps
''', diagnosis="one step too many"),
        wrong("float32", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), requires_grad=True)
    steps = 0
    while True:
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) <= tol or steps == max_steps:
            return x.item(), steps
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
'''),
        wrong("ignores max_steps", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    steps = 0
    while steps < 10_000:
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) <= tol:
            break
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
    return x.item(), steps
'''),
        wrong("returns a tensor for x", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    steps = 0
    while True:
        x.grad = None
        f(x).backward()
        if abs(x.grad.item()) <= tol or steps == max_steps:
            return x.detach(), steps
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
'''),
        wrong("signed gradient compared with tol", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    steps = 0
    while True:
        x.grad = None
        f(x).backward()
        if x.grad.item() <= tol or steps == max_steps:
            return x.item(), steps
        with torch.no_grad():
            x -= lr * x.grad
        steps += 1
'''),
        wrong("counts gradient evaluations, not steps", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    evaluations = 0
    while True:
        x.grad = None
        f(x).backward()
        evaluations += 1
        if abs(x.grad.item()) <= tol or evaluations > max_steps:
            return x.item(), evaluations
        with torch.no_grad():
            x -= lr * x.grad
'''),
        right("a for loop with torch.optim.SGD", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor([float(x0)], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    for step in range(max_steps + 1):
        optimizer.zero_grad()
        f(x[0]).backward()
        if abs(x.grad[0].item()) <= tol or step == max_steps:
            return x[0].item(), step
        optimizer.step()
'''),
        right("torch.autograd.grad and a new leaf each step", '''
def slope_at(f, value):
    x = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(x), x)
    return g.item()

def descend_until_flat(f, x0, lr, tol, max_steps):
    x, steps = float(x0), 0
    g = slope_at(f, x)
    while abs(g) > tol and steps < max_steps:
        x = x - lr * g
        steps += 1
        g = slope_at(f, x)
    return x, steps
'''),
        right("zero_ with a print", '''
def descend_until_flat(f, x0, lr, tol, max_steps):
    x = torch.tensor(x0, dtype=torch.float64).requires_grad_()
    steps = 0
    f(x).backward()
    while not abs(x.grad.item()) <= tol and steps < max_steps:
        with torch.no_grad():
            x.sub_(lr * x.grad)
        x.grad.zero_()
        f(x).backward()
        steps += 1
    print(f"stopped after {steps} steps at x = {x.item():.6f}")
    return float(x.item()), int(steps)
'''),
    ],
}
