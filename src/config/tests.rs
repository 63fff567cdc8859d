use super::*;
use crate::layers::cerebellum::CerebellumInput;

#[test]
fn late_phase_is_the_last_fraction_of_the_epochs() {
    assert_eq!(late_phase_epochs(100, 0.5), 51..=100);
    assert_eq!(late_phase_epochs(3, 0.5), 2..=3, "ceil(1.5) = 2 epochs");
    assert_eq!(late_phase_epochs(10, 0.3), 8..=10, "0.3 * 10 is 3, not 4");
    assert_eq!(late_phase_epochs(10, 1.0), 1..=10);
    assert_eq!(late_phase_epochs(10, 0.01), 10..=10, "at least one epoch");
    assert_eq!(late_phase_epochs(1, 0.5), 1..=1);
    let mut c = Config::defaults(TaskKind::Reach);
    assert_eq!(c.late_phase, 0.5);
    assert_eq!(c.late_phase_epochs(), 51..=100);
    c.epochs = 40;
    c.late_phase = 0.25;
    assert_eq!(c.late_phase_epochs(), 31..=40);
}

#[test]
fn late_phase_outside_zero_one_is_refused_by_name() {
    for bad in [0.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
        let c = Config {
            late_phase: bad,
            ..Config::defaults(TaskKind::Reach)
        };
        let msg = format!("{:#}", c.validate().expect_err("refused"));
        assert!(msg.contains("`late_phase`"), "{bad}: {msg}");
    }
    for good in [1.0, 0.5, 1e-3] {
        let c = Config {
            late_phase: good,
            ..Config::defaults(TaskKind::Mnist)
        };
        c.validate().expect("accepted");
    }
}

#[test]
fn late_phase_is_a_top_level_key_of_the_toml() {
    let text = Config::defaults(TaskKind::Reach).to_toml();
    assert!(text.lines().any(|l| l == "late_phase = 0.5"), "{text}");
    let mut overlay = toml::Table::new();
    overlay.insert("late_phase".into(), toml::Value::Float(0.2));
    assert_eq!(
        Config::resolve(TaskKind::Reach, &overlay)
            .unwrap()
            .late_phase,
        0.2
    );
}

#[test]
fn set_path_refuses_a_value_in_the_way_and_names_it() {
    let mut t: toml::Table = "reach = 1\ncortex = 5".parse().unwrap();
    for (path, needle) in [
        (
            "reach.feedback_interval",
            "`reach` holds the integer 1, not a table",
        ),
        ("cortex.hidden", "cannot set `cortex.hidden`"),
        ("train..lr", "not a setting name"),
        ("", "not a setting name"),
    ] {
        let msg = format!(
            "{:#}",
            set_path(&mut t, path, toml::Value::Integer(3)).unwrap_err()
        );
        assert!(msg.contains(needle), "{path}: {msg}");
    }
    set_path(&mut t, "train.optimizer.momentum", toml::Value::Float(0.5)).unwrap();
    assert_eq!(t["train"]["optimizer"]["momentum"].as_float(), Some(0.5));
}

#[test]
fn a_type_error_names_the_key() {
    for (text, needle) in [
        (
            "[lesion]\nolive_at = 'bogus'",
            "`lesion.olive_at`: invalid type",
        ),
        (
            "[train]\nupdate = 'bogus'",
            "`train.update`: unknown variant `bogus`",
        ),
        ("[epochs]\nx = 2", "`epochs`: invalid type: map"),
        ("epochs = -1", "`epochs`: invalid value: integer `-1`"),
    ] {
        let overlay: toml::Table = text.parse().unwrap();
        let msg = format!(
            "{:#}",
            Config::resolve(TaskKind::Reach, &overlay).unwrap_err()
        );
        assert!(msg.contains(needle), "{text}: {msg}");
    }
}

#[test]
fn unknown_data_sets_and_endless_epochs_are_refused() {
    let mut c = Config::defaults(TaskKind::Mnist);
    c.mnist.dataset = "fashion-mnist".into();
    c.validate().expect("a known data set");
    c.mnist.dataset = "fashoin-mnist".into();
    let msg = format!("{:#}", c.validate().unwrap_err());
    assert!(
        msg.contains("`mnist.dataset` = \"fashoin-mnist\" is not a known data set"),
        "{msg}"
    );
    c.mnist.data_dir = Some("/some/idx/folder".into());
    c.validate()
        .expect("any name labels a data set given by folder");
    let mut c = Config::defaults(TaskKind::Reach);
    c.epochs = MAX_EPOCHS;
    c.validate().expect("long but allowed");
    c.epochs = usize::MAX / 2;
    let msg = format!("{:#}", c.validate().unwrap_err());
    assert!(
        msg.contains("`epochs` = 9223372036854775807 is more than"),
        "{msg}"
    );
}

