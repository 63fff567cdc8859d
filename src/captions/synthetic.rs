//! A built-in caption set that needs no download: symbolic scenes, a feature vector per scene
//! from which the scene can be read out, and several reference captions per scene that say the
//! same thing in different words and orders.
//!
//! **Scenes.** 1 to `max_objects` objects (uniform), each an object kind ([`OBJECTS`]) with a
//! colour ([`COLOURS`]) and, each with probability ½, a size ([`SIZES`]) and a material
//! ([`MATERIALS`]); consecutive objects k, k+1 are linked by a spatial relation ([`RELATIONS`]:
//! "object k is <relation> object k+1").
//!
//! **Features.** The scene's symbolic content is a vector s of one-hot slots: per object
//! position, kind, colour, size (or none), material (or none) and a presence bit; per relation
//! position, the relation (or none). The feature is `x = W s + noise · ε`, ε standard normal,
//! with W (feature_size × dim s, entries N(0, 1/5)) drawn once from a stream that depends only on
//! the sizes, not on the scene seed: every seed shares one "camera", so a model has to learn to
//! read the caption out of the projection, and noise makes that reading imperfect.
//!
//! **Captions.** Each scene gets [`SyntheticSpec::captions`] distinct references (a scene with
//! few possible wordings may repeat one after 50 draws). A reference is an optional opener
//! ("there is", "a picture of", ...), the first two objects and their relation stated either
//! way round ("a red ball to the left of a cube" / "a cube to the right of a red ball"), then
//! one clause per further relation, again either way round ("and the cube is above a cup" /
//! "and a cup is below the cube"), objects named with synonyms and in three noun
//! phrase forms ("a small red ball", "a small ball that is red", "a ball that is small and
//! red"), and an optional final period. Tokenised with [`super::tokenize::tokenize`], captions
//! are 3 to 48 tokens long; with the default 3 objects most fall in 5 to 25, with many in the
//! papers' 11–15 (about 5% are 3 to 5 tokens, a sixth 11 to 15, over a tenth 16 or more).

use super::set::{CaptionImage, CaptionSet};
use crate::rng::Rng;
use anyhow::{Result, bail};

/// Object kinds, each with its synonyms (the first is its name).
pub const OBJECTS: &[&[&str]] = &[
    &["ball", "sphere"],
    &["cube", "block"],
    &["cup", "mug"],
    &["box"],
    &["chair"],
    &["book"],
    &["bottle"],
    &["lamp"],
    &["vase"],
    &["hat"],
];
/// Colours.
pub const COLOURS: &[&str] = &[
    "red", "blue", "green", "yellow", "white", "black", "purple", "orange",
];
/// Sizes, each with its synonyms.
pub const SIZES: &[&[&str]] = &[&["small", "little", "tiny"], &["large", "big"]];
/// Materials.
pub const MATERIALS: &[&str] = &["metal", "wooden", "rubber", "glass"];
/// Spatial relations, each with its wordings and the index of its converse.
pub const RELATIONS: &[(&[&str], usize)] = &[
    (&["to the left of", "left of", "on the left of"], 1),
    (&["to the right of", "right of", "on the right of"], 0),
    (&["above", "over"], 3),
    (&["below", "underneath"], 2),
    (&["in front of"], 5),
    (&["behind", "in back of"], 4),
    (&["on top of", "on"], 7),
    (&["under", "beneath"], 6),
    (&["next to", "beside", "near"], 8),
];
/// Optional openers of a caption.
const OPENERS: &[&str] = &[
    "",
    "",
    "there is ",
    "a picture of ",
    "an image of ",
    "a photo showing ",
];

/// The size of the set and of its features.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// How many scenes (images), with ids 0..scenes.
    pub scenes: usize,
    /// Length of each feature vector.
    pub feature_size: usize,
    /// Standard deviation of the Gaussian noise added to each feature.
    pub noise: f64,
    /// Most objects in a scene (at least 1).
    pub max_objects: usize,
    /// Reference captions per scene.
    pub captions: usize,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            scenes: 3000,
            feature_size: 256,
            noise: 0.1,
            max_objects: 3,
            captions: 5,
        }
    }
}

