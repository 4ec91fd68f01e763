#!/usr/bin/env bash
# Prediction throughput of bundles (load excluded): `scripts/bench-predict.sh DIR [DIR...]`.
# Runs `glassbox predict` on 256 tweet-like texts, then on 1 text, and prints texts/s from
# the difference (so model loading and process start cancel out).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/glassbox
[ -x "$bin" ] || cargo build --release -q -p glassbox-trainer
texts=()
base=("@united my flight got delayed again, three hours at the gate #fail"
      "Just saw the Coachella 2015 lineup and I can't wait!! http://t.co/x"
      "Google's driverless cars are coming to California next year"
      "Tom Brady says he had nothing to do with #DeflateGate")
for i in $(seq 0 255); do texts+=("${base[$((i % 4))]} ($i)"); done
for dir in "$@"; do
  t0=$(date +%s.%N); "$bin" predict --bundle "$dir" --batch-size 32 --json "${texts[@]}" >/dev/null; t1=$(date +%s.%N)
  "$bin" predict --bundle "$dir" --json "${texts[0]}" >/dev/null; t2=$(date +%s.%N)
  python3 -c "
many, one = $t1 - $t0, $t2 - $t1
print(f'$dir: {255 / (many - one):.1f} texts/s (256 texts {many:.2f} s, 1 text {one:.2f} s incl. load)')"
done
