"""Mutation suite for 05_mlp_training: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

_GRAD_HEAD = '''
def mlp_gradients(X, Y, W1, b1, W2, b2):
    Z = X @ W1.T + b1
    H = torch.relu(Z)
    Y_hat = H @ W2.T + b2
'''


def _grads(body):
    return _GRAD_HEAD + body


_FIT = '''
def fit(model, train_loader, X_val, y_val, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_losses, val_losses = [], []
    for epoch in range(num_epochs):
        total, count, batch_means = 0.0, 0, []
        for X_batch, y_batch in train_loader:
            loss = F.mse_loss(model(X_batch), y_batch)
            ZERO
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
            batch_means.append(loss.item())
        train_losses.append(RECORD)
        VALIDATE
    return train_losses, val_losses
'''
_VALIDATE = '''with torch.no_grad():
            val_losses.append(F.mse_loss(model(X_val), y_val).item())'''


def _fit(zero="optimizer.zero_grad()", record="total / count", validate=_VALIDATE):
    return _FIT.replace("ZERO", zero).replace("RECORD", record).replace("VALIDATE", validate)


_TRAIN = '''
def train_classifier(X_train, y_train, X_test, num_epochs=30, lr=0.5, seed=0):
    STATS
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X_train.shape[1], 16), nn.ReLU(), nn.Linear(16, 3)).to(X_train.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for epoch in range(num_epochs):
        output = OUTPUT
        loss = F.cross_entropy(output, y_train)
        ZERO
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        test_logits = model(X_test)
    return losses, test_logits
'''
_GOOD_STATS = "mean, std = X_train.mean(dim=0), X_train.std(dim=0)"
_TEST_STATS = "X_all = torch.cat([X_train, X_test]); mean, std = X_all.mean(dim=0), X_all.std(dim=0)"


def _train(stats=_GOOD_STATS, output="model(X_train)", zero="optimizer.zero_grad()"):
    return _TRAIN.replace("STATS", stats).replace("OUTPUT", output).replace("ZERO", zero)


CELLS = {
    "build_mlp": [
        wrong("ReLU after the output layer", '''
def build_mlp(widths):
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)
''', diagnosis="ReLU after the output layer"),
        wrong("no ReLUs", '''
def build_mlp(widths):
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])])
''', diagnosis="left out the ReLUs"),
        wrong("Linear(out, in)", '''
def build_mlp(widths):
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_out, n_in), nn.ReLU()]
    return nn.Sequential(*layers[:-1])
''', diagnosis="nn.Linear(out, in)"),
        wrong("one layer short", '''
def build_mlp(widths):
    layers = []
    for i in range(len(widths) - 2):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers[:-1])
'''),
        wrong("no biases", '''
def build_mlp(widths):
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.ReLU()]
    return nn.Sequential(*layers[:-1])
''', diagnosis="left out the biases"),
        wrong("tanh instead of ReLU", '''
def build_mlp(widths):
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1])
'''),
        wrong("pops the widths list", '''
def build_mlp(widths):
    layers = []
    n_in = widths.pop(0)
    while widths:
        n_out = widths.pop(0)
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        n_in = n_out
    return nn.Sequential(*layers[:-1])
'''),
        wrong("only three layers whatever the widths", '''
def build_mlp(widths):
    return nn.Sequential(nn.Linear(widths[0], widths[1]), nn.ReLU(), nn.Linear(widths[1], widths[-2]), nn.ReLU(),
                         nn.Linear(widths[-2], widths[-1]))
'''),
        right("index loop with an if", '''
def build_mlp(widths):
    net = nn.Sequential()
    for i in range(len(widths) - 1):
        net.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            net.append(nn.ReLU())
    return net
'''),
        right("one shared ReLU module", '''
def build_mlp(widths):
    relu = nn.ReLU()
    layers = [nn.Linear(widths[0], widths[1])]
    for n_in, n_out in zip(widths[1:-1], widths[2:]):
        layers.extend([relu, nn.Linear(n_in, n_out)])
    return nn.Sequential(*layers)
'''),
        right("a list comprehension, then trim", '''
def build_mlp(widths):
    pairs = [[nn.Linear(a, b), nn.ReLU()] for a, b in zip(widths, widths[1:])]
    modules = [m for pair in pairs for m in pair]
    modules.pop()
    print(f"{len(pairs)} linear layers")
    return nn.Sequential(*modules)
'''),
    ],
    "mlp_gradients": [
        wrong("sums instead of averaging", _grads('''
    d = 2 * (Y_hat - Y)
    dZ = (d @ W2) * (Z > 0)
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
'''), diagnosis="summed the squared errors"),
        wrong("forgets the factor 2", _grads('''
    d = (Y_hat - Y) / Y.numel()
    dZ = (d @ W2) * (Z > 0)
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
'''), diagnosis="factor 2"),
        wrong("averages over N only", _grads('''
    d = 2 * (Y_hat - Y) / X.shape[0]
    dZ = (d @ W2) * (Z > 0)
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
'''), diagnosis="over the N examples only"),
        wrong("ReLU slope 1 at zero", _grads('''
    d = 2 * (Y_hat - Y) / Y.numel()
    dZ = (d @ W2) * (Z >= 0)
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
'''), diagnosis="slope to be 1 at z = 0"),
        wrong("no ReLU derivative", _grads('''
    d = 2 * (Y_hat - Y) / Y.numel()
    dZ = d @ W2
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
''')),
        wrong("uses autograd", '''
def mlp_gradients(X, Y, W1, b1, W2, b2):
    params = [t.clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
    loss = ((torch.relu(X @ params[0].T + params[1]) @ params[2].T + params[3] - Y) ** 2).mean()
    return torch.autograd.grad(loss, params)
'''),
        wrong("float32 mask multiplies into float32", _grads('''
    d = (2 * (Y_hat - Y) / Y.numel()).float()
    dZ = (d @ W2.float()) * (Z > 0).float()
    return dZ.T @ X.float(), dZ.sum(0), d.T @ H.float(), d.sum(0)
''')),
        wrong("order dW2, db2, dW1, db1", _grads('''
    d = 2 * (Y_hat - Y) / Y.numel()
    dZ = (d @ W2) * (Z > 0)
    return d.T @ H, d.sum(0), dZ.T @ X, dZ.sum(0)
''')),
        wrong("mask from H computed with a new CPU tensor", _grads('''
    d = 2 * (Y_hat - Y) / Y.numel()
    mask = torch.tensor((Z > 0).tolist(), dtype=Z.dtype)
    dZ = (d @ W2) * mask
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
''')),
        wrong("ReLU in place on the caller's b1", '''
def mlp_gradients(X, Y, W1, b1, W2, b2):
    b1 += 0.0 * b1
    Z = X @ W1.T + b1
    H = torch.relu(Z)
    Y_hat = H @ W2.T + b2
    d = 2 * (Y_hat - Y) / Y.numel()
    dZ = (d @ W2) * (Z > 0)
    W1.mul_(1.0)
    Y.sub_(0.5 * Y)
    return dZ.T @ X, dZ.sum(0), d.T @ H, d.sum(0)
'''),
        right("einsum and where", _grads('''
    n_entries = Y.shape[0] * Y.shape[1]
    d_out = (Y_hat - Y) * (2.0 / n_entries)
    d_hidden = torch.where(Z > 0, d_out @ W2, torch.zeros_like(Z))
    return (torch.einsum("nh,nd->hd", d_hidden, X), d_hidden.sum(dim=0),
            torch.einsum("nk,nh->kh", d_out, H), d_out.sum(dim=0))
''')),
        right("a helper per layer", '''
def linear_backward(d_out, inputs, weight):
    return d_out.T @ inputs, d_out.sum(dim=0), d_out @ weight


def mlp_gradients(X, Y, W1, b1, W2, b2):
    Z = torch.addmm(b1, X, W1.T)
    H = Z.clamp(min=0)
    Y_hat = torch.addmm(b2, H, W2.T)
    d_Y_hat = 2 * (Y_hat - Y) / Y.numel()
    dW2, db2, dH = linear_backward(d_Y_hat, H, W2)
    dZ = dH * torch.heaviside(Z, torch.zeros_like(Z))
    dW1, db1, _ = linear_backward(dZ, X, W1)
    return dW1, db1, dW2, db2
'''),
        right("loops over examples", '''
def mlp_gradients(X, Y, W1, b1, W2, b2):
    dW1, db1 = torch.zeros_like(W1), torch.zeros_like(b1)
    dW2, db2 = torch.zeros_like(W2), torch.zeros_like(b2)
    scale = 2.0 / Y.numel()
    for n in range(X.shape[0]):
        z = W1 @ X[n] + b1
        h = torch.relu(z)
        error = W2 @ h + b2 - Y[n]
        dW2 += scale * torch.outer(error, h)
        db2 += scale * error
        dz = (W2.T @ error) * scale * (z > 0).to(z.dtype)
        dW1 += torch.outer(dz, X[n])
        db1 += dz
    return dW1, db1, dW2, db2
'''),
    ],
    "fit": [
        wrong("no zero_grad", _fit(zero="pass"), diagnosis="forgot zero_grad"),
        wrong("mean of the batch means", _fit(record="sum(batch_means) / len(batch_means)"),
              diagnosis="averaged the batch losses"),
        wrong("last batch's loss", _fit(record="batch_means[-1]"), diagnosis="last minibatch"),
        wrong("steps on the validation data", _fit(validate='''val_loss = F.mse_loss(model(X_val), y_val)
        optimizer.zero_grad()
        val_loss.backward()
        optimizer.step()
        val_losses.append(val_loss.item())'''), diagnosis="validation data"),
        wrong("validation before the epoch", '''
def fit(model, train_loader, X_val, y_val, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_losses, val_losses = [], []
    for epoch in range(num_epochs):
        with torch.no_grad():
            val_losses.append(F.mse_loss(model(X_val), y_val).item())
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            loss = F.mse_loss(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        train_losses.append(total / count)
    return train_losses, val_losses
'''),
        wrong("train loss measured after the epoch on the last batch only", _fit(
            record="F.mse_loss(model(X_batch), y_batch).item()")),
        wrong("divides by the number of batches", _fit(record="total / len(batch_means)")),
        wrong("tensors instead of floats", _fit(record="torch.tensor(total / count)")),
        right("functional style, zero_grad first", '''
def fit(model, train_loader, X_val, y_val, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = ([], [])
    for _ in range(num_epochs):
        sum_of_losses = 0.0
        for X_batch, y_batch in train_loader:
            optimizer.zero_grad()
            loss = ((model(X_batch) - y_batch) ** 2).sum() / len(X_batch)
            loss.backward()
            optimizer.step()
            sum_of_losses += loss.item() * len(X_batch)
        history[0].append(sum_of_losses / len(train_loader.dataset))
        model.eval()
        with torch.no_grad():
            history[1].append(float(((model(X_val) - y_val) ** 2).mean()))
        model.train()
    return history
'''),
        right("sum reduction divided by the count", '''
def fit(model, train_loader, X_val, y_val, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_losses, val_losses = [], []
    for epoch in range(num_epochs):
        squared_error_sum, seen = 0.0, 0
        for X_batch, y_batch in train_loader:
            prediction = model(X_batch)
            loss = nn.MSELoss()(prediction, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            squared_error_sum += nn.MSELoss(reduction="sum")(prediction.detach(), y_batch).item()
            seen += y_batch.numel()
        train_losses.append(squared_error_sum / seen)
        with torch.no_grad():
            val_losses.append(nn.MSELoss()(model(X_val), y_val).item())
        print(f"epoch {epoch + 1}: train {train_losses[-1]:.4f}, validation {val_losses[-1]:.4f}")
    return train_losses, val_losses
'''),
        right("torch.inference_mode and a list of batch sizes", '''
def fit(model, train_loader, X_val, y_val, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_losses, val_losses = [], []
    for epoch in range(num_epochs):
        losses, sizes = [], []
        for X_batch, y_batch in train_loader:
            loss = nn.functional.mse_loss(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            sizes.append(X_batch.shape[0])
        train_losses.append(sum(l * s for l, s in zip(losses, sizes)) / sum(sizes))
        with torch.inference_mode():
            val_losses.append(nn.functional.mse_loss(model(X_val), y_val).item())
    return train_losses, val_losses
'''),
    ],
    "train_classifier": [
        wrong("left the test statistics in", _train(stats=_TEST_STATS), diagnosis="statistics that include the test set"),
        wrong("left the double softmax in", _train(output="torch.softmax(model(X_train), dim=1)"),
              diagnosis="double softmax"),
        wrong("left out zero_grad", _train(zero="pass"), diagnosis="never zeroes the gradients"),
        wrong("fixed the softmax by log_softmax, kept the test statistics", _train(
            stats=_TEST_STATS, output="torch.log_softmax(model(X_train), dim=1)")),
        wrong("standardised each set with its own statistics", _train(
            stats="mean, std = X_train.mean(dim=0), X_train.std(dim=0); test_mean, test_std = X_test.mean(dim=0), X_test.std(dim=0)"
        ).replace("X_train, X_test = (X_train - mean) / std, (X_test - mean) / std",
                  "X_train, X_test = (X_train - mean) / std, (X_test - test_mean) / test_std")),
        wrong("no standardisation at all", _train(stats="mean, std = 0.0, 1.0")),
        wrong("seeded after building the model", _train().replace(
            "    torch.manual_seed(seed)\n    model = nn.Sequential(nn.Linear(X_train.shape[1], 16), nn.ReLU(), nn.Linear(16, 3)).to(X_train.device)\n",
            "    model = nn.Sequential(nn.Linear(X_train.shape[1], 16), nn.ReLU(), nn.Linear(16, 3)).to(X_train.device)\n    torch.manual_seed(seed)\n")),
        wrong("sigmoid before cross_entropy", _train(output="torch.sigmoid(model(X_train))")),
        wrong("one global mean and std", _train(stats="mean, std = X_train.mean(), X_train.std()")),
        right("log_softmax with nll_loss", _train(output="torch.log_softmax(model(X_train), dim=1)").replace(
            "loss = F.cross_entropy(output, y_train)", "loss = F.nll_loss(output, y_train)")),
        right("zero_grad at the top of the loop, nn.CrossEntropyLoss", '''
def train_classifier(X_train, y_train, X_test, num_epochs=30, lr=0.5, seed=0):
    train_mean = torch.mean(X_train, dim=0)
    train_std = torch.std(X_train, dim=0)
    standardise = lambda X: (X - train_mean) / train_std
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X_train.shape[1], 16), nn.ReLU(), nn.Linear(16, 3)).to(X_train.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    inputs = standardise(X_train)
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), y_train)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        test_logits = model(standardise(X_test))
    return losses, test_logits
'''),
        right("zero_grad after the step (gradients cleared for the next epoch)", _train(zero="pass").replace(
            "        optimizer.step()\n", "        optimizer.step()\n        optimizer.zero_grad()\n")),
    ],
    "diagnose_curves": [
        wrong("A called healthy", '''
curve_diagnosis = {"A": "healthy", "B": "learning rate too high", "C": "overfitting", "D": "underfitting"}
''', diagnosis="that gap is overfitting"),
        wrong("B called underfitting", '''
curve_diagnosis = {"A": "overfitting", "B": "underfitting", "C": "healthy", "D": "learning rate too high"}
''', diagnosis="overshoot"),
        wrong("D called unstable", '''
curve_diagnosis = {"A": "overfitting", "B": "underfitting", "C": "healthy", "D": "learning rate too high"}
''', diagnosis="too simple"),
        wrong("A and C swapped", '''
curve_diagnosis = {"A": "healthy", "B": "learning rate too high", "C": "overfitting", "D": "underfitting"}
'''),
        wrong("all overfitting", '''
curve_diagnosis = {"A": "overfitting", "B": "overfitting", "C": "overfitting", "D": "overfitting"}
'''),
        wrong("capitalised strings", '''
curve_diagnosis = {"A": "Overfitting", "B": "Learning rate too high", "C": "Healthy", "D": "Underfitting"}
'''),
        wrong("a list instead of a dict", '''
curve_diagnosis = ["overfitting", "learning rate too high", "healthy", "underfitting"]
'''),
        right("from the list of options", '''
over, under, high, ok = CURVE_DIAGNOSES
curve_diagnosis = {"A": over, "B": high, "C": ok, "D": under}
'''),
        right("worked out from the curves", '''
curve_diagnosis = {}
for run, (train, val) in curves.items():
    if train[-1] < 0.01 and val[-1] > 0.1:
        curve_diagnosis[run] = "overfitting"
    elif max(train[len(train) // 2:]) > train[0]:
        curve_diagnosis[run] = "learning rate too high"
    elif val[-1] < 0.1:
        curve_diagnosis[run] = "healthy"
    else:
        curve_diagnosis[run] = "underfitting"
print(curve_diagnosis)
'''),
        right("dict() with keywords", '''
curve_diagnosis = dict(D="underfitting", C="healthy", B="learning rate too high", A="overfitting")
'''),
    ],
    "choose_init_gain": [
        wrong("LeCun/Xavier gain 1", "my_gain = 1.0\n", diagnosis="a gain of 1 loses half"),
        wrong("square root of 2 (a standard deviation, not a variance factor)", "my_gain = math.sqrt(2)\n"),
        wrong("too large", "my_gain = 4.0\n"),
        wrong("just too small for some seeds", "my_gain = 1.8\n"),
        wrong("just too large", "my_gain = 2.5\n"),
        wrong("a string", 'my_gain = "2"\n'),
        wrong("the fan-in itself", "my_gain = 256\n"),
        right("the integer 2", "my_gain = 2\n"),
        right("a little above 2, from experiments", '''
ratios = {g: [activation_ratio(g, seed) for seed in range(5)] for g in (1.0, 2.0, 2.2)}
print(ratios)
my_gain = 2.2
'''),
        right("derived: the ReLU halves the variance", '''
relu_keeps = 0.5
my_gain = 1 / relu_keeps
'''),
    ],
}
