use super::*;
use crate::captions::tokenize::tokenize;

fn small() -> SyntheticSpec {
    SyntheticSpec {
        scenes: 1500,
        feature_size: 64,
        ..SyntheticSpec::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_set_and_another_seed_another() {
    let spec = SyntheticSpec {
        scenes: 50,
        ..small()
    };
    let a = generate(&spec, 1);
    assert_eq!(a, generate(&spec, 1));
    let b = generate(&spec, 2);
    assert_ne!(a.images[0].captions, b.images[0].captions);
    assert_ne!(a.images[0].feature, b.images[0].feature);
    assert_eq!(a.feature_size, 64);
    assert!(a.images.iter().enumerate().all(|(i, im)| im.id == i as u64));
    assert!(a.images.iter().all(|im| im.feature.len() == 64));
}

#[test]
fn captions_tokenise_to_short_medium_and_long_lengths_and_references_differ() {
    let set = generate(&small(), 3);
    let mut histogram = [0usize; 64];
    for im in &set.images {
        assert_eq!(im.captions.len(), 5);
        let distinct: std::collections::HashSet<_> = im.captions.iter().collect();
        assert!(distinct.len() >= 4, "{:?}", im.captions);
        for c in &im.captions {
            let n = tokenize(c).len();
            assert!((3..=48).contains(&n), "{n} tokens: {c}");
            histogram[n] += 1;
        }
    }
    let total: usize = histogram.iter().sum();
    let share =
        |r: std::ops::Range<usize>| histogram[r].iter().sum::<usize>() as f64 / total as f64;
    let (short, papers, long) = (share(3..6), share(11..16), share(16..64));
    assert!(short > 0.02, "short captions: {short}");
    assert!(papers > 0.12, "11 to 15 tokens: {papers}");
    assert!(long > 0.1, "long captions: {long}");
}

#[test]
fn the_first_objects_colour_can_be_read_out_of_the_feature() {
    let spec = small();
    let set = generate(&spec, 4);
    let colour = |i: usize| scene(&spec, 4, i).objects[0].colour;
    let d = spec.feature_size;
    let mut centroids = vec![vec![0.0f64; d]; COLOURS.len()];
    let mut counts = vec![0usize; COLOURS.len()];
    for (i, im) in set.images.iter().enumerate().take(1000) {
        let c = colour(i);
        counts[c] += 1;
        centroids[c]
            .iter_mut()
            .zip(&im.feature)
            .for_each(|(m, &x)| *m += x as f64);
    }
    for (m, &n) in centroids.iter_mut().zip(&counts) {
        m.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    let nearest = |x: &[f32]| {
        (0..COLOURS.len())
            .min_by(|&a, &b| {
                let dist = |m: &[f64]| {
                    m.iter()
                        .zip(x)
                        .map(|(m, &x)| (m - x as f64).powi(2))
                        .sum::<f64>()
                };
                dist(&centroids[a]).total_cmp(&dist(&centroids[b]))
            })
            .unwrap()
    };
    let held_out = 1000..set.images.len();
    let right = held_out
        .clone()
        .filter(|&i| nearest(&set.images[i].feature) == colour(i))
        .count();
    let accuracy = right as f64 / held_out.len() as f64;
    assert!(accuracy > 0.5, "accuracy {accuracy}, chance 1/8");
}

#[test]
fn splits_are_disjoint_and_cover_every_image() {
    let (train, val, test) = split_by_image(103, 0.8, 0.1, 5).unwrap();
    assert_eq!((train.len(), val.len(), test.len()), (82, 10, 11));
    let mut all: Vec<usize> = [train.clone(), val, test].concat();
    all.sort_unstable();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
    assert_eq!(split_by_image(103, 0.8, 0.1, 5).unwrap().0, train);
    assert_ne!(split_by_image(103, 0.8, 0.1, 6).unwrap().0, train);
    assert!(split_by_image(10, 0.8, 0.3, 5).is_err());
}
