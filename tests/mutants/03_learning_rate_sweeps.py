"""Mutation suite for 03_learning_rate_sweeps: plausible wrong answers and correct alternatives per answer cell."""
from autograder.mutants import right, wrong

CELLS = {
    "parabola_stability_bound": [
        wrong("forgot the factor 2", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 2.0 / torch.linalg.eigvalsh(A.T @ A / len(x))[-1].item()
''', diagnosis="factor 2"),
        wrong("1 / lambda_max", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 1.0 / torch.linalg.eigvalsh(2 * A.T @ A / len(x))[-1].item()
''', diagnosis="1/λ_max"),
        wrong("summed, no 1/N", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 2.0 / torch.linalg.eigvalsh(2 * A.T @ A)[-1].item()
''', diagnosis="forgot the 1/N"),
        wrong("the line's Hessian", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    return 2.0 / torch.linalg.eigvalsh(2 * A.T @ A / len(x))[-1].item()
''', diagnosis="line's Hessian"),
        wrong("smallest eigenvalue", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 2.0 / torch.linalg.eigvalsh(2 * A.T @ A / len(x))[0].item()
''', diagnosis="smallest eigenvalue"),
        wrong("largest diagonal entry", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 2.0 / (2 * A.T @ A / len(x)).diagonal().max().item()
'''),
        wrong("autograd's Hessian", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    H = torch.autograd.functional.hessian(lambda p: ((p[0] * x ** 2 + p[1] * x + p[2]) ** 2).mean(),
                                          torch.zeros(3, dtype=torch.float64))
    return 2.0 / torch.linalg.eigvalsh(H)[-1].item()
''', diagnosis="used autograd"),
        wrong("returns a tensor", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    return 2.0 / torch.linalg.eigvalsh(2 * A.T @ A / len(x))[-1]
'''),
        right("power iteration", '''
def parabola_stability_bound(x):
    x = x.double().cpu()
    A = torch.stack([x ** 2, x, torch.ones_like(x)], dim=1)
    H = 2 * A.T @ A / len(x)
    v = torch.ones(3, dtype=torch.float64)
    for _ in range(500):
        v = H @ v
        v = v / v.norm()
    return float(2 / (v @ H @ v))
'''),
        right("the Hessian written entry by entry, float32 kept", '''
def parabola_stability_bound(x):
    n = x.shape[0]
    moments = [(x.double() ** k).sum().item() / n for k in range(5)]
    H = 2 * torch.tensor([[moments[4], moments[3], moments[2]],
                          [moments[3], moments[2], moments[1]],
                          [moments[2], moments[1], moments[0]]], dtype=torch.float64)
    largest = torch.linalg.eigvalsh(H).max().item()
    print("largest curvature", largest)
    return 2 / largest
'''),
        right("singular values of the design matrix", '''
def parabola_stability_bound(x):
    x = x.to(torch.float64, copy=True).cpu()
    design = torch.stack([x * x, x, torch.ones_like(x)], dim=1)
    sigma_max = torch.linalg.svdvals(design)[0].item()
    return len(x) / sigma_max ** 2
'''),
    ],
    "read_sweep": [
        wrong("picks the lecture's 'just right' rate", '''
def read_sweep(gaps):
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:])))
    closest = 0.005 if 0.005 in gaps else min((lr for lr in gaps if math.isfinite(gaps[lr][-1])),
                                              key=lambda lr: (gaps[lr][-1], lr), default=None)
    return closest, diverged, never_rose
''', diagnosis="just right"),
        wrong("a tie goes to the larger rate", '''
def read_sweep(gaps):
    closest = None
    for lr in sorted(gaps):
        final = gaps[lr][-1]
        if math.isfinite(final) and (closest is None or final <= gaps[closest][-1]):
            closest = lr
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:])))
    return closest, diverged, never_rose
''', diagnosis="tie went to the larger rate"),
        wrong("diverged with >=", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(finite, key=lambda lr: (gaps[lr][-1], lr)) if finite else None
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] >= g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:])))
    return closest, diverged, never_rose
''', diagnosis="rule is larger than"),
        wrong("a plateau counted as a rise", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(finite, key=lambda lr: (gaps[lr][-1], lr)) if finite else None
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b < a for a, b in zip(g, g[1:])))
    return closest, diverged, never_rose
''', diagnosis="at or below"),
        wrong("only first and last compared for never_rose", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(finite, key=lambda lr: (gaps[lr][-1], lr)) if finite else None
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items() if math.isfinite(g[-1]) and g[-1] <= g[0])
    return closest, diverged, never_rose
