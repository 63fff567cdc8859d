fn main() {
    let n = 25000;
    let z: Vec<f32> = (0..4 * n)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
        .collect();
    let mut out = vec![0.0f32; n];
    let t = std::time::Instant::now();
    for _ in 0..100 {
        for j in 0..n {
            let i = 1.0 / (1.0 + (-z[j]).exp());
            let f = 1.0 / (1.0 + (-z[n + j]).exp());
            let g = z[2 * n + j].tanh();
            let o = 1.0 / (1.0 + (-z[3 * n + j]).exp());
            let c = f * out[j] + i * g;
            out[j] = o * c.tanh();
        }
    }
    println!("{:?} per 25k cells {}", t.elapsed() / 100, out[7]);
}
