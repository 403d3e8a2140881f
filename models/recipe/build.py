"""One command that rebuilds models/fmnist/ from scratch or resumes from models/recipe/work/.

  python3 models/recipe/build.py --minutes 85
  python3 models/recipe/build.py --init-from models/fmnist --minutes 80 --stage-dir models/recipe/work/export
  python3 models/recipe/build.py --device cuda --batch 256 --minutes 10.7     # on a GPU

Steps: classifier (skipped if work/classifier.pt exists) -> denoiser training until the accumulated
training time reaches --minutes (resumes work/diffusion.pt) -> ONNX export + manifest + onnxruntime
check -> optional evaluation (FD / agreement of 1000 samples).

--init-from DIR fine-tunes an exported model instead of starting from scratch: when
work/diffusion.pt does not exist, the denoiser and its EMA are loaded from DIR/full.onnx (verified
against DIR's ONNX files with onnxruntime-node, and by the held-out v-loss at step 0), the classifier
is restored from DIR/classifier.onnx instead of retrained, and the export copies DIR's classifier
files. --minutes is then the fine-tune's own budget. An existing checkpoint always takes precedence.
--stage-dir DIR writes the export there instead of models/fmnist.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import OUT_DIR, WORK_DIR  # noqa: E402
from export import export_all  # noqa: E402
from onnx_init import restore_classifier_ckpt  # noqa: E402
from train_classifier import train_classifier  # noqa: E402
from train_diffusion import train  # noqa: E402


def log(s):
    print(s, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=85, help="total denoiser training time (resumes)")
    ap.add_argument("--init-from", metavar="DIR", default=None,
                    help="fine-tune the exported model in DIR (e.g. models/fmnist) when no checkpoint exists")
    ap.add_argument("--stage-dir", metavar="DIR", default=None,
                    help="export into DIR instead of models/fmnist")
    ap.add_argument("--device", default="cpu", help="torch device for the denoiser's training: cpu or cuda")
    ap.add_argument("--batch", type=int, default=None, help="batch of a new training run (default 128)")
    ap.add_argument("--skip-train", action="store_true", help="export the current checkpoint only")
    ap.add_argument("--eval", action="store_true", help="also measure FD/agreement (slow: ~10 min per setting)")
    ap.add_argument("--eval-steps", type=int, default=100)
    ap.add_argument("--cfg", type=float, default=1.5)
    args = ap.parse_args()
    out_dir = os.path.abspath(args.stage_dir) if args.stage_dir else OUT_DIR
    if args.init_from:
        restore_classifier_ckpt(args.init_from, os.path.join(WORK_DIR, "classifier.pt"), log)
    train_classifier(log=log)
    if not args.skip_train:
        train(args.minutes, log=log, init_from=args.init_from, device=args.device, batch=args.batch)
    export_all(log=log, out_dir=out_dir, classifier_from=args.init_from)
    if args.eval:
        sys.argv = [sys.argv[0], "--steps", str(args.eval_steps), "--cfg", str(args.cfg), "--model-dir", out_dir]
        import evaluate
        evaluate.main()


if __name__ == "__main__":
    main()