/// One object of a scene: indices into [`OBJECTS`], [`COLOURS`], [`SIZES`], [`MATERIALS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Object {
    pub kind: usize,
    pub colour: usize,
    pub size: Option<usize>,
    pub material: Option<usize>,
}

/// A scene: its objects, and the relation (index into [`RELATIONS`]) of each object to the next.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub objects: Vec<Object>,
    pub relations: Vec<usize>,
}

/// The scene with image id `id` of the set seeded by `seed`.
pub fn scene(spec: &SyntheticSpec, seed: u64, id: usize) -> Scene {
    let mut rng = Rng::stream(seed, &format!("captions/synthetic/scene/{id}"));
    let n = 1 + rng.below(spec.max_objects.max(1));
    let maybe = |rng: &mut Rng, k: usize| (rng.uniform() < 0.5).then(|| rng.below(k));
    let objects = (0..n)
        .map(|_| Object {
            kind: rng.below(OBJECTS.len()),
            colour: rng.below(COLOURS.len()),
            size: maybe(&mut rng, SIZES.len()),
            material: maybe(&mut rng, MATERIALS.len()),
        })
        .collect();
    let relations = (1..n).map(|_| rng.below(RELATIONS.len())).collect();
    Scene { objects, relations }
}

/// The set of `spec.scenes` scenes seeded by `seed` (see the module doc).
pub fn generate(spec: &SyntheticSpec, seed: u64) -> CaptionSet {
    let projection = projection(spec);
    let images = (0..spec.scenes)
        .map(|id| {
            let scene = scene(spec, seed, id);
            let mut rng = Rng::stream(seed, &format!("captions/synthetic/text/{id}"));
            let mut captions: Vec<String> = Vec::with_capacity(spec.captions);
            let mut tries = 0;
            while captions.len() < spec.captions {
                let c = caption(&scene, &mut rng);
                tries += 1;
                if tries > 50 || !captions.contains(&c) {
                    captions.push(c);
                }
            }
            CaptionImage {
                id: id as u64,
                feature: feature(spec, &projection, &scene, &mut rng),
                captions,
            }
        })
        .collect();
    CaptionSet {
        feature_size: spec.feature_size,
        images,
    }
}

/// Width of one object's slots: kind, colour, size or none, material or none, presence.
const OBJECT_SLOTS: usize = 10 + 8 + 3 + 5 + 1;
/// Width of one relation's slots: a relation or none.
const RELATION_SLOTS: usize = 9 + 1;

/// The one-hot symbolic vector s of a scene (see the module doc).
pub fn symbols(spec: &SyntheticSpec, scene: &Scene) -> Vec<f32> {
    let m = spec.max_objects.max(1);
    let mut s = vec![0.0; m * OBJECT_SLOTS + (m - 1) * RELATION_SLOTS];
    for (p, o) in scene.objects.iter().enumerate() {
        let at = p * OBJECT_SLOTS;
        s[at + o.kind] = 1.0;
        s[at + 10 + o.colour] = 1.0;
        s[at + 18 + o.size.map_or(0, |z| z + 1)] = 1.0;
        s[at + 21 + o.material.map_or(0, |z| z + 1)] = 1.0;
        s[at + 26] = 1.0;
    }
    for k in 0..m - 1 {
        let at = m * OBJECT_SLOTS + k * RELATION_SLOTS;
        s[at + scene.relations.get(k).map_or(0, |r| r + 1)] = 1.0;
    }
    s
}

/// The fixed projection W, feature_size × dim s, row-major.
fn projection(spec: &SyntheticSpec) -> Vec<f32> {
    let m = spec.max_objects.max(1);
    let dim = m * OBJECT_SLOTS + (m - 1) * RELATION_SLOTS;
    let mut rng = Rng::stream(
        (spec.feature_size as u64) << 16 | m as u64,
        "captions/synthetic/projection",
    );
    let scale = 1.0 / 5f64.sqrt();
    (0..spec.feature_size * dim)
        .map(|_| (rng.normal() * scale) as f32)
        .collect()
}

