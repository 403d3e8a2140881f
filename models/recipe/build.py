"""One command that rebuilds models/fmnist/ from scratch or resumes from models/recipe/work/.

  python3 models/recipe/build.py --minutes 85

Steps: classifier (skipped if work/classifier.pt exists) -> denoiser training until the accumulated
training time reaches --minutes (resumes work/diffusion.pt) -> ONNX export + manifest + onnxruntime
check -> optional evaluation (FD / agreement of 1000 samples).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from export import export_all  # noqa: E402
from train_classifier import train_classifier  # noqa: E402
from train_diffusion import train  # noqa: E402


def log(s):
    print(s, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=85, help="total denoiser training time (resumes)")
    ap.add_argument("--skip-train", action="store_true", help="export the current checkpoint only")
    ap.add_argument("--eval", action="store_true", help="also measure FD/agreement (slow: ~10 min per setting)")
    ap.add_argument("--eval-steps", type=int, default=100)
    ap.add_argument("--cfg", type=float, default=1.5)
    args = ap.parse_args()
    train_classifier(log=log)
    if not args.skip_train:
        train(args.minutes, log=log)
    export_all(log=log)
    if args.eval:
        sys.argv = [sys.argv[0], "--steps", str(args.eval_steps), "--cfg", str(args.cfg)]
        import evaluate
        evaluate.main()


if __name__ == "__main__":
    main()
