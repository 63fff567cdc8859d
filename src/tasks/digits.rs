//! Target trajectories of the sequential-MNIST drawing tasks: line drawing (LD), a straight line
//! from the origin to one of 10 points on a circle, and digit drawing (DD), a polyline template of
//! the digit spread over the sequence.

/// Radius of the LD circle.
pub const LINE_RADIUS: f64 = 10.0;

/// Number of digits (and of LD end points).
pub const DIGITS: usize = 10;

/// The DD templates of docs/model.md §4.2 (the authors' `draw0` .. `draw9`), as `(x, y)` points.
///
/// They are kept in the unit square, where docs/model.md §4.2 gives them, unscaled (the LD
/// targets, on a circle of radius 10, are thus 10 times larger than the DD ones).
const TEMPLATES: [&[(f64, f64)]; DIGITS] = [
    &[
        (0.0, 1.0),
        (0.0, 0.5),
        (0.0, 0.0),
        (0.5, 0.0),
        (1.0, 0.0),
        (1.0, 0.5),
        (1.0, 1.0),
        (0.5, 1.0),
        (0.0, 1.0),
    ],
    &[(0.25, 0.75), (0.5, 1.0), (0.5, 0.5), (0.5, 0.0)],
    &[
        (0.0, 1.0),
        (0.5, 1.0),
        (1.0, 1.0),
        (0.5, 0.5),
        (0.0, 0.0),
        (0.5, 0.0),
        (1.0, 0.0),
    ],
    &[
        (0.0, 1.0),
        (0.5, 1.0),
        (1.0, 1.0),
        (1.0, 0.5),
        (0.5, 0.5),
        (1.0, 0.5),
        (1.0, 0.0),
        (0.5, 0.0),
        (0.0, 0.0),
    ],
    &[
        (0.0, 1.0),
        (0.0, 0.5),
        (0.5, 0.5),
        (1.0, 0.5),
        (0.5, 0.5),
        (0.5, 1.0),
        (0.5, 0.5),
        (0.5, 0.0),
    ],
    &[
        (0.0, 1.0),
        (0.5, 1.0),
        (1.0, 1.0),
        (0.5, 1.0),
        (0.0, 1.0),
        (0.0, 0.5),
        (0.5, 0.5),
        (1.0, 0.5),
        (1.0, 0.0),
        (0.5, 0.0),
        (0.0, 0.0),
    ],
    &[
        (0.0, 1.0),
        (0.0, 0.5),
        (0.0, 0.0),
        (0.5, 0.0),
        (1.0, 0.0),
        (1.0, 0.5),
        (0.5, 0.5),
        (0.0, 0.5),
    ],
    &[(0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (0.5, 0.5), (0.0, 0.0)],
    &[
        (0.0, 1.0),
        (0.5, 0.5),
        (1.0, 0.0),
        (0.5, 0.0),
        (0.0, 0.0),
        (0.5, 0.5),
        (1.0, 1.0),
        (0.5, 1.0),
        (0.0, 1.0),
    ],
    &[
        (0.0, 1.0),
        (0.0, 0.5),
        (0.5, 0.5),
        (1.0, 0.5),
        (1.0, 1.0),
        (0.5, 1.0),
        (0.0, 1.0),
        (0.5, 1.0),
        (1.0, 1.0),
        (1.0, 0.5),
        (1.0, 0.0),
    ],
];

/// The template polyline of `digit` (panics unless `digit < 10`).
pub fn template(digit: usize) -> &'static [(f64, f64)] {
    TEMPLATES[digit]
}

/// LD end point of `digit`: point d of 10 on the circle of radius 10, at angle a = 36 d degrees,
/// `(10 sin a, 10 cos a)`.
pub fn line_end_point(digit: usize) -> (f64, f64) {
    assert!(digit < DIGITS, "digit {digit} is not in 0..{DIGITS}");
    let a = (36.0 * digit as f64).to_radians();
    (LINE_RADIUS * a.sin(), LINE_RADIUS * a.cos())
}

/// LD target of `digit`: the straight line from the origin to [`line_end_point`], linspace over
/// `steps` steps (step 0 is the origin, the last step the end point).
pub fn line_target(digit: usize, steps: usize) -> Vec<(f64, f64)> {
    super::line_from_origin(line_end_point(digit), steps)
}

/// Steps given to each of the `segments` segments of a template over `steps` steps, by the rule
/// of docs/model.md §4.2 (the authors' `fit_points`): `div = steps / segments` each and
/// `r = steps mod segments`; if `r > 0` the first `r - 1` segments get one step more, if `r = 0`
/// the last gets one fewer.
///
/// Either way the segments get `steps - 1` steps in all, and the final point appended by
/// [`digit_target`] makes exactly `steps` (for every `steps >= 1`, so for 28 with every template).
pub fn segment_steps(steps: usize, segments: usize) -> Vec<usize> {
    assert!(steps >= 1 && segments >= 1, "need a step and a segment");
    let (div, r) = (steps / segments, steps % segments);
    let mut lengths = vec![div; segments];
    if r > 0 {
        lengths[..r - 1].iter_mut().for_each(|l| *l += 1);
    } else {
        lengths[segments - 1] -= 1;
    }
    lengths
}

