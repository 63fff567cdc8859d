"""ResNet-152 image features for ccdni's caption task, in the annotations' image order.

Reads a COCO caption file (captions_train2014.json) and its image folder; writes
features.npy (float32, n x 2048: the pooled output of ResNet-152 without its fc layer, in eval
mode, on the standard ImageNet transform: resize 256, centre crop 224, normalise) and
image_ids.npy (int64, n), row i being image ids[i]. Then:

    ccdni captions --data captions_train2014.json --features features.npy --image-ids image_ids.npy

--random-weights builds the network with weights=None (no download), for tests.
"""

import argparse
import json
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--annotations", required=True, help="COCO caption JSON")
    p.add_argument("--images", required=True, help="folder holding the images' file_name")
    p.add_argument("--out", default=".", help="folder for features.npy and image_ids.npy")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--random-weights", action="store_true", help="weights=None (tests)")
    args = p.parse_args()

    with open(args.annotations) as f:
        images = json.load(f)["images"]
    weights = None if args.random_weights else torchvision.models.ResNet152_Weights.IMAGENET1K_V1
    resnet = torchvision.models.resnet152(weights=weights)
    resnet.fc = torch.nn.Identity()  # the 2048-d pooled features
    resnet.eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    resnet.to(device)
    transform = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])

    rows = []
    with torch.no_grad():
        for start in range(0, len(images), args.batch):
            batch = images[start:start + args.batch]
            x = torch.stack([
                transform(Image.open(os.path.join(args.images, im["file_name"])).convert("RGB"))
                for im in batch
            ])
            rows.append(resnet(x.to(device)).float().cpu().numpy())
    features = np.concatenate(rows) if rows else np.zeros((0, 2048), np.float32)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "features.npy"), features.astype("<f4"))
    np.save(os.path.join(args.out, "image_ids.npy"), np.array([im["id"] for im in images], "<i8"))


if __name__ == "__main__":
    main()
