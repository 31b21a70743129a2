"""Mutation suite for 04_sgd_batching: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

CELLS = {
    "num_steps": [
        wrong("rounds down", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    return (n // batch_size) * num_epochs
''', diagnosis="rounded down"),
        wrong("ignores drop_last", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    return math.ceil(n / batch_size) * num_epochs
''', diagnosis="ignored drop_last"),
        wrong("one epoch only", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    return n // batch_size if drop_last else math.ceil(n / batch_size)
''', diagnosis="one epoch only"),
        wrong("always adds one batch", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    per_epoch = n // batch_size if drop_last else n // batch_size + 1
    return per_epoch * num_epochs
'''),
        wrong("returns a float", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    per_epoch = n // batch_size if drop_last else math.ceil(n / batch_size)
    return float(per_epoch * num_epochs)
''', diagnosis="returned a float"),
        wrong("drop_last keeps at least one batch", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    per_epoch = max(1, n // batch_size) if drop_last else math.ceil(n / batch_size)
    return per_epoch * num_epochs
'''),
        wrong("counts examples", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    return n * num_epochs
''', diagnosis="counted examples"),
        wrong("drop_last always drops a batch", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    per_epoch = math.ceil(n / batch_size) - (1 if drop_last else 0)
    return per_epoch * num_epochs
'''),
        right("ceil division with negative floor", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    per_epoch = n // batch_size if drop_last else -(-n // batch_size)
    return num_epochs * per_epoch
'''),
        right("a loop over the epochs", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    steps = 0
    for _ in range(num_epochs):
        start = 0
        while start < n:
            if drop_last and start + batch_size > n:
                break
            steps += 1
            start += batch_size
    return steps
'''),
        right("int of math.ceil with a print", '''
def num_steps(n, batch_size, num_epochs, drop_last=False):
    if drop_last:
        per_epoch = math.floor(n / batch_size)
    else:
        per_epoch = math.ceil(n / batch_size)
    print("steps per epoch:", per_epoch)
    return int(per_epoch) * int(num_epochs)
'''),
    ],
    "epoch_loss": [
        wrong("plain mean of the batch means", '''
def epoch_loss(batch_losses, batch_sizes):
    return sum(batch_losses) / len(batch_losses)
''', diagnosis="averaged the batch losses"),
        wrong("sum without dividing", '''
def epoch_loss(batch_losses, batch_sizes):
    return float(sum(batch_losses))
''', diagnosis="without dividing"),
        wrong("weighted, divided by the number of batches", '''
def epoch_loss(batch_losses, batch_sizes):
    return sum(l * b for l, b in zip(batch_losses, batch_sizes)) / len(batch_sizes)
''', diagnosis="divided by the number of batches"),
        wrong("returns a tensor", '''
def epoch_loss(batch_losses, batch_sizes):
    losses = torch.tensor(batch_losses, dtype=torch.float64)
    sizes = torch.tensor(batch_sizes, dtype=torch.float64)
    return (losses * sizes).sum() / sizes.sum()
''', diagnosis="returned a tensor"),
        wrong("weights by batch size squared", '''
def epoch_loss(batch_losses, batch_sizes):
    total = sum(l * b * b for l, b in zip(batch_losses, batch_sizes))
    return float(total / sum(b * b for b in batch_sizes))
'''),
        wrong("pops from the caller's lists", '''
def epoch_loss(batch_losses, batch_sizes):
    total, count = 0.0, 0
    while batch_losses:
        loss, size = batch_losses.pop(), batch_sizes.pop()
        total += loss * size
        count += size
    return float(total / count)
''', diagnosis="changed the caller's lists"),
        wrong("assumes the first batch size for all", '''
def epoch_loss(batch_losses, batch_sizes):
    return float(sum(batch_losses) * batch_sizes[0] / sum(batch_sizes))
'''),
        right("numpy average with weights", '''
import numpy as np

def epoch_loss(batch_losses, batch_sizes):
    return float(np.average([float(l) for l in batch_losses], weights=batch_sizes))
'''),
        right("a loop accumulating the total", '''
def epoch_loss(batch_losses, batch_sizes):
    total_loss = 0.0
    total_examples = 0
    for i in range(len(batch_losses)):
        total_loss += float(batch_losses[i]) * batch_sizes[i]
        total_examples += batch_sizes[i]
    return total_loss / total_examples
'''),
        right("float64 tensors, converted at the end", '''
def epoch_loss(batch_losses, batch_sizes):
    losses = torch.tensor([float(l) for l in batch_losses], dtype=torch.float64)
    sizes = torch.tensor(batch_sizes, dtype=torch.float64)
    return (losses @ sizes / sizes.sum()).item()
'''),
    ],
    "train_sgd": [
        wrong("no zero_grad", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
''', diagnosis="forgot zero_grad"),
        wrong("one loss per epoch", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return losses
''', diagnosis="one loss per epoch"),
        wrong("tensor losses", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
    return losses
'''),
        wrong("records the loss after the step", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                losses.append(nn.MSELoss()(model(X_batch), y_batch).item())
    return losses
'''),
        wrong("converts to float32", '''
def train_sgd(model, loader, lr, num_epochs):
    model.float()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch.float()), y_batch.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
'''),
        wrong("sum reduction", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss(reduction="sum")(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
'''),
        wrong("skips the ragged last batch", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            if len(X_batch) < loader.batch_size:
                continue
            loss = nn.MSELoss()(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
'''),
        wrong("zero_grad after backward", '''
def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        for X_batch, y_batch in loader:
            loss = nn.MSELoss()(model(X_batch), y_batch)
            loss.backward()
            optimizer.zero_grad()
            optimizer.step()
            losses.append(loss.item())
    return losses
'''),
        right("manual update without torch.optim", '''
def train_sgd(model, loader, lr, num_epochs):
    losses = []
    for epoch in range(num_epochs):
        for X_batch, y_batch in loader:
            for p in model.parameters():
                p.grad = None
            loss = ((model(X_batch) - y_batch) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
            losses.append(loss.item())
    return losses
'''),
        right("zero_grad first, functional loss, helper", '''
def one_step(model, optimizer, X_batch, y_batch):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(X_batch), y_batch)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train_sgd(model, loader, lr, num_epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return [one_step(model, optimizer, xb, yb) for _ in range(num_epochs) for xb, yb in loader]
'''),
        right("a new optimizer each epoch, with prints", '''
def train_sgd(model, loader, lr, num_epochs):
    history = []
    for epoch in range(num_epochs):
        optimizer = torch.optim.SGD(model.parameters(), lr)
        for X_batch, y_batch in loader:
            prediction = model(X_batch)
            loss = nn.MSELoss()(prediction, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        print(f"epoch {epoch}: last loss {history[-1]:.4f}" if history else "no batches")
    return history
'''),
    ],
    "early_stopping": [
        wrong("compares with the previous epoch", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    previous, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if previous - loss > min_delta:
            best_epoch, bad = epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
        previous = loss
    return len(val_losses), best_epoch
''', diagnosis="previous epoch"),
        wrong(">= instead of >", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss >= min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch
'''),
        wrong("stops one epoch late", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss > min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad > patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch
''', diagnosis="one epoch late"),
        wrong("0-based epochs", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if best - loss > min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch
''', diagnosis="0-based"),
        wrong("never resets the count", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss > min_delta:
            best, best_epoch = loss, epoch
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch
'''),
        wrong("moves the best on any lower loss", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss > min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            best = min(best, loss)
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch
''', diagnosis="moved the best"),
        wrong("ignores min_delta", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch
'''),
        wrong("best epoch is the argmin of all epochs run", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, bad = math.inf, 0
    run = len(val_losses)
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss > min_delta:
            best, bad = loss, 0
        else:
            bad += 1
            if bad >= patience:
                run = epoch
                break
    seen = val_losses[:run]
    return run, seen.index(min(seen)) + 1
'''),
        wrong("sorts the caller's list", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best, best_epoch, bad = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best - loss > min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                val_losses.sort()
                return epoch, best_epoch
    return len(val_losses), best_epoch
'''),
        right("epochs since the best, like the lecture", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    best_loss, best_epoch = float("inf"), 0
    for epoch in range(1, len(val_losses) + 1):
        loss = val_losses[epoch - 1]
        if loss < best_loss - min_delta:
            best_loss, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_losses), best_epoch
'''),
        right("a while loop returning a list", '''
def early_stopping(val_losses, patience=3, min_delta=0.0):
    i, best, best_i, waited = 0, None, None, 0
    while i < len(val_losses):
        loss = val_losses[i]
        if best is None or best - loss > min_delta:
            best, best_i, waited = loss, i, 0
        else:
            waited += 1
        i += 1
        if waited == patience:
            break
    return [i, best_i + 1]
'''),
        right("a small state class", '''
class Stopper:
    def __init__(self, patience, min_delta):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.bad = math.inf, 0, 0

    def should_stop(self, epoch, loss):
        if self.best - loss > self.min_delta:
            self.best, self.best_epoch, self.bad = loss, epoch, 0
            return False
        self.bad += 1
        return self.bad >= self.patience


def early_stopping(val_losses, patience=3, min_delta=0.0):
    stopper = Stopper(patience, min_delta)
    for epoch, loss in enumerate(val_losses, start=1):
        if stopper.should_stop(epoch, loss):
            return epoch, stopper.best_epoch
    return len(val_losses), stopper.best_epoch
'''),
    ],
    "diagnose_runs": [
        wrong("A read as a too-high rate", '''
diagnosis = {"A": "learning rate too high", "B": "healthy", "C": "learning rate too high", "D": "learning rate too small"}
''', diagnosis="too-high learning rate grows every epoch"),
        wrong("C read as accumulated gradients", '''
diagnosis = {"A": "gradients never zeroed", "B": "healthy", "C": "gradients never zeroed", "D": "learning rate too small"}
''', diagnosis="divergence"),
        wrong("A and C swapped", '''
diagnosis = {"A": "learning rate too high", "B": "healthy", "C": "gradients never zeroed", "D": "learning rate too small"}
'''),
        wrong("D blamed on the batch size", '''
diagnosis = {"A": "gradients never zeroed", "B": "healthy", "C": "learning rate too high", "D": "batch size too small"}
'''),
        wrong("B thought noisy", '''
diagnosis = {"A": "gradients never zeroed", "B": "batch size too small", "C": "learning rate too high", "D": "learning rate too small"}
'''),
        wrong("misspelled option", '''
diagnosis = {"A": "gradients never zeroed", "B": "healthy", "C": "learning rate too high", "D": "learning rate too low"}
'''),
        wrong("lower-case keys", '''
diagnosis = {"a": "gradients never zeroed", "b": "healthy", "c": "learning rate too high", "d": "learning rate too small"}
'''),
        right("built from the list of options", '''
high, small, zeroed, batch, healthy = DIAGNOSES
diagnosis = dict(A=zeroed, B=healthy, C=high, D=small)
'''),
        right("worked out from the logs, with prints", '''
diagnosis = {}
for run, losses in training_logs.items():
    grew_a_hundredfold = losses[-1] > 100 * losses[0]
    if losses[-1] < 1.2:
        diagnosis[run] = "healthy"
    elif grew_a_hundredfold:
        diagnosis[run] = "learning rate too high"
    elif all(b < a for a, b in zip(losses, losses[1:])):
        diagnosis[run] = "learning rate too small"
    else:
        diagnosis[run] = "gradients never zeroed"
    print(run, diagnosis[run])
'''),
        right("assigned one at a time", '''
diagnosis = dict()
diagnosis["D"] = "learning rate too small"
diagnosis["C"] = "learning rate too high"
diagnosis["B"] = "healthy"
diagnosis["A"] = "gradients never zeroed"
'''),
    ],
    "choose_batch_and_lr": [
        wrong("small batches, many epochs over budget", '''
my_batch_size = 4
my_lr = 0.005
my_num_epochs = 10
'''),
        wrong("small batches within budget: too noisy", '''
my_batch_size = 4
my_lr = 0.01
my_num_epochs = 1
'''),
        wrong("learning rate too high", '''
my_batch_size = 100
my_lr = 0.035
my_num_epochs = 30
'''),
        wrong("learning rate too small", '''
my_batch_size = 100
my_lr = 0.001
my_num_epochs = 30
'''),
        wrong("budget counted without the ragged batch", '''
my_batch_size = 30
my_lr = 0.01
my_num_epochs = 10
'''),
        wrong("learning rate given as a string", '''
my_batch_size = 50
my_lr = "0.01"
my_num_epochs = 15
'''),
        wrong("lucky for one seed only", '''
my_batch_size = 10
my_lr = 0.003
my_num_epochs = 3
'''),
        wrong("zero epochs", '''
my_batch_size = 50
my_lr = 0.01
my_num_epochs = 0
'''),
        right("full batch, larger rate", '''
my_batch_size = 100
my_lr = 0.02
my_num_epochs = 30
'''),
        right("batches of 25, a careful rate", '''
my_batch_size = 25
my_lr = 0.004
my_num_epochs = 7
'''),
        right("batches of 34 (3 per epoch, the last one ragged)", '''
my_batch_size = 34
my_lr = 0.005
my_num_epochs = 10
'''),
    ],
}
