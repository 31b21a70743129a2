"""Mutation suite for 06_will_i_pass: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

_ES = '''
def train_with_early_stopping(model, loss_fn, optimizer, X_train, y_train, X_val, y_val, num_epochs, patience,
                              min_delta=0.0):
    val_losses = []
    best, best_epoch, best_state, bad, previous = math.inf, 0, None, 0, math.inf
    for epoch in range(1, num_epochs + 1):
        ZERO
        loss = loss_fn(model(X_train).squeeze(1), y_train)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            val_losses.append(loss_fn(model(X_val).squeeze(1), y_val).item())
        if IMPROVED:
            best, best_epoch, bad = val_losses[-1], epoch, 0
            best_state = SAVE
        else:
            bad += 1
            if STOP:
                break
        previous = val_losses[-1]
    RESTORE
    return val_losses, best_epoch
'''


def _es(zero="optimizer.zero_grad()", improved="best - val_losses[-1] > min_delta",
        save="copy.deepcopy(model.state_dict())", stop="bad >= patience",
        restore="model.load_state_dict(best_state)"):
    return (_ES.replace("ZERO", zero).replace("IMPROVED", improved).replace("SAVE", save)
            .replace("STOP", stop).replace("RESTORE", restore))


_PREDICT = '''
feature_mean, feature_std = X_train_pass.mean(dim=0), X_train_pass.std(dim=0)
torch.manual_seed(0)
pass_model = MODEL.to(device)
pass_optimizer = torch.optim.Adam(pass_model.parameters(), lr=0.05)
for epoch in range(EPOCHS):
    pass_optimizer.zero_grad()
    F.binary_cross_entropy_with_logits(pass_model(INPUTS).squeeze(1), y_train_pass).backward()
    pass_optimizer.step()


def predict_pass(X):
    with torch.no_grad():
        logits = pass_model(PREDICT_INPUTS).squeeze(1)
    return LABELS
'''


def _predict(model="nn.Linear(2, 1)", epochs="300", inputs="(X_train_pass - feature_mean) / feature_std",
             predict_inputs="(X - feature_mean) / feature_std", labels="(logits > 0).float()"):
    return (_PREDICT.replace("MODEL", model).replace("EPOCHS", epochs).replace("PREDICT_INPUTS", predict_inputs)
            .replace("INPUTS", inputs).replace("LABELS", labels))


CELLS = {
    "bce_logit_grad": [
        wrong("forgets 1/N", '''
def bce_logit_grad(logits, y):
    return torch.sigmoid(logits) - y
''', diagnosis="1/N"),
        wrong("sign flipped", '''
def bce_logit_grad(logits, y):
    return (y - torch.sigmoid(logits)) / len(logits)
''', diagnosis="sign is flipped"),
        wrong("keeps sigma'(z)", '''
def bce_logit_grad(logits, y):
    p = torch.sigmoid(logits)
    return (p - y) * p * (1 - p) / len(logits)
''', diagnosis="sigma'(z)"),
        wrong("term by term through the logs", '''
def bce_logit_grad(logits, y):
    p = torch.sigmoid(logits)
    return (-y / p + (1 - y) / (1 - p)) * p * (1 - p) / len(logits)
'''),
        wrong("uses autograd", '''
def bce_logit_grad(logits, y):
    logits = logits.clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    loss.backward()
    return logits.grad
'''),
        wrong("float32 result", '''
def bce_logit_grad(logits, y):
    return ((torch.sigmoid(logits) - y) / logits.shape[0]).float()
'''),
        wrong("hand-made sigmoid on a new CPU tensor", '''
def bce_logit_grad(logits, y):
    p = torch.tensor([1 / (1 + math.exp(-v)) for v in logits.tolist()], dtype=logits.dtype)
    return (p - y) / len(logits)
'''),
        wrong("sigmoid in place on the caller's logits", '''
def bce_logit_grad(logits, y):
    return (logits.sigmoid_() - y) / len(logits)
'''),
        wrong("divides by the number of positives", '''
def bce_logit_grad(logits, y):
    return (torch.sigmoid(logits) - y) / y.sum()
'''),
        right("written with exp", '''
def bce_logit_grad(logits, y):
    n = logits.numel()
    probability = torch.where(logits >= 0, 1 / (1 + torch.exp(-logits)), torch.exp(logits) / (1 + torch.exp(logits)))
    return (probability - y) / n
'''),
        right("1 - sigmoid(-z), mean-style", '''
def bce_logit_grad(logits, y):
    residual = (1 - torch.sigmoid(-logits)) - y
    return residual / residual.shape[0]
'''),
        right("torch.special.expit with a print", '''
def bce_logit_grad(logits, y):
    gradient = torch.special.expit(logits).sub(y).div(len(y))
    print("largest |dL/dz|:", gradient.abs().max())
    return gradient
'''),
    ],
    "diagnose_classifier_runs": [
        wrong("A taken for shuffled labels", '''
class_diagnosis = {"A": "labels shuffled", "B": "learning rate too high", "C": "double softmax", "D": "healthy"}
''', diagnosis="0.744"),
        wrong("C taken for a double softmax", '''
class_diagnosis = {"A": "double softmax", "B": "learning rate too high", "C": "double softmax", "D": "healthy"}
''', diagnosis="log 4"),
        wrong("B blamed on zero_grad", '''
class_diagnosis = {"A": "double softmax", "B": "gradients never zeroed", "C": "labels shuffled", "D": "healthy"}
'''),
        wrong("A called healthy", '''
class_diagnosis = {"A": "healthy", "B": "learning rate too high", "C": "labels shuffled", "D": "double softmax"}
'''),
        wrong("misspelled", '''
class_diagnosis = {"A": "double-softmax", "B": "learning rate too high", "C": "labels shuffled", "D": "healthy"}
'''),
        wrong("C and D swapped", '''
class_diagnosis = {"A": "double softmax", "B": "learning rate too high", "C": "healthy", "D": "labels shuffled"}
'''),
        wrong("only three runs", '''
class_diagnosis = {"A": "double softmax", "B": "learning rate too high", "C": "labels shuffled"}
'''),
        right("from the floors, computed", '''
K = 4
double_softmax_floor = math.log(1 + (K - 1) / math.e)
chance = math.log(K)
class_diagnosis = {}
for run, losses in class_logs.items():
    if max(losses) > 10:
        class_diagnosis[run] = "learning rate too high"
    elif abs(losses[-1] - chance) < 0.1:
        class_diagnosis[run] = "labels shuffled"
    elif losses[-1] > double_softmax_floor:
        class_diagnosis[run] = "double softmax"
    else:
        class_diagnosis[run] = "healthy"
print(class_diagnosis)
'''),
        right("unpacked from the options", '''
double, shuffled, high, never_zeroed, healthy = CLASS_DIAGNOSES
class_diagnosis = {"D": healthy, "C": shuffled, "B": high, "A": double}
'''),
        right("dict()", '''
class_diagnosis = dict(A="double softmax", B="learning rate too high", C="labels shuffled", D="healthy")
'''),
    ],
    "train_with_early_stopping": [
        wrong("keeps the last weights (never restores)", _es(restore="pass"), diagnosis="kept the weights of the last epoch"),
        wrong("saves state_dict without copying", _es(save="model.state_dict()"), diagnosis="kept the weights of the last epoch"),
        wrong("compares with the previous epoch", _es(improved="previous - val_losses[-1] > min_delta"),
              diagnosis="previous epoch"),
        wrong("stops one epoch late", _es(stop="bad > patience")),
        wrong(">= instead of >", _es(improved="best - val_losses[-1] >= min_delta")),
        wrong("no zero_grad", _es(zero="pass")),
        wrong("0-based best epoch", _es().replace("return val_losses, best_epoch", "return val_losses, best_epoch - 1"),
              diagnosis="0-based"),
        wrong("validation before the step", '''
def train_with_early_stopping(model, loss_fn, optimizer, X_train, y_train, X_val, y_val, num_epochs, patience,
                              min_delta=0.0):
    val_losses = []
    best, best_epoch, best_state, bad = math.inf, 0, None, 0
    for epoch in range(1, num_epochs + 1):
        with torch.no_grad():
            val_losses.append(loss_fn(model(X_val).squeeze(1), y_val).item())
        optimizer.zero_grad()
        loss_fn(model(X_train).squeeze(1), y_train).backward()
        optimizer.step()
        if best - val_losses[-1] > min_delta:
            best, best_epoch, bad = val_losses[-1], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    return val_losses, best_epoch
''', diagnosis="before the step"),
        wrong("ignores min_delta", _es(improved="val_losses[-1] < best")),
        right("epochs since the best, state cloned by hand", '''
def train_with_early_stopping(model, loss_fn, optimizer, X_train, y_train, X_val, y_val, num_epochs, patience,
                              min_delta=0.0):
    history = []
    best_loss, best_epoch, saved = float("inf"), 0, None
    for epoch in range(1, num_epochs + 1):
        optimizer.zero_grad()
        loss_fn(model(X_train).squeeze(1), y_train).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            history.append(float(loss_fn(model(X_val).squeeze(1), y_val).item()))
        model.train()
        if history[-1] < best_loss - min_delta:
            best_loss, best_epoch = history[-1], epoch
            saved = [p.detach().clone() for p in model.parameters()]
        elif epoch - best_epoch >= patience:
            break
    with torch.no_grad():
        for p, kept in zip(model.parameters(), saved):
            p.copy_(kept)
    return history, best_epoch
'''),
        right("while loop with a dict of clones and prints", '''
def train_with_early_stopping(model, loss_fn, optimizer, X_train, y_train, X_val, y_val, num_epochs, patience,
                              min_delta=0.0):
    val_losses, epoch, waited = [], 0, 0
    best = {"loss": math.inf, "epoch": 0, "state": None}
    while epoch < num_epochs and waited < patience:
        epoch += 1
        optimizer.zero_grad()
        training_loss = loss_fn(model(X_train).squeeze(1), y_train)
        training_loss.backward()
        optimizer.step()
        with torch.no_grad():
            val_loss = loss_fn(model(X_val).squeeze(1), y_val).item()
        val_losses.append(val_loss)
        if best["loss"] - val_loss > min_delta:
            best = {"loss": val_loss, "epoch": epoch,
                    "state": {k: v.clone() for k, v in model.state_dict().items()}}
            waited = 0
        else:
            waited += 1
        print(f"epoch {epoch}: validation {val_loss:.4f}, best epoch {best['epoch']}")
    model.load_state_dict(best["state"])
    return val_losses, best["epoch"]
'''),
        right("inference_mode and a copy of the whole model", '''
def train_with_early_stopping(model, loss_fn, optimizer, X_train, y_train, X_val, y_val, num_epochs, patience,
                              min_delta=0.0):
    val_losses, best_loss, best_epoch, best_model, bad = [], math.inf, 0, None, 0
    for epoch in range(num_epochs):
        optimizer.zero_grad()
        loss_fn(model(X_train).squeeze(1), y_train).backward()
        optimizer.step()
        with torch.inference_mode():
            val_losses.append(loss_fn(model(X_val).squeeze(1), y_val).item())
        if best_loss - val_losses[-1] > min_delta:
            best_loss, best_epoch, bad = val_losses[-1], epoch + 1, 0
            best_model = copy.deepcopy(model)
        else:
            bad += 1
            if bad == patience:
                break
    model.load_state_dict(best_model.state_dict())
    return val_losses, best_epoch
'''),
    ],
    "choose_threshold": [
        wrong("strictly above", '''
def choose_threshold(probabilities, y, candidates):
    best_t, best_f1 = None, -1.0
    for t in sorted(candidates):
        f1 = f1_score(y.cpu().numpy(), (probabilities > t).float().cpu().numpy(), zero_division=0)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t
''', diagnosis="strictly above"),
        wrong("largest on ties", '''
def choose_threshold(probabilities, y, candidates):
    best_t, best_f1 = None, -1.0
    for t in sorted(candidates):
        f1 = f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), zero_division=0)
        if f1 >= best_f1:
            best_t, best_f1 = float(t), f1
    return best_t
''', diagnosis="largest of the tied"),
        wrong("accuracy instead of F1", '''
def choose_threshold(probabilities, y, candidates):
    best_t, best_acc = None, -1.0
    for t in sorted(candidates):
        acc = ((probabilities >= t).float() == y).float().mean().item()
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    return best_t
''', diagnosis="accuracy"),
        wrong("first best in the given order", '''
def choose_threshold(probabilities, y, candidates):
    scores = [f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), zero_division=0)
              for t in candidates]
    return float(candidates[scores.index(max(scores))])
'''),
        wrong("sorts the caller's list", '''
def choose_threshold(probabilities, y, candidates):
    candidates.sort()
    best_t, best_f1 = None, -1.0
    for t in candidates:
        f1 = f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), zero_division=0)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t
''', diagnosis="changed the caller's list"),
        wrong("returns the F1, not the threshold", '''
def choose_threshold(probabilities, y, candidates):
    return max(float(f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), zero_division=0))
               for t in candidates)
'''),
        wrong("F1 of the fail class", '''
def choose_threshold(probabilities, y, candidates):
    best_t, best_f1 = None, -1.0
    for t in sorted(candidates):
        f1 = f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), pos_label=0, zero_division=0)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t
'''),
        wrong("returns a tensor", '''
def choose_threshold(probabilities, y, candidates):
    best_t, best_f1 = None, -1.0
    for t in sorted(candidates):
        f1 = f1_score(y.cpu().numpy(), (probabilities >= t).float().cpu().numpy(), zero_division=0)
        if f1 > best_f1:
            best_t, best_f1 = torch.tensor(t), f1
    return best_t
'''),
        right("max over (F1, -threshold) pairs", '''
def choose_threshold(probabilities, y, candidates):
    labels = y.detach().cpu().numpy()
    def score(t):
        return f1_score(labels, (probabilities >= t).cpu().numpy().astype(float), zero_division=0)
    return float(max(candidates, key=lambda t: (score(t), -t)))
'''),
        right("F1 by hand from counts", '''
def choose_threshold(probabilities, y, candidates):
    best = None
    for t in candidates:
        predicted = probabilities >= t
        tp = (predicted & (y == 1)).sum().item()
        fp = (predicted & (y == 0)).sum().item()
        fn = (~predicted & (y == 1)).sum().item()
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if best is None or f1 > best[0] + 1e-12 or (abs(f1 - best[0]) <= 1e-12 and t < best[1]):
            best = (f1, float(t))
    return best[1]
'''),
        right("numpy arrays and a print", '''
import numpy as np

def choose_threshold(probabilities, y, candidates):
    p, labels = probabilities.cpu().numpy(), y.cpu().numpy()
    scores = np.array([f1_score(labels, (p >= t).astype(np.float32), zero_division=0) for t in candidates])
    tied = [t for t, s in zip(candidates, scores) if s == scores.max()]
    print("F1 per candidate:", dict(zip(candidates, scores.round(3))))
    return float(min(tied))
'''),
    ],
    "predict_pass": [
        wrong("predicts pass for everybody", '''
def predict_pass(X):
    return torch.ones(X.shape[0], device=X.device)
'''),
        wrong("labels flipped", _predict(labels="(logits < 0).float()")),
        wrong("lectures only", _predict(model="nn.Linear(1, 1)", inputs="((X_train_pass - feature_mean) / feature_std)[:, :1]",
                                        predict_inputs="((X - feature_mean) / feature_std)[:, :1]")),
        wrong("project hours only", _predict(model="nn.Linear(1, 1)", inputs="((X_train_pass - feature_mean) / feature_std)[:, 1:]",
                                             predict_inputs="((X - feature_mean) / feature_std)[:, 1:]")),
        wrong("never trained", _predict(epochs="0")),
        wrong("stopped far too early", _predict(epochs="8")),
        wrong("standardised new students with their own statistics", _predict(
            predict_inputs="(X - X.mean(dim=0)) / X.std(dim=0)")),
        wrong("probabilities instead of labels", _predict(labels="torch.sigmoid(logits)")),
        right("logistic regression, 300 epochs of Adam", _predict()),
        right("an MLP with SGD and momentum", '''
feature_mean, feature_std = X_train_pass.mean(dim=0), X_train_pass.std(dim=0)
torch.manual_seed(1)
net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)).to(device)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(300):
    optimizer.zero_grad()
    nn.BCEWithLogitsLoss()(net((X_train_pass - feature_mean) / feature_std).squeeze(1), y_train_pass).backward()
    optimizer.step()


def predict_pass(X):
    with torch.no_grad():
        probabilities = torch.sigmoid(net((X - feature_mean) / feature_std).squeeze(1))
    return (probabilities >= 0.5).float()
'''),
        right("features scaled by their maxima, threshold chosen on validation", '''
scale = torch.tensor([26.0, 40.0], device=device)
torch.manual_seed(0)
model = nn.Linear(2, 1).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
for _ in range(500):
    optimizer.zero_grad()
    F.binary_cross_entropy_with_logits(model(X_train_pass / scale).squeeze(1), y_train_pass).backward()
    optimizer.step()
with torch.no_grad():
    val_probabilities = torch.sigmoid(model(X_val_pass / scale).squeeze(1))
threshold = choose_threshold(val_probabilities, y_val_pass, [0.3, 0.4, 0.5, 0.6, 0.7])
print("threshold chosen on validation:", threshold)


def predict_pass(X):
    with torch.no_grad():
        return (torch.sigmoid(model(X / scale).squeeze(1)) >= threshold).to(torch.float32)
'''),
    ],
}