/// DD target of `digit`: its template polyline (in the unit square, unscaled) spread over `steps`
/// steps by [`segment_steps`]. A segment of k steps contributes the points
/// `start + (end - start) j / k` for `j = 0..k` (its end point excluded, as it starts the next
/// segment); the template's final point is appended. The result has exactly `steps` points, the
/// first being the template's first point and the last its final point.
///
/// When `steps` is below the number of template points (never for the 28 rows of MNIST) some
/// segments get no step and their start points are skipped; the authors' code refuses that case.
pub fn digit_target(digit: usize, steps: usize) -> Vec<(f64, f64)> {
    assert!(digit < DIGITS, "digit {digit} is not in 0..{DIGITS}");
    if steps == 0 {
        return Vec::new();
    }
    let points = template(digit);
    let lengths = segment_steps(steps, points.len() - 1);
    let mut out = Vec::with_capacity(steps);
    for (pair, &k) in points.windows(2).zip(&lengths) {
        let (a, b) = (pair[0], pair[1]);
        out.extend((0..k).map(|j| {
            let f = j as f64 / k as f64;
            (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
        }));
    }
    out.push(points[points.len() - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12
    }

    #[test]
    fn template_sizes_match_the_spec() {
        let sizes: Vec<usize> = (0..DIGITS).map(|d| template(d).len()).collect();
        assert_eq!(sizes, [9, 4, 7, 9, 8, 11, 8, 5, 9, 11]);
        for d in 0..DIGITS {
            assert!(
                template(d)
                    .iter()
                    .all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)),
                "digit {d} leaves the unit square"
            );
        }
    }

    #[test]
    fn step_rule_gives_28_points_for_every_digit() {
        for d in 0..DIGITS {
            let segments = template(d).len() - 1;
            let lengths = segment_steps(28, segments);
            assert_eq!(lengths.iter().sum::<usize>(), 27, "digit {d}");
            assert_eq!(digit_target(d, 28).len(), 28, "digit {d}");
        }
        // digit 0: 8 segments, div 3, r 4: the first 3 get 4 steps.
        assert_eq!(segment_steps(28, 8), [4, 4, 4, 3, 3, 3, 3, 3]);
        // digit 7: 4 segments, r = 0: the last gets one fewer.
        assert_eq!(segment_steps(28, 4), [7, 7, 7, 6]);
        // digit 1: 3 segments, r = 1: none gets more.
        assert_eq!(segment_steps(28, 3), [9, 9, 9]);
        for steps in 1..60 {
            for d in 0..DIGITS {
                assert_eq!(digit_target(d, steps).len(), steps, "{d} over {steps}");
            }
        }
    }

    #[test]
    fn digit_targets_start_and_end_at_the_template_ends() {
        for d in 0..DIGITS {
            let t = digit_target(d, 28);
            let p = template(d);
            assert_eq!(t[0], p[0], "digit {d}");
            assert_eq!(t[27], p[p.len() - 1], "digit {d}");
        }
    }

    #[test]
    fn digit_target_passes_through_each_corner_at_its_segment_start() {
        // digit 7 over 28 steps: segments of 7, 7, 7, 6 steps.
        let t = digit_target(7, 28);
        let p = template(7);
        for (step, corner) in [(0, 0), (7, 1), (14, 2), (21, 3), (27, 4)] {
            assert!(close(t[step], p[corner]), "step {step}");
        }
        assert!(close(t[1], (0.5 / 7.0, 1.0)));
        assert!(close(t[24], (0.25, 0.25)), "half-way down the last segment");
    }

    #[test]
    fn line_targets_go_to_the_circle_at_36_degree_steps() {
        for d in 0..DIGITS {
            let t = line_target(d, 28);
            assert_eq!(t.len(), 28);
            assert_eq!(t[0], (0.0, 0.0));
            let (x, y) = t[27];
            assert!(((x * x + y * y).sqrt() - 10.0).abs() < 1e-12);
            let angle = x.atan2(y).to_degrees().rem_euclid(360.0);
            assert!((angle - 36.0 * d as f64).abs() < 1e-9, "digit {d}: {angle}");
            assert!(close(t[9], (x / 3.0, y / 3.0)), "linspace");
        }
        assert!(close(line_end_point(0), (0.0, 10.0)));
        assert!(close(line_end_point(5), (0.0, -10.0)));
    }
}