''', diagnosis="only compared the last gap with the first"),
        wrong("nan not treated as diverged", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(finite, key=lambda lr: (gaps[lr][-1], lr)) if finite else None
    diverged = sorted(lr for lr, g in gaps.items() if g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:])))
    return closest, diverged, never_rose
'''),
        wrong("closest by the lowest gap at any epoch", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(gaps, key=lambda lr: (min(v for v in gaps[lr] if not math.isnan(v)), lr))
    diverged = sorted(lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0])
    never_rose = sorted(lr for lr, g in gaps.items()
                        if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:])))
    return closest, diverged, never_rose
'''),
        wrong("lists in dictionary order, not sorted", '''
def read_sweep(gaps):
    finite = [lr for lr in gaps if math.isfinite(gaps[lr][-1])]
    closest = min(finite, key=lambda lr: (gaps[lr][-1], lr)) if finite else None
    diverged = [lr for lr, g in gaps.items() if not math.isfinite(g[-1]) or g[-1] > g[0]]
    never_rose = [lr for lr, g in gaps.items()
                  if all(math.isfinite(v) for v in g) and all(b <= a for a, b in zip(g, g[1:]))]
    return closest, diverged, never_rose
'''),
        right("explicit loops and helpers", '''
def finite(value):
    return not (math.isnan(value) or math.isinf(value))

def has_risen(curve):
    for before, after in zip(curve, curve[1:]):
        if after > before:
            return True
    return False

def read_sweep(gaps):
    closest = None
    for lr in sorted(gaps):
        if finite(gaps[lr][-1]):
            if closest is None or gaps[lr][-1] < gaps[closest][-1]:
                closest = lr
    diverged, never_rose = [], []
    for lr in sorted(gaps):
        curve = gaps[lr]
        if not finite(curve[-1]) or curve[-1] > curve[0]:
            diverged.append(lr)
        if all(finite(v) for v in curve) and not has_risen(curve):
            never_rose.append(lr)
    return closest, diverged, never_rose
'''),
        right("with torch tensors, converted back", '''
def read_sweep(gaps):
    rates = sorted(gaps)
    curves = [torch.tensor(gaps[lr], dtype=torch.float64) for lr in rates]
    finals = [c[-1].item() for c in curves]
    candidates = [(f, lr) for f, lr in zip(finals, rates) if math.isfinite(f)]
    closest = min(candidates)[1] if candidates else None
    diverged = [lr for lr, c in zip(rates, curves) if not torch.isfinite(c[-1]) or c[-1] > c[0]]
    never_rose = [lr for lr, c in zip(rates, curves)
                  if bool(torch.isfinite(c).all()) and bool((c.diff() <= 0).all())]
    return closest, diverged, never_rose
'''),
        right("a tuple of lists and a print", '''
def read_sweep(gaps):
    ok = {lr: g for lr, g in gaps.items() if math.isfinite(g[-1])}
    closest = sorted(ok, key=lambda lr: (ok[lr][-1], lr))[0] if ok else None
    diverged = sorted(set(gaps) - {lr for lr in ok if ok[lr][-1] <= ok[lr][0]})
    never_rose = sorted(lr for lr, g in gaps.items() if all(map(math.isfinite, g))
                        and max((b - a for a, b in zip(g, g[1:])), default=0.0) <= 0)
    print(f"closest {closest}, diverged {diverged}, never rose {never_rose}")
    return (closest, list(diverged), list(never_rose))