#[test]
fn the_memory_estimate_grows_with_the_networks_and_the_data() {
    let sizes = crate::tasks::Sizes {
        input: 10,
        output: 2,
        context: 0,
    };
    let c = Config::defaults(TaskKind::Reach);
    let small = c.memory_estimate(sizes);
    assert!(small > 1e6 && small < 1e9, "{small}");
    let mut big = c.clone();
    big.cortex.hidden = 100_000_000;
    assert!(big.memory_estimate(sizes) > 1e17);
    let mut deep = c.clone();
    deep.cerebellum.layers = usize::MAX;
    assert!(deep.memory_estimate(sizes) > 1e20);
    deep.model = ModelKind::CRnn;
    assert!(
        deep.memory_estimate(sizes) < 1e9,
        "a cRNN has no cerebellum"
    );
    // The data sets, and the sequence length, each on their own.
    let huge = |edit: fn(&mut Config)| {
        let mut c = Config::defaults(TaskKind::Reach);
        edit(&mut c);
        c.memory_estimate(sizes)
    };
    assert!(huge(|c| c.reach.test_samples = 1_000_000_000_000) > 1e14);
    assert!(huge(|c| c.reach.validation_samples = 1_000_000_000_000) > 1e14);
    assert!(huge(|c| c.reach.steps = 1_000_000_000_000) > 1e14);
    let captions = |edit: fn(&mut Config)| {
        let mut c = Config::defaults(TaskKind::Captions);
        edit(&mut c);
        c.memory_estimate(sizes)
    };
    assert!(captions(|_| {}) < 1e9);
    assert!(captions(|c| c.captions.scenes = 1_000_000_000_000) > 1e14);
    assert!(captions(|c| c.captions.feature_size = 1_000_000_000_000) > 1e14);
    let msg = format!(
        "{:#}",
        check_memory(
            [&Config {
                reach: crate::tasks::reach::ReachConfig {
                    test_samples: 1_000_000_000_000,
                    ..Default::default()
                },
                ..Config::defaults(TaskKind::Reach)
            }],
            1,
            sizes
        )
        .unwrap_err()
    );
    assert!(msg.contains("GiB for the data"), "{msg}");
}

#[test]
fn the_cortical_scaling_must_be_positive_and_finite() {
    for bad in [0.0, -1.0, f64::NAN] {
        let mut c = Config::defaults(TaskKind::Reach);
        c.cortex.init_scale = bad;
        let msg = format!("{:#}", c.validate().expect_err("refused"));
        assert!(msg.contains("`cortex.init_scale`"), "{bad}: {msg}");
    }
    // Absent from a config file written before the setting: 1, the initialisation unchanged.
    let mut table = toml::Table::try_from(Config::defaults(TaskKind::Reach)).unwrap();
    table["cortex"].as_table_mut().unwrap().remove("init_scale");
    let c: Config = toml::Value::Table(table).try_into().unwrap();
    assert_eq!(c.cortex.init_scale, 1.0);
}