/// `W s + noise · ε`.
fn feature(spec: &SyntheticSpec, w: &[f32], scene: &Scene, rng: &mut Rng) -> Vec<f32> {
    let s = symbols(spec, scene);
    w.chunks_exact(s.len())
        .map(|row| {
            let clean: f32 = row.iter().zip(&s).map(|(a, b)| a * b).sum();
            clean + (spec.noise * rng.normal()) as f32
        })
        .collect()
}

/// `a` or `an` before `word`.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A noun phrase for `o`: its full description, or `the <noun>` when already mentioned.
fn noun_phrase(o: &Object, mentioned: bool, rng: &mut Rng) -> String {
    let synonyms = OBJECTS[o.kind];
    let noun = synonyms[rng.below(synonyms.len())];
    if mentioned {
        return format!("the {noun}");
    }
    let size = o.size.map(|z| SIZES[z][rng.below(SIZES[z].len())]);
    let colour = COLOURS[o.colour];
    let material = o.material.map(|m| MATERIALS[m]);
    let join = |ws: &[Option<&'static str>], sep: &str| {
        ws.iter().flatten().copied().collect::<Vec<_>>().join(sep)
    };
    let phrase = match rng.below(3) {
        0 => join(&[size, Some(colour), material, Some(noun)], " "),
        1 => format!(
            "{} that is {colour}",
            join(&[size, material, Some(noun)], " ")
        ),
        _ => format!(
            "{noun} that is {}",
            join(&[size, Some(colour), material], " and ")
        ),
    };
    format!("{} {phrase}", article(&phrase))
}

/// One of `words`.
fn pick(words: &[&str], rng: &mut Rng) -> String {
    words[rng.below(words.len())].to_string()
}

/// One reference caption of `scene` (see the module doc).
fn caption(scene: &Scene, rng: &mut Rng) -> String {
    let opener = OPENERS[rng.below(OPENERS.len())];
    let objects = &scene.objects;
    let first = noun_phrase(&objects[0], false, rng);
    let mut text = match scene.relations.first() {
        None => format!("{opener}{first}"),
        Some(&r) => {
            let (words, converse) = RELATIONS[r];
            let next = noun_phrase(&objects[1], false, rng);
            match rng.below(3) {
                // "a red ball to the left of a cube"
                0 => format!("{opener}{first} {} {next}", pick(words, rng)),
                // "a red ball is to the left of a cube"
                1 if opener.is_empty() => format!("{first} is {} {next}", pick(words, rng)),
                // "there is a cube to the right of a red ball"
                _ => format!(
                    "{opener}{next} {} {first}",
                    pick(RELATIONS[converse].0, rng)
                ),
            }
        }
    };
    for (k, &r) in scene.relations.iter().enumerate().skip(1) {
        let (words, converse) = RELATIONS[r];
        let this = noun_phrase(&objects[k], true, rng);
        let next = noun_phrase(&objects[k + 1], false, rng);
        text = if rng.uniform() < 0.5 {
            // "... and the cube is above a green cup"
            format!("{text} and {this} is {} {next}", pick(words, rng))
        } else {
            // "... and a green cup is below the cube"
            format!(
                "{text} and {next} is {} {this}",
                pick(RELATIONS[converse].0, rng)
            )
        };
    }
    if rng.uniform() < 0.5 {
        text.push('.');
    }
    text
}

/// Splits images 0..n into train, validation and test index lists (by image, so no image is in
/// two splits): a seeded shuffle, then the first `round(train · n)`, the next `round(val · n)`,
/// and the rest.
pub fn split_by_image(
    n: usize,
    train: f64,
    val: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    if !(0.0..=1.0).contains(&train) || !(0.0..=1.0).contains(&val) || train + val > 1.0 {
        bail!("split fractions train {train} and val {val} must be in [0, 1] and sum to at most 1");
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::stream(seed, "captions/split").shuffle(&mut order);
    let n_train = (train * n as f64).round() as usize;
    let n_val = ((val * n as f64).round() as usize).min(n - n_train);
    let test = order.split_off(n_train + n_val);
    let val = order.split_off(n_train);
    Ok((order, val, test))
}

#[cfg(test)]
mod tests;