'''),
    ],
    "adam_step": [
        wrong("no bias correction", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return param - lr * m / (v.sqrt() + eps), m, v
''', diagnosis="bias correction"),
        wrong("eps inside the square root", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    return param - lr * m_hat / (v_hat + eps).sqrt(), m, v
''', diagnosis="inside the square root"),
        wrong("bias correction one step late", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** (step + 1)), v / (1 - beta2 ** (step + 1))
    return param - lr * m_hat / (v_hat.sqrt() + eps), m, v
'''),
        wrong("v averages |g| instead of g squared", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad.abs()
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    return param - lr * m_hat / (v_hat + eps), m, v
'''),
        wrong("returns the bias-corrected averages as the state", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m_hat, v_hat
'''),
        wrong("updates in place", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m.mul_(beta1).add_((1 - beta1) * grad)
    v.mul_(beta2).add_((1 - beta2) * grad * grad)
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    param.sub_(lr * m_hat / (v_hat.sqrt() + eps))
    return param, m, v
'''),
        wrong("float32 state", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (beta1 * m + (1 - beta1) * grad).float()
    v = (beta2 * v + (1 - beta2) * grad ** 2).float()
    m_hat, v_hat = m / (1 - beta1 ** step), v / (1 - beta2 ** step)
    return (param - lr * m_hat / (v_hat.sqrt() + eps)).float(), m, v
'''),
        wrong("betas swapped", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta2 * m + (1 - beta2) * grad
    v = beta1 * v + (1 - beta1) * grad ** 2
    m_hat, v_hat = m / (1 - beta2 ** step), v / (1 - beta1 ** step)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m, v
'''),
        right("torch.lerp and addcmul", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    new_m = torch.lerp(m, grad, 1 - beta1)
    new_v = torch.addcmul(v * beta2, grad, grad, value=1 - beta2)
    step_size = lr / (1 - beta1 ** step)
    denominator = new_v.sqrt() / math.sqrt(1 - beta2 ** step) + eps
    return param - step_size * new_m / denominator, new_m, new_v
'''),
        right("helpers for the averages", '''
def running_average(old, new, beta):
    return beta * old + (1 - beta) * new

def unbiased(average, beta, step):
    return average / (1 - beta ** step)

def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m = running_average(m, grad, beta1)
    v = running_average(v, grad.square(), beta2)
    update = unbiased(m, beta1, step) / (torch.sqrt(unbiased(v, beta2, step)) + eps)
    return param - lr * update, m, v
'''),
        right("clone and update the copies in place", '''
def adam_step(param, grad, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    param, m, v = param.clone(), m.clone(), v.clone()
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (v / (1 - beta2 ** step)).sqrt_().add_(eps)
    param.addcdiv_(m, denom, value=-lr / (1 - beta1 ** step))
    return param, m, v
'''),
    ],
    "adam_lr": [
        wrong("PyTorch's default", "ADAM_LR = 1e-3\n"),
        wrong("plain gradient descent's bound", "ADAM_LR = 0.028\n"),
        wrong("0.1", "ADAM_LR = 0.1\n"),
        wrong("far too large", "ADAM_LR = 1000.0\n"),
        wrong("negative", "ADAM_LR = -0.5\n"),
        wrong("a tensor", "ADAM_LR = torch.tensor(0.5)\n"),
        wrong("the string", 'ADAM_LR = "0.5"\n'),
        right("0.5", "ADAM_LR = 0.5\n"),
        right("one", "ADAM_LR = 1.0\n"),
        right("from the distance to travel", '''
distance = 3.0    # the slope goes from 0 to about 3
ADAM_LR = 50 * distance / 200
print(ADAM_LR)
'''),
    ],
    "find_edge": [
        wrong("halves while width equals tol", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    while hi - lo >= tol:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi
''', diagnosis="stop at or below"),
        wrong("ends swapped", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if diverges(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi
''', diagnosis="swapped"),
        wrong("returns the midpoint only", '''
def find_edge(diverges, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2
'''),
        wrong("calls diverges twice per halving", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        if not diverges(mid):
            lo = mid
    return lo, hi
'''),
        wrong("a linear scan from lo", '''
def find_edge(diverges, lo, hi, tol):
    lr = float(lo)
    while lr + tol < hi and not diverges(lr + tol):
        lr += tol
    return lr, min(lr + tol, float(hi))
'''),
        wrong("always at least one call", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    while True:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo <= tol:
            return lo, hi
'''),
        wrong("ints kept", '''
def find_edge(diverges, lo, hi, tol):
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi
'''),
        wrong("fixed number of halvings", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    for _ in range(6):
        mid = (lo + hi) / 2
        if diverges(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi
'''),
        right("recursive", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    if hi - lo <= tol:
        return lo, hi
    mid = lo + (hi - lo) / 2
    return find_edge(diverges, lo, mid, tol) if diverges(mid) else find_edge(diverges, mid, hi, tol)
'''),
        right("number of halvings computed first", '''
def find_edge(diverges, lo, hi, tol):
    lo, hi = float(lo), float(hi)
    halvings = 0
    width = hi - lo
    while width > tol:
        width /= 2
        halvings += 1
    for _ in range(halvings):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if diverges(mid) else (mid, hi)
    return lo, hi
'''),
        right("a bracket list with a log", '''
def find_edge(diverges, lo, hi, tol):
    bracket = [float(lo), float(hi)]
    while not bracket[1] - bracket[0] <= tol:
        middle = sum(bracket) / 2
        side = 1 if diverges(middle) else 0
        bracket[side] = middle
        print(f"bracket now [{bracket[0]:.6f}, {bracket[1]:.6f}]")
    return bracket[0], bracket[1]
'''),
    ],
}