#[test]
fn impossible_caption_settings_are_refused_by_name() {
    Config::defaults(TaskKind::Captions)
        .validate()
        .expect("the caption defaults");
    type Spoil = fn(&mut Config);
    let cases: [(Spoil, &str); 8] = [
        (
            |c| c.captions.min_words = 50,
            "`captions.min_words` = 50 is more than",
        ),
        (
            |c| c.captions.validation_fraction = 1.5,
            "`captions.validation_fraction` must be",
        ),
        (
            |c| c.captions.test_fraction = 0.95,
            "leave no image to train on",
        ),
        (
            |c| c.captions.dropout = 1.0,
            "`captions.dropout` must be in [0, 1)",
        ),
        (
            |c| c.captions.beam = 0,
            "`captions.beam` must be at least 1",
        ),
        (
            |c| c.captions.length_bins = [9, 9],
            "`captions.length_bins` = [9, 9] must rise",
        ),
        (
            |c| c.captions.noise = f64::NAN,
            "`captions.noise` must be a finite number",
        ),
        (
            |c| c.cerebellum.context = true,
            "`cerebellum.context` needs a cue or label",
        ),
    ];
    for (spoil, want) in cases {
        let mut c = Config::defaults(TaskKind::Captions);
        spoil(&mut c);
        let msg = match c.validate() {
            Ok(()) => panic!("accepted; wanted {want}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(msg.contains(want), "{msg}");
    }
}

#[test]
fn the_cerebellar_controls_and_remedies_resolve_and_are_checked_by_name() {
    // The authors' defaults are left out of the resolved settings, which read as before.
    let text = Config::defaults(TaskKind::Reach).to_toml();
    let section = text.split("[cerebellum]\n").nth(1).unwrap();
    let section = section.split("\n[").next().unwrap();
    assert!(section.contains("granule = 400"), "{section}");
    for key in ["input", "output_init", "granule_leak", "lr"] {
        assert!(
            !section.lines().any(|l| l.starts_with(key)),
            "{key} in\n{section}"
        );
    }
    let overlay: toml::Table =
        "cerebellum = { input = \"shuffled\", output_init = 0.5, granule_leak = 0.1, lr = 1e-4 }"
            .parse()
            .unwrap();
    let c = Config::resolve(TaskKind::Reach, &overlay).unwrap();
    assert_eq!(c.cerebellum.input, CerebellumInput::Shuffled);
    assert_eq!(
        (c.cerebellum.output_init, c.cerebellum.granule_leak),
        (0.5, 0.1)
    );
    assert_eq!(c.cerebellum.lr, Some(1e-4));
    c.validate().expect("accepted");
    // Written and read back: the same settings.
    let again: toml::Table = c.to_toml().parse().unwrap();
    assert_eq!(Config::resolve(TaskKind::Reach, &again).unwrap(), c);
    let refused = |f: fn(&mut CerebellumConfig), key: &str| {
        let mut c = Config::defaults(TaskKind::Reach);
        f(&mut c.cerebellum);
        let msg = format!("{:#}", c.validate().expect_err("refused"));
        assert!(msg.contains(key), "{key}: {msg}");
    };
    refused(|c| c.output_init = -1.0, "`cerebellum.output_init`");
    refused(|c| c.granule_leak = 1.0, "`cerebellum.granule_leak`");
    refused(|c| c.granule_leak = f64::NAN, "`cerebellum.granule_leak`");
    refused(|c| c.lr = Some(0.0), "`cerebellum.lr`");
    refused(
        |c| (c.input, c.sparse_k) = (CerebellumInput::None, Some(4)),
        "`cerebellum.input`",
    );
    let bad: toml::Table = "cerebellum = { input = \"other\" }".parse().unwrap();
    let msg = format!("{:#}", Config::resolve(TaskKind::Reach, &bad).unwrap_err());
    assert!(msg.contains("cerebellum.input"), "{msg}");
}

#[test]
fn the_cerebellar_options_reach_the_model() {
    let mut c = Config::defaults(TaskKind::Reach);
    c.cortex.hidden = 3;
    c.cerebellum.granule = 4;
    let spec = c.model_spec(2, 2, 0);
    let fresh = crate::model::Model::<f64>::new(&spec, c.seed);
    // The authors' defaults leave the model as built.
    let mut model = fresh.clone();
    c.configure_cerebellum(&mut model);
    assert_eq!(model.params, fresh.params);
    let cb = model.cerebellum.as_ref().unwrap();
    assert_eq!((cb.input, cb.leak), (CerebellumInput::State, 0.0));
    // The options: what it reads, its slope, a random output layer and nothing else changed.
    c.cerebellum.input = CerebellumInput::Shuffled;
    c.cerebellum.granule_leak = 0.2;
    c.cerebellum.output_init = 1.0;
    let mut model = fresh.clone();
    c.configure_cerebellum(&mut model);
    let cb = model.cerebellum.as_ref().unwrap();
    assert_eq!(
        (cb.input, cb.leak, cb.shuffle_seed),
        (CerebellumInput::Shuffled, 0.2, c.seed)
    );
    let out = cb.layers.last().unwrap().weight.clone();
    for (i, (a, b)) in model.params.iter().zip(&fresh.params).enumerate() {
        assert_eq!(a != b, out.contains(&i), "parameter {i}");
    }
}
