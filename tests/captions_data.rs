//! scripts/coco_features.py end to end: when Python with torch, torchvision and PIL is there
//! (`CCDNI_PYTHON`, else `python3`), it extracts features of three generated images with a
//! randomly initialised ResNet-152, and ccdni's readers load them, join them with the
//! annotations and check shapes and ids. Without them the test says it skipped and passes.

use ccdni::captions::coco::read_annotations;
use ccdni::captions::features::read_features;
use ccdni::captions::join;
use std::path::Path;
use std::process::Command;

#[test]
fn coco_features_script_output_reads_back() {
    let python = std::env::var("CCDNI_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import torch, torchvision, PIL, numpy"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: {python} cannot import torch, torchvision, PIL and numpy");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let make_images = format!(
        "from PIL import Image\n\
         for i, c in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):\n\
         \x20   Image.new('RGB', (64, 64), c).save(r'{}/img%d.jpg' % i)",
        d.display()
    );
    let ok = Command::new(&python)
        .args(["-c", &make_images])
        .status()
        .unwrap();
    assert!(ok.success());
    let ann = d.join("captions.json");
    std::fs::write(
        &ann,
        r#"{"images": [{"id": 42, "file_name": "img0.jpg"}, {"id": 7, "file_name": "img1.jpg"},
                       {"id": 19, "file_name": "img2.jpg"}],
            "annotations": [{"id": 1, "image_id": 7, "caption": "A green square."},
                            {"id": 2, "image_id": 42, "caption": "A red square."},
                            {"id": 3, "image_id": 19, "caption": "A blue square."}]}"#,
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/coco_features.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--annotations", ann.to_str().unwrap()])
        .args(["--images", d.to_str().unwrap()])
        .args(["--out", d.to_str().unwrap(), "--random-weights"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (features, ids) = (d.join("features.npy"), d.join("image_ids.npy"));
    let feats = read_features(&features, Some(&ids)).unwrap();
    assert_eq!(feats.size, 2048);
    assert_eq!(feats.ids, [42, 7, 19]);
    let set = join(&read_annotations(&ann).unwrap(), &ann, &feats, &features).unwrap();
    assert_eq!(set.images.len(), 3);
    assert_eq!(set.images[1].captions, ["A green square."]);
    assert!(set.images.iter().all(|im| im.feature.len() == 2048));
    assert_ne!(set.images[0].feature, set.images[1].feature);
}
