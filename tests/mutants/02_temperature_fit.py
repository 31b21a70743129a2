"""Mutation suite for 02_temperature_fit: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

_FIT_HEAD = '''
def fit_standardised(x_train, y_train, x_val, y_val, lr=0.1, num_epochs=500):
    mean, std = x_train.mean(), x_train.std()
    z_train = (x_train - mean) / std
    params = torch.zeros(2, dtype=x_train.dtype, device=x_train.device, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=lr)
'''

CELLS = {
    "least_squares_line": [
        wrong("returned [b, w]", '''
def least_squares_line(x, y):
    xc = x - x.mean()
    w = (xc * (y - y.mean())).sum() / (xc ** 2).sum()
    return torch.stack([y.mean() - w * x.mean(), w])
''', diagnosis="returned [b, w]"),
        wrong("sign of b", '''
def least_squares_line(x, y):
    xc = x - x.mean()
    w = (xc * (y - y.mean())).sum() / (xc ** 2).sum()
    return torch.stack([w, y.mean() + w * x.mean()])
''', diagnosis="the sign of b"),
        wrong("regressed x on y", '''
def least_squares_line(x, y):
    yc = y - y.mean()
    w = ((x - x.mean()) * yc).sum() / (yc ** 2).sum()
    w = 1 / w
    return torch.stack([w, y.mean() - w * x.mean()])
''', diagnosis="regressed x on y"),
        wrong("N - 1 in the covariance, N in the variance", '''
def least_squares_line(x, y):
    n = len(x)
    xc = x - x.mean()
    w = ((xc * (y - y.mean())).sum() / (n - 1)) / (xc ** 2).mean()
    return torch.stack([w, y.mean() - w * x.mean()])
''', diagnosis="N - 1"),
        wrong("a line through the origin", '''
def least_squares_line(x, y):
    w = (x * y).sum() / (x * x).sum()
    return torch.stack([w, torch.zeros_like(w)])
'''),
        wrong("torch.linalg.lstsq", '''
def least_squares_line(x, y):
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    return torch.linalg.lstsq(A, y[:, None]).solution.reshape(-1)
'''),
        wrong("float32 result", '''
def least_squares_line(x, y):
    x, y = x.float(), y.float()
    xc = x - x.mean()
    w = (xc * (y - y.mean())).sum() / (xc ** 2).sum()
    return torch.stack([w, y.mean() - w * x.mean()])
'''),
        wrong("centres x in place", '''
def least_squares_line(x, y):
    mx = x.mean()
    x -= mx
    w = (x * (y - y.mean())).sum() / (x ** 2).sum()
    return torch.stack([w, y.mean() - w * mx])
'''),
        wrong("a few hundred steps of gradient descent instead", '''
def least_squares_line(x, y):
    w = torch.zeros((), dtype=x.dtype)
    b = torch.zeros((), dtype=x.dtype)
    for _ in range(300):
        r = w * x + b - y
        w, b = w - 1e-4 * (2 * r * x).mean(), b - 1e-4 * (2 * r).mean()
    return torch.stack([w, b])
'''),
        right("Cramer's rule on the normal equations", '''
def least_squares_line(x, y):
    n = x.shape[0]
    sx, sy, sxx, sxy = x.sum(), y.sum(), (x * x).sum(), (x * y).sum()
    # centring first keeps the subtraction well conditioned for inputs far from 0
    m = x.mean()
    xc = x - m
    sx_c, sxx_c, sxy_c = xc.sum(), (xc * xc).sum(), (xc * y).sum()
    det = n * sxx_c - sx_c ** 2
    w = (n * sxy_c - sx_c * sy) / det
    b = (sy - w * sx) / n
    return torch.stack([w, b])
'''),
        right("covariance over variance, both with N - 1", '''
def least_squares_line(x, y):
    cov = ((x - x.mean()) * (y - y.mean())).sum() / (len(x) - 1)
    var = x.var(unbiased=True)
    w = cov / var
    b = y.mean() - w * x.mean()
    print(f"w = {w.item():.4f}, b = {b.item():.4f}")
    return torch.stack((w, b))
'''),
        right("a loop in Python floats", '''
def least_squares_line(x, y):
    xs, ys = x.tolist(), y.tolist()
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    top = sum((a - mx) * (c - my) for a, c in zip(xs, ys))
    bottom = sum((a - mx) ** 2 for a in xs)
    w = top / bottom
    return torch.tensor([w, my - w * mx], dtype=x.dtype, device=x.device)
'''),
    ],
    "lr_rescaled": [
        wrong("the lecture's rate", "LR_RESCALED = 1e-2\n"),
        wrong("just too small", "LR_RESCALED = 0.02\n"),
        wrong("exactly the stability bound", '''
x64 = t_un.double().cpu()
A = torch.stack([x64, torch.ones_like(x64)], 1)
LR_RESCALED = 2 / torch.linalg.eigvalsh(2 / len(x64) * A.T @ A)[-1].item()
'''),
        wrong("above the bound", "LR_RESCALED = 0.035\n"),
        wrong("the bound of the raw readings", "LR_RESCALED = 2.9e-4\n"),
        wrong("a tensor", "LR_RESCALED = torch.tensor(0.03)\n"),
        wrong("an int", "LR_RESCALED = 1\n"),
        right("0.03", "LR_RESCALED = 0.03\n"),
        right("nine tenths of the bound, computed", '''
x64 = t_un.double().cpu()
A = torch.stack([x64, torch.ones_like(x64)], 1)
largest_curvature = torch.linalg.eigvalsh(2 / len(x64) * A.T @ A)[-1].item()
LR_RESCALED = 0.9 * 2 / largest_curvature
print(LR_RESCALED)
'''),
        right("0.025", "LR_RESCALED = 0.025\n"),
    ],
    "fit_standardised": [
        wrong("left as given", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - x_val.mean()) / x_val.std()
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] * std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        wrong("only zero_grad fixed", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - x_val.mean()) / x_val.std()
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] * std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
''', diagnosis="multiplying by std"),
        wrong("validation still standardised with its own statistics", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - x_val.mean()) / x_val.std()
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] / std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        wrong("zero_grad still missing", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - mean) / std
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] / std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        wrong("b converted with the wrong sign", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - mean) / std
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] / std
        b = params[1] + params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        wrong("returns the standardised-unit parameters", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - mean) / std
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
    return params.detach().clone(), val_loss
'''),
        wrong("val_loss left a tensor", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - mean) / std
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean()
        w = params[0] / std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        wrong("standardised with statistics of all readings, train and validation", '''
def fit_standardised(x_train, y_train, x_val, y_val, lr=0.1, num_epochs=500):
    everything = torch.cat([x_train, x_val])
    mean, std = everything.mean(), everything.std()
    z_train = (x_train - mean) / std
    params = torch.zeros(2, dtype=x_train.dtype, device=x_train.device, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=lr)
    for epoch in range(20):
        optimizer.zero_grad()
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    z_val = (x_val - mean) / std
    with torch.no_grad():
        val_loss = ((params[0] * z_val + params[1] - y_val) ** 2).mean().item()
        w = params[0] / std
        b = params[1] - params[0] * mean / std
    return torch.stack([w, b]), val_loss
'''),
        right("fixed, zero_grad after the step", _FIT_HEAD + '''
    for epoch in range(num_epochs):
        loss = ((params[0] * z_train + params[1] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    with torch.no_grad():
        w = params[0] / std
        b = params[1] - params[0] * mean / std
        val_loss = ((w * x_val + b - y_val) ** 2).mean().item()
    return torch.stack([w, b]), val_loss
'''),
        right("population std and a helper", '''
def standardise(x, mean, std):
    return (x - mean) / std

def fit_standardised(x_train, y_train, x_val, y_val, lr=0.1, num_epochs=500):
    mean, std = x_train.mean(), x_train.std(unbiased=False)
    z_train = standardise(x_train, mean, std)
    params = torch.zeros(2, dtype=x_train.dtype, device=x_train.device, requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=lr)
    for epoch in range(num_epochs):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(params[0] * z_train + params[1], y_train)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val_loss = torch.nn.functional.mse_loss(params[0] * standardise(x_val, mean, std) + params[1], y_val).item()
        raw = torch.stack([params[0] / std, params[1] - params[0] * mean / std])
    return raw, float(val_loss)
'''),
        right("nn.Linear on a column, with a print", '''
def fit_standardised(x_train, y_train, x_val, y_val, lr=0.1, num_epochs=500):
    mean, std = x_train.mean(), x_train.std()
    line = torch.nn.Linear(1, 1).to(dtype=x_train.dtype, device=x_train.device)
    torch.nn.init.zeros_(line.weight)
    torch.nn.init.zeros_(line.bias)
    optimizer = torch.optim.Adam(line.parameters(), lr=lr)
    z_train = ((x_train - mean) / std)[:, None]
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss = ((line(z_train)[:, 0] - y_train) ** 2).mean()
        loss.backward()
        optimizer.step()
    print("final training loss", loss.item())
    with torch.no_grad():
        val_loss = ((line(((x_val - mean) / std)[:, None])[:, 0] - y_val) ** 2).mean().item()
        v, c = line.weight[0, 0], line.bias[0]
        return torch.stack([v / std, c - v * mean / std]), val_loss
'''),
    ],
    "run_diagnoses": [
        wrong("Q called too high for its first zig-zags", '''
RUN_DIAGNOSES = {"P": "learning rate too high", "Q": "learning rate too high", "R": "inputs not normalised",
                 "S": "gradient never zeroed", "T": "learning rate too low", "U": "learning rate too high"}
''', diagnosis="nothing is wrong"),
        wrong("R called too low", '''
RUN_DIAGNOSES = {"P": "learning rate too high", "Q": "no problem", "R": "learning rate too low",
                 "S": "gradient never zeroed", "T": "learning rate too low", "U": "learning rate too high"}
''', diagnosis="scale of the input"),
        wrong("S called too high", '''
RUN_DIAGNOSES = {"P": "learning rate too high", "Q": "no problem", "R": "inputs not normalised",
                 "S": "learning rate too high", "T": "learning rate too low", "U": "learning rate too high"}
''', diagnosis="accumulated gradients"),
        wrong("P blamed on the raw inputs", '''
RUN_DIAGNOSES = {"P": "inputs not normalised", "Q": "no problem", "R": "inputs not normalised",
                 "S": "gradient never zeroed", "T": "learning rate too low", "U": "learning rate too high"}
'''),
        wrong("each label once", '''
RUN_DIAGNOSES = {"P": "learning rate too high", "Q": "no problem", "R": "inputs not normalised",
                 "S": "gradient never zeroed", "T": "learning rate too low", "U": "no problem"}
'''),
        wrong("a list instead of a dict", '''
RUN_DIAGNOSES = ["learning rate too high", "no problem", "inputs not normalised", "gradient never zeroed",
                 "learning rate too low", "learning rate too high"]
'''),
        wrong("labels in capitals", '''
RUN_DIAGNOSES = {"P": "Learning rate too high", "Q": "No problem", "R": "Inputs not normalised",
                 "S": "Gradient never zeroed", "T": "Learning rate too low", "U": "Learning rate too high"}
'''),
        right("dict() with keywords", '''
RUN_DIAGNOSES = dict(P="learning rate too high", Q="no problem", R="inputs not normalised",
                     S="gradient never zeroed", T="learning rate too low", U="learning rate too high")
'''),
        right("built from the logs", '''
def read_log(log):
    first, last = log[0], log[-1]
    if not math.isfinite(last[1]) or last[1] > first[1]:
        return "learning rate too high"
    if last[1] < 3.0:
        return "no problem"
    losses = [row[1] for row in log]
    if any(b > a for a, b in zip(losses, losses[1:])):
        return "gradient never zeroed"
    if abs(last[3]) > 10 * abs(last[2]):
        return "inputs not normalised"
    return "learning rate too low"

RUN_DIAGNOSES = {run: read_log(log) for run, log in training_logs.items()}
print(RUN_DIAGNOSES)
'''),
        right("filled one by one", '''
RUN_DIAGNOSES = {}
for run, label in [("U", "learning rate too high"), ("T", "learning rate too low"), ("S", "gradient never zeroed"),
                   ("R", "inputs not normalised"), ("Q", "no problem"), ("P", "learning rate too high")]:
    RUN_DIAGNOSES[run] = label
'''),
    ],
    "equivalent_rates": [
        wrong("scaled by s", '''
def equivalent_rates(lr, scale):
    return lr * scale, lr
''', diagnosis="not s²"),
        wrong("divided by s²", '''
def equivalent_rates(lr, scale):
    return lr / scale ** 2, lr
''', diagnosis="divided by s²"),
        wrong("swapped", '''
def equivalent_rates(lr, scale):
    return lr, lr * scale ** 2
''', diagnosis="to b instead of w"),
        wrong("both scaled", '''
def equivalent_rates(lr, scale):
    return lr * scale ** 2, lr * scale ** 2
'''),
        wrong("divided by s", '''
def equivalent_rates(lr, scale):
    return lr / scale, lr
'''),
        wrong("one rate, unchanged", '''
def equivalent_rates(lr, scale):
    return lr, lr
'''),
        wrong("returns 0-dim tensors", '''
def equivalent_rates(lr, scale):
    return torch.tensor(lr * scale ** 2), torch.tensor(lr)
'''),
        wrong("scale ignored, hard-coded 0.1", '''
def equivalent_rates(lr, scale):
    return lr * 0.01, lr
'''),
        right("scale times scale", '''
def equivalent_rates(lr, scale):
    lr_w = scale * scale * lr
    lr_b = lr
    return float(lr_w), float(lr_b)
'''),
        right("from the chain rule, with a comment and a print", '''
def equivalent_rates(lr, scale):
    # w = s v, and dL/dv = s dL/dw, so w moves by s * lr * s * dL/dw
    rates = (lr * scale ** 2, lr * 1.0)
    print("per-parameter rates:", rates)
    return rates
'''),
        right("power with a list", '''
def equivalent_rates(lr, scale):
    return tuple([lr * pow(scale, 2), lr])
'''),
    ],
}
