"""The reference of `ccdni bench` in a compiled framework: the same training step in JAX, the
whole batch (every window, and for the caption model every per-window Adam step) one
jit-compiled function, timed in sequences per second.

    pip install jax                      # CPU
    taskset -c 0 python scripts/jax_bench.py --threads 1
    taskset -c 0,1 python scripts/jax_bench.py --threads 2

The step follows docs/model.md §2 as `src/trainer` runs it: per window of K steps the cortex
(an LSTM) runs from the detached state, is backpropagated through the window alone, seeded with
the window's task loss and lambda·C(s_end) (a constant); the gradient arriving at the window's
start teaches the cerebellum by ||C(s_start) - g||²; for the reach and MNIST-sized cases the
gradients of all windows are summed into one Adam step per batch (clipped at norm 1), for the
caption case there is an Adam step per window (no clipping). Initial values and data are random:
only the time is compared (ccdni's own gradients are checked against a PyTorch reference by its
fixtures). Results are printed one line per configuration.
"""

import argparse
import os
import sys
import time


def configure(threads):
    # Set before jax is imported: XLA reads its flags once.
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    configure(args.threads)
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platforms", "cpu")

    def lstm_step(p, s, x):
        h, c = s
        z = x @ p["w_ih"].T + h @ p["w_hh"].T + p["b"]
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c)

    def cerebellum(layers, s):
        x = jnp.concatenate(s, axis=-1)
        for j, (w, b) in enumerate(layers):
            x = x @ w.T + b
            if j + 1 < len(layers):
                x = jax.nn.relu(x)
        return x

    def linear(key, o, i):
        k1, k2 = jax.random.split(key)
        bound = 1.0 / i**0.5
        return (
            jax.random.uniform(k1, (o, i), minval=-bound, maxval=bound),
            jax.random.uniform(k2, (o,), minval=-bound, maxval=bound),
        )

    def init(key, inp, hidden, out, granule, layers, words=None):
        ks = jax.random.split(key, 8 + layers)
        w_ih, b = linear(ks[0], 4 * hidden, inp)
        w_hh, _ = linear(ks[1], 4 * hidden, hidden)
        w_o, b_o = linear(ks[2], out, hidden)
        p = {"w_ih": w_ih, "w_hh": w_hh, "b": b, "w_o": w_o, "b_o": b_o}
        if granule:
            sizes = [2 * hidden] + [granule] * layers + [2 * hidden]
            cb = [linear(ks[3 + j], sizes[j + 1], sizes[j]) for j in range(layers + 1)]
            cb[-1] = (jnp.zeros_like(cb[-1][0]), jnp.zeros_like(cb[-1][1]))
            p["cb"] = cb
        if words:
            feats, vocab = words
            p["img_w"], p["img_b"] = linear(ks[-1], inp, feats)
            p["emb"] = jax.random.normal(ks[-2], (vocab, inp))
        return p

    def adam(p, m, v, g, t, lr, b1=0.9, b2=0.999, eps=1e-8):
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        step = lr / (1 - b1**t)
        bc2 = jnp.sqrt(1 - b2**t)
        p = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) / bc2 + eps), p, m, v)
        return p, m, v

    def make_step(case):
        k, lam, steps = case["k"], 0.1, case["steps"]
        windows = [(t0, min(t0 + k, steps)) for t0 in range(0, steps, k)]
        per_window = case["per_window"]

        def inputs(p, data, t0, t1, key):
            if "feats" not in data:
                return data["x"][t0:t1]
            xs = []
            for t in range(t0, t1):
                if t == 0:
                    x = data["feats"] @ p["img_w"].T + p["img_b"]
                else:
                    x = p["emb"][data["tokens"][t - 1]]
                keep = jax.random.bernoulli(jax.random.fold_in(key, t), 0.5, x.shape)
                xs.append(jnp.where(keep, x * 2.0, 0.0))
            return jnp.stack(xs)

        def task_loss(p, data, t0, t1, ys):
            if "labels" in data:
                logits = ys
                lab = data["labels"][t0:t1]
                lse = jax.nn.logsumexp(logits, axis=-1)
                picked = jnp.take_along_axis(logits, lab[..., None], axis=-1)[..., 0]
                return jnp.mean(lse - picked)
            if "class" in data:
                if t1 != steps:
                    return 0.0
                logits = ys[-1]
                lse = jax.nn.logsumexp(logits, axis=-1)
                picked = jnp.take_along_axis(logits, data["class"][:, None], axis=-1)[:, 0]
                return jnp.mean(lse - picked)
            return jnp.mean((ys - data["y"][t0:t1]) ** 2)

        def window(p, s0, data, t0, t1, key):
            def forward(cortex, s0):
                q = {**p, **cortex}
                xs = inputs(q, data, t0, t1, key)
                s, hs = s0, []
                for x in xs:
                    s = lstm_step(q, s, x)
                    hs.append(s[0])
                ys = jnp.stack(hs) @ q["w_o"].T + q["b_o"]
                loss = task_loss(q, data, t0, t1, ys)
                if "cb" in p:
                    pred = jax.lax.stop_gradient(cerebellum(p["cb"], s))
                    h, c = s
                    n = h.shape[-1]
                    loss = loss + lam * (jnp.sum(pred[:, :n] * h) + jnp.sum(pred[:, n:] * c))
                return loss, s

            cortex = {key: val for key, val in p.items() if key != "cb"}
            (_, s1), (g_cortex, g_s0) = jax.value_and_grad(forward, argnums=(0, 1), has_aux=True)(
                cortex, s0
            )
            grads = dict(g_cortex)
            if "cb" in p:
                g0 = jnp.concatenate(g_s0, axis=-1)

                def teach(cb):
                    return jnp.sum((cerebellum(cb, s0) - g0) ** 2)

                grads["cb"] = jax.grad(teach)(p["cb"])
            return grads, jax.lax.stop_gradient(s1)

        def step(p, m, v, t, data, key):
            b, h = case["batch"], case["hidden"]
            s = (jnp.zeros((b, h)), jnp.zeros((b, h)))
            total = None
            for t0, t1 in windows:
                g, s = window(p, s, data, t0, t1, key)
                if per_window:
                    t = t + 1
                    p, m, v = adam(p, m, v, g, t, case["lr"])
                else:
                    total = g if total is None else jax.tree.map(jnp.add, total, g)
            if not per_window:
                norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(total)))
                scale = jnp.minimum(1.0, 1.0 / (norm + 1e-6))
                total = jax.tree.map(lambda x: x * scale, total)
                t = t + 1
                p, m, v = adam(p, m, v, total, t, case["lr"])
            return p, m, v, t

        return jax.jit(step, donate_argnums=(0, 1, 2))

    def reach(granule):
        b, steps = 50, 10
        key = jax.random.PRNGKey(0)
        data = {
            "x": jax.random.normal(key, (steps, b, 1)),
            "y": jax.random.normal(jax.random.fold_in(key, 1), (steps, b, 2)),
        }
        p = init(key, 1, 50, 2, granule, 2)
        return dict(batch=b, hidden=50, steps=steps, k=1, per_window=False, lr=1e-3), p, data

    def mnist_sized():
        b, steps = 50, 28
        key = jax.random.PRNGKey(1)
        data = {
            "x": jax.random.uniform(key, (steps, b, 28)),
            "class": jax.random.randint(key, (b,), 0, 10),
        }
        p = init(key, 28, 30, 10, 60, 1)
        return dict(batch=b, hidden=30, steps=steps, k=3, per_window=False, lr=1e-3), p, data

    def captions():
        b, steps, f, vocab = 100, 15, 2048, 9956
        key = jax.random.PRNGKey(2)
        data = {
            "feats": jax.random.uniform(key, (b, f)),
            "tokens": jax.random.randint(key, (steps - 1, b), 0, vocab),
            "labels": jax.random.randint(jax.random.fold_in(key, 1), (steps, b), 0, vocab),
        }
        p = init(key, 256, 256, vocab, 1024, 2, words=(f, vocab))
        return dict(batch=b, hidden=256, steps=steps, k=4, per_window=True, lr=1e-3), p, data

    cases = {
        "reach ccRNN K=1 (H=50, cerebellum 2x400, B=50, L=10)": lambda: reach(400),
        "reach cRNN K=1 (H=50, B=50, L=10)": lambda: reach(0),
        "MNIST-sized ccRNN K=3 (I=28, L=28, H=30, cerebellum 1x60, B=50)": mnist_sized,
        "captions ccRNN K=4 (F=2048, V=9956, D=H=256, cerebellum 2x1024, B=100, L=15)": captions,
    }
    print(f"jax {jax.__version__}, {args.threads} thread(s), f32, whole batch jit-compiled")
    for name, make in cases.items():
        if args.only and args.only not in name:
            continue
        case, p, data = make()
        step = make_step(case)
        m = jax.tree.map(jnp.zeros_like, p)
        v = jax.tree.map(jnp.zeros_like, p)
        t = jnp.zeros((), jnp.int32)
        key = jax.random.PRNGKey(3)
        p, m, v, t = step(p, m, v, t, data, key)  # compile and warm up
        jax.block_until_ready(p)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds or n < 3:
            p, m, v, t = step(p, m, v, t, data, jax.random.fold_in(key, n))
            jax.block_until_ready(p)
            n += 1
        dt = time.perf_counter() - start
        print(f"{name:<80} {n * case['batch'] / dt:>10.0f} seq/s {1e3 * dt / n:>9.2f} ms/batch")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
